// Checks on command-line values shared by the subcommands: a seed, a thread count, a non-empty
// name. CLI11 alone would accept "--seed -5" (strtoull wraps it), "--seed 99999999999999999999999"
// (it saturates) or "--out ''" (then silently replaced by the default).
#include <CLI/CLI.hpp>

#include <charconv>
#include <cstdint>
#include <limits>
#include <string>

#include "commands.h"

namespace diffdfl::cli {

CLI::Validator non_empty() {
  return CLI::Validator(
      [](std::string& v) {
        return v.empty() ? std::string("must not be empty (leave the option out for the default)")
                         : std::string();
      },
      "NOT EMPTY", "non_empty");
}

CLI::Validator seed_value() {
  return CLI::Validator(
      [](std::string& v) {
        uint64_t seed = 0;
        const auto res = std::from_chars(v.data(), v.data() + v.size(), seed);
        const bool digits = !v.empty() && v.find_first_not_of("0123456789") == std::string::npos;
        if (!digits || res.ec != std::errc() || res.ptr != v.data() + v.size() ||
            seed > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          return "must be a whole number in [0, " +
                 std::to_string(std::numeric_limits<int64_t>::max()) + "], got '" + v + "'";
        }
        return std::string();
      },
      "SEED", "seed");
}

CLI::Validator thread_count() {
  return CLI::Validator(
      [](std::string& v) {
        int64_t n = -1;
        const auto res = std::from_chars(v.data(), v.data() + v.size(), n);
        if (v.empty() || res.ec != std::errc() || res.ptr != v.data() + v.size() || n < 0 ||
            n > kMaxThreads) {
          return "must be a whole number in [0, " + std::to_string(kMaxThreads) +
                 "] (0 = LibTorch's default), got '" + v + "'";
        }
        return std::string();
      },
      "THREADS", "threads");
}

}  // namespace diffdfl::cli
