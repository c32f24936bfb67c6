// What the reports need to know about a task, from its registry entry (tasks/task.h): its headline
// metric and which way is better, the words for it in table headings and figure axes, the extra test
// metrics the results table shows, and whether its runs come in sizes (one size per table; the
// scalability study compares sizes).
//
// Example:
//   const reports::TaskReporting& t = reports::task_reporting("portfolio");
//   t.headline;          // "return" (metrics.json: test_return)
//   t.higher_is_better;  // true
//   t.size_key;          // "data.n_assets"
#pragma once

#include <string>
#include <vector>

namespace diffdfl::reports {

struct TaskReporting {
  std::string headline = "cost";  ///< "cost" or one of the task's extra metrics ("return")
  bool higher_is_better = false;
  /// The heading of the task's results after "TASK: ", e.g. "test decision cost (lower is
  /// better)".
  std::string title = "test decision cost (lower is better)";
  /// The headline's axis label in figures.
  std::string axis = "mean decision cost per instance (task cost units)";
  /// Extra test metrics the results table shows for the task (means over seeds), e.g. {"regret"}.
  std::vector<std::string> extra_columns;
  /// config.json key of a run's size ("data.n_assets"); "" when the task's runs have no size.
  std::string size_key;
  /// What the size counts, for messages ("assets").
  std::string size_unit;
};

/// The reporting facts of `task`; a task the registry does not know (a run directory of another
/// diffdfl) is reported by its cost.
const TaskReporting& task_reporting(const std::string& task);

/// The tasks whose runs come in sizes (size_key set), e.g. {"portfolio"}.
std::vector<std::string> sized_tasks();

}  // namespace diffdfl::reports
