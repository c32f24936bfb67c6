// The factories of the built-in tasks, one file each (tasks/<task>_task.cpp); registry.cpp lists
// them. Internal to the tasks layer: everything else goes through task.h.
#pragma once

#include "diffdfl/tasks/task.h"

namespace diffdfl::tasks {

/// "synthetic" (contextual = false) or "synthetic-contextual": the reference's allocation task.
Task allocation_task(bool contextual);
Task power_task();
Task portfolio_task();
Task newsvendor_task();

}  // namespace diffdfl::tasks
