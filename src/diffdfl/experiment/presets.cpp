#include "diffdfl/experiment/presets.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <functional>

#include "diffdfl/core/atomic_file.h"
#include "diffdfl/core/config.h"
#include "diffdfl/core/error.h"
#include "diffdfl/dfl/method.h"
#include "diffdfl/tasks/task.h"

namespace fs = std::filesystem;

namespace diffdfl::experiment {

namespace {

nlohmann::json read_json_file(const fs::path& path, const std::string& what) {
  if (!fs::exists(path)) fail<ConfigError>(what, " ", path.string(), " not found");
  try {
    return nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::parse_error& e) {
    fail<ConfigError>(path.string(), ": not valid JSON (", e.what(), ")");
  }
}

std::string listed(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names)
    out += (out.empty() ? "" : ", ") + n;
  return out;
}

bool known(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

/// A misspelt task or method under "tasks", "methods" or "task_methods" would silently never
/// apply: each key must name a task, a method, or "task/method".
void check_section_keys(const nlohmann::json& file, const std::string& path) {
  const std::vector<std::string>& tasks = tasks::task_names();
  const std::vector<std::string>& methods = dfl::method_names();
  const auto check = [&](const std::string& section, const std::string& what,
                         const std::string& valid,
                         const std::function<bool(const std::string&)>& ok) {
    if (!file.contains(section)) return;
    if (!file[section].is_object()) fail<ConfigError>(path, ": '", section, "' must be an object");
    for (const auto& [key, value] : file[section].items()) {
      if (!ok(key))
        fail<ConfigError>(path, ": unknown ", what, " '", section, ".", key, "'; ", valid);
      if (!value.is_object())
        fail<ConfigError>(path, ": '", section, ".", key, "' must be an object of settings");
    }
  };
  check("tasks", "task", "tasks: " + listed(tasks),
        [&](const std::string& k) { return known(tasks, k); });
  check("methods", "method", "methods: " + listed(methods),
        [&](const std::string& k) { return known(methods, k); });
  check("task_methods", "task/method",
        "keys are TASK/METHOD; tasks: " + listed(tasks) + "; methods: " + listed(methods),
        [&](const std::string& k) {
          const size_t slash = k.find('/');
          return slash != std::string::npos && known(tasks, k.substr(0, slash)) &&
                 known(methods, k.substr(slash + 1));
        });
}

}  // namespace

std::vector<std::string> preset_names(const std::string& config_dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(config_dir, ec)) {
    // paper_numbers.json lives beside the presets (for `diffdfl table`) but is not one.
    if (entry.path().extension() == ".json" && entry.path().stem() != "paper_numbers")
      names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

nlohmann::json resolve_config(const std::string& config_dir, const std::string& preset,
                              const std::string& task, const std::string& method, uint64_t seed,
                              const std::string& config_file,
                              const std::vector<std::string>& overrides) {
  // A preset is a name in config_dir, never a path ("../configs/smoke" would read any file).
  const bool plain_name = !preset.empty() && std::all_of(preset.begin(), preset.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
  if (!plain_name) {
    fail<ConfigError>("preset '", preset,
                      "': a preset is the name of a file <name>.json in the presets folder "
                      "(letters, digits, '-' and '_'), not a path; presets found: ",
                      listed(preset_names(config_dir)),
                      "; use --config FILE for settings of your own");
  }
  const fs::path preset_path = fs::path(config_dir) / (preset + ".json");
  if (!fs::exists(preset_path)) {
    const std::string found = listed(preset_names(config_dir));
    fail<ConfigError>(
        "unknown preset '", preset, "' (no ", preset_path.string(),
        "); presets found: ", found.empty() ? "none (is --config-dir right?)" : found);
  }
  const nlohmann::json file = read_json_file(preset_path, "preset");
  ConfigReader layout(file, preset_path.string());
  std::string description;
  layout.get("description", description);
  layout.child("all");
  layout.child("tasks");
  layout.child("methods");
  layout.child("task_methods");
  layout.finish();
  check_section_keys(file, preset_path.string());

  nlohmann::json cfg = {{"task", task}, {"method", method}, {"preset", preset}, {"seed", seed}};
  if (file.contains("all")) deep_merge(cfg, file["all"]);
  if (file.contains("tasks") && file["tasks"].contains(task)) deep_merge(cfg, file["tasks"][task]);
  if (file.contains("methods") && file["methods"].contains(method)) {
    deep_merge(cfg, file["methods"][method]);
  }
  const std::string pair = task + "/" + method;
  if (file.contains("task_methods") && file["task_methods"].contains(pair)) {
    deep_merge(cfg, file["task_methods"][pair]);
  }
  if (!config_file.empty()) {
    const nlohmann::json user = read_json_file(config_file, "config file");
    if (!user.is_object()) {
      fail<ConfigError>(config_file, ": must be a JSON object of settings (e.g. {\"train\": ",
                        "{\"lr\": 1e-4}}), got ", user.type_name());
    }
    deep_merge(cfg, user);
  }
  for (const auto& o : overrides)
    apply_override(cfg, o);
  // Identity keys come from the command line, whatever the files say.
  cfg["task"] = task;
  cfg["method"] = method;
  cfg["preset"] = preset;
  cfg["seed"] = seed;
  return cfg;
}

}  // namespace diffdfl::experiment
