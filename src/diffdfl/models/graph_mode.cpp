#include "diffdfl/models/graph_mode.h"

#include "diffdfl/core/enum_names.h"
#include "diffdfl/core/error.h"

namespace diffdfl::models {

namespace {
const EnumNames<GraphMode>& graph_mode_names() {
  static const EnumNames<GraphMode> names("graph mode",
                                          {{GraphMode::kNone, "none"},
                                           {GraphMode::kFull, "full"},
                                           {GraphMode::kCheckpointed, "checkpointed"}});
  return names;
}
}  // namespace

std::string to_string(GraphMode value) {
  return graph_mode_names().name(value);
}

GraphMode parse_graph_mode(const std::string& name) {
  return graph_mode_names().parse(name);
}

}  // namespace diffdfl::models
