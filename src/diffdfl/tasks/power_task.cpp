// Power scheduling on PJM load (data/power.h, opt/power.h).
#include "diffdfl/core/error.h"
#include "diffdfl/data/power.h"
#include "diffdfl/opt/power.h"
#include "diffdfl/tasks/builtin_tasks.h"

namespace diffdfl::tasks {

Task power_task() {
  Task t;
  t.name = "power";
  t.load = [](const DatasetOptions& options) {
    data::PowerOptions o;
    o.seed = options.seed;
    o.data_dir = options.data_dir;
    o.verify_checksums = options.verify_checksums;
    return data::load_power(o);
  };
  t.program = "power";
  t.make_program = [](int64_t n, ConfigReader& program) {
    opt::PowerOptions o;
    o.n = n;
    program.get("gamma_under", o.gamma_under);
    program.get("gamma_over", o.gamma_over);
    program.get("ramp", o.ramp);
    std::string gradient = opt::to_string(o.gradient);
    program.get("gradient", gradient);
    try {
      o.gradient = opt::parse_power_gradient(gradient);
    } catch (const InvalidArgument& e) {
      throw ConfigError(program.path("gradient") + ": " + e.what());
    }
    ProgramParts parts;
    parts.program = std::make_shared<opt::PowerProgram>(o);
    // The policy's raw output is projected onto the ramp constraints: the power program with no
    // penalties and one "sample" v is exactly min ½‖z − v‖² s.t. the ramps.
    opt::PowerOptions projection = o;
    projection.gamma_under = 0.0;
    projection.gamma_over = 0.0;
    projection.gradient = opt::PowerGradient::kReference;
    parts.policy_projection = std::make_shared<opt::PowerProgram>(projection);
    parts.policy_output = models::PolicyOutput::kRaw;
    return parts;
  };
  return t;
}

}  // namespace diffdfl::tasks
