#include "diffdfl/reports/task_reporting.h"

#include <map>

namespace diffdfl::reports {

namespace {

const std::map<std::string, TaskReporting>& known_tasks() {
  static const std::map<std::string, TaskReporting> tasks = [] {
    TaskReporting portfolio;
    portfolio.headline = "return";
    portfolio.higher_is_better = true;
    portfolio.title = "test return, mean realised daily return (fraction; higher is better)";
    portfolio.axis = "mean realised daily return (fraction of wealth)";
    portfolio.extra_columns = {"regret"};
    portfolio.size_key = "data.n_assets";
    portfolio.size_unit = "assets";
    return std::map<std::string, TaskReporting>{{"portfolio", portfolio}};
  }();
  return tasks;
}

}  // namespace

const TaskReporting& task_reporting(const std::string& task) {
  static const TaskReporting cost;  // every other task: its decision cost, lower is better
  const auto it = known_tasks().find(task);
  return it == known_tasks().end() ? cost : it->second;
}

std::vector<std::string> sized_tasks() {
  std::vector<std::string> out;
  for (const auto& [task, reporting] : known_tasks()) {
    if (!reporting.size_key.empty()) out.push_back(task);
  }
  return out;
}

}  // namespace diffdfl::reports
