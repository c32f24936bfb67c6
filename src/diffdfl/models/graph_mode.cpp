#include "diffdfl/models/graph_mode.h"

#include "diffdfl/core/error.h"

namespace diffdfl::models {

std::string to_string(GraphMode mode) {
  switch (mode) {
    case GraphMode::kNone:
      return "none";
    case GraphMode::kFull:
      return "full";
    case GraphMode::kCheckpointed:
      return "checkpointed";
  }
  return "?";
}

GraphMode parse_graph_mode(const std::string& name) {
  if (name == "none") return GraphMode::kNone;
  if (name == "full") return GraphMode::kFull;
  if (name == "checkpointed") return GraphMode::kCheckpointed;
  fail("graph mode '", name, "' is not valid; use none, full or checkpointed");
}

}  // namespace diffdfl::models
