// The reference's synthetic allocation task, and its contextual variant (data/synthetic.h,
// opt/allocation.h).
#include "diffdfl/data/synthetic.h"
#include "diffdfl/opt/allocation.h"
#include "diffdfl/tasks/builtin_tasks.h"

namespace diffdfl::tasks {

Task allocation_task(bool contextual) {
  Task t;
  t.name = contextual ? "synthetic-contextual" : "synthetic";
  t.load = [contextual](const DatasetOptions& options) {
    data::SyntheticOptions o;
    o.seed = options.seed;
    o.contextual = contextual;
    return data::make_synthetic(o);
  };
  t.program = "allocation";
  t.make_program = [](int64_t n, ConfigReader& program) {
    opt::AllocationOptions o;
    o.n = n;
    program.get("capacity", o.capacity);
    ProgramParts parts;
    parts.program = std::make_shared<opt::AllocationProgram>(o);
    parts.policy_output = models::PolicyOutput::kBox;
    parts.policy_box_upper = o.capacity;
    return parts;
  };
  // The reference pools the samples of a batch where y ⟂ x; with context y depends on x.
  t.pooled = !contextual;
  t.y_independent_of_x = !contextual;
  return t;
}

}  // namespace diffdfl::tasks
