// The SHA-256 (data::digest) of each task's training split for seed 1 with the default options,
// computed once and checked in. The data pipeline is bit-identical across x86-64 machines and
// thread counts (docs/data.md, "Reproducibility"), so any change of these values is a change of the
// data: of the files, of the feature code, or of the order of a floating-point sum. Such a change
// also changes every pretrained-cache key; update these values only on purpose.
#pragma once

#include <map>
#include <string>

namespace diffdfl::data::testing {

inline const std::map<std::string, std::string>& expected_train_digests() {
  static const std::map<std::string, std::string> digests = {
      {"synthetic", "9bc9b581ecd6d021c8bd5ed5e2b2dc7b2e64026aabe1cd0b94e2d34e0301da14"},
      {"synthetic-contextual", "8b39b9b35b23627a2aaf66629712bd4adfc3ced5a066fcfbebf299a731d664cf"},
      {"power", "16ea77474735468e67641f87c3c8085d43ef9d46f46f12d25dbdde4a7b5557c8"},
      {"portfolio", "25218253ba248302ebe26cb5d51e0fc224e67f25625786bbd9f51cfa24865bd1"},
      {"newsvendor", "d7d6f48417761deef3186935591b69d23504648e1abb319f9e797795b661521f"},
  };
  return digests;
}

}  // namespace diffdfl::data::testing
