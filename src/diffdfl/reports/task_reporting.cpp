#include "diffdfl/reports/task_reporting.h"

#include <map>

#include "diffdfl/tasks/task.h"

namespace diffdfl::reports {

namespace {

const std::map<std::string, TaskReporting>& registered() {
  static const std::map<std::string, TaskReporting> out = [] {
    std::map<std::string, TaskReporting> m;
    for (const tasks::Task& t : tasks::all_tasks()) {
      TaskReporting r;
      r.headline = t.headline;
      r.higher_is_better = t.headline_higher_is_better;
      r.title = t.reporting.title;
      r.axis = t.reporting.axis;
      r.extra_columns = t.reporting.extra_columns;
      r.size_key = t.reporting.size_key;
      r.size_unit = t.reporting.size_unit;
      m[t.name] = r;
    }
    return m;
  }();
  return out;
}

}  // namespace

const TaskReporting& task_reporting(const std::string& task) {
  static const TaskReporting cost;  // an unknown task: its decision cost, lower is better
  const auto it = registered().find(task);
  return it == registered().end() ? cost : it->second;
}

std::vector<std::string> sized_tasks() {
  std::vector<std::string> out;
  for (const tasks::Task& t : tasks::all_tasks()) {
    if (!t.reporting.size_key.empty()) out.push_back(t.name);
  }
  return out;
}

}  // namespace diffdfl::reports
