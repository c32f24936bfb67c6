// Configuration plumbing: JSON objects read through a ConfigReader that names the offending key in
// every error and rejects keys nobody read, and `key.path=value` overrides from the command line.
//
// Example:
//   nlohmann::json cfg = nlohmann::json::parse(read_file("configs/power.json"));
//   apply_override(cfg, "train.lr=5e-6");                      // --set train.lr=5e-6
//   ConfigReader r(cfg, "configs/power.json");
//   ConfigReader train = r.child("train");
//   train.get("lr", opts.lr);    // ConfigError "train.lr: expected a number"
//   train.finish();              // ConfigError "train.lrr: unknown key"
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace diffdfl {

class ConfigReader {
 public:
  /// `source` names the configuration in messages (a file name, "--set", ...); `prefix` is the
  /// dotted path of `node` inside it.
  ConfigReader(const nlohmann::json& node, std::string source, std::string prefix = "");

  bool has(const std::string& key) const;
  /// Reads an optional key into `out` (left unchanged when absent). Throws ConfigError naming the
  /// full key on a type mismatch.
  void get(const std::string& key, double& out);
  void get(const std::string& key, int64_t& out);
  void get(const std::string& key, uint64_t& out);
  void get(const std::string& key, bool& out);
  void get(const std::string& key, std::string& out);
  /// A nested object (empty when absent); its keys are checked by its own finish().
  ConfigReader child(const std::string& key);
  /// Throws ConfigError for the first key of this object that was never read.
  void finish() const;
  /// "prefix.key" as used in messages.
  std::string path(const std::string& key) const;

 private:
  const nlohmann::json& value(const std::string& key);

  nlohmann::json node_;
  std::string source_;
  std::string prefix_;
  std::set<std::string> used_;
};

/// Merges `patch` into `base`: objects recursively, everything else replaced (how presets, config
/// files and overrides combine).
void deep_merge(nlohmann::json& base, const nlohmann::json& patch);

/// Applies one "a.b.c=value" override to `config`, creating objects along the path. The value is
/// parsed as JSON when it is valid JSON (numbers, true/false, null, quoted strings, arrays), else
/// taken as a string. Throws ConfigError for a malformed override.
void apply_override(nlohmann::json& config, const std::string& assignment);

}  // namespace diffdfl
