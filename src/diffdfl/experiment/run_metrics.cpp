#include "diffdfl/experiment/run_metrics.h"

#include <cmath>
#include <iomanip>
#include <sstream>

#include "diffdfl/core/error.h"

namespace diffdfl::experiment {

namespace {

using nlohmann::json;

constexpr double kNaN = RunMetrics::kNaN;

/// The field's name in messages: "test_cost", "test.crps".
std::string field_name(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

[[noreturn]] void bad_field(const std::string& source, const std::string& field,
                            const std::string& expected, const json& got) {
  fail<DataError>(source, ": damaged: field '", field, "' must be ", expected, ", got ",
                  got.dump());
}

std::string string_of(const json& v, const std::string& source, const std::string& field) {
  if (!v.is_string()) bad_field(source, field, "a string", v);
  return v.get<std::string>();
}

/// A number; null is NaN.
double number_of(const json& v, const std::string& source, const std::string& field) {
  if (v.is_null()) return kNaN;
  if (!v.is_number()) bad_field(source, field, "a number or null", v);
  return v.get<double>();
}

int64_t integer_of(const json& v, const std::string& source, const std::string& field) {
  if (!v.is_number_integer()) bad_field(source, field, "an integer", v);
  return v.get<int64_t>();
}

/// The split object of metrics.json ("hold", "test"): the keys of dfl::SplitMetrics::to_json, each
/// optional (the top-level numbers fill in what an older file lacks).
dfl::SplitMetrics split_of(const json& j, const std::string& source, const std::string& name) {
  dfl::SplitMetrics m;
  m.cost = kNaN;
  if (j.is_null()) return m;
  if (!j.is_object()) bad_field(source, name, "an object", j);
  const std::pair<const char*, double*> numbers[] = {{"cost", &m.cost},
                                                     {"rmse", &m.rmse},
                                                     {"crps", &m.crps},
                                                     {"energy", &m.energy},
                                                     {"coverage90", &m.coverage90},
                                                     {"outside", &m.outside},
                                                     {"cost_sampling_sd", &m.cost_sampling_sd}};
  const std::pair<const char*, int64_t*> counts[] = {{"instances", &m.instances},
                                                     {"solver_failures", &m.solver_failures},
                                                     {"repeats", &m.repeats}};
  for (const auto& [key, value] : j.items()) {
    const std::string field = field_name(name, key);
    bool known = false;
    for (const auto& [k, target] : numbers) {
      if (key == k) {
        *target = number_of(value, source, field);
        known = true;
      }
    }
    for (const auto& [k, target] : counts) {
      if (key == k) {
        *target = integer_of(value, source, field);
        known = true;
      }
    }
    if (!known) m.extra[key] = number_of(value, source, field);  // the task's extra metrics
  }
  return m;
}

/// "test_return" → {"test", "return"}; {"", ""} for a key of neither split.
std::pair<std::string, std::string> split_key(const std::string& key) {
  for (const char* split : {"test", "hold"}) {
    const std::string prefix = std::string(split) + "_";
    if (key.size() > prefix.size() && key.compare(0, prefix.size(), prefix) == 0)
      return {split, key.substr(prefix.size())};
  }
  return {"", ""};
}

}  // namespace

std::string to_string(RunStatus status) {
  switch (status) {
    case RunStatus::kCompleted:
      return "completed";
    case RunStatus::kDiverged:
      return "diverged";
    case RunStatus::kFailed:
      return "failed";
  }
  return "completed";
}

double RunMetrics::test_value(const std::string& metric) const {
  if (metric == "cost") return test.cost;
  const auto it = test.extra.find(metric);
  return it == test.extra.end() ? kNaN : it->second;
}

double RunMetrics::initial_headline_test() const {
  if (headline == "cost") return initial_test_cost;
  const auto it = initial_test_extra.find(headline);
  return it == initial_test_extra.end() ? kNaN : it->second;
}

double RunMetrics::test_eval_se() const {
  if (!std::isfinite(test.cost_sampling_sd) || test.repeats < 1) return kNaN;
  return test.cost_sampling_sd / std::sqrt(static_cast<double>(test.repeats));
}

std::string RunMetrics::brief_report() const {
  const auto value = [](double v) {
    std::ostringstream out;
    out << std::setprecision(5);
    if (std::isfinite(v)) {
      out << v;
    } else {
      out << "n/a (no instance solved)";
    }
    return out.str();
  };
  std::ostringstream line;
  line << task << " " << method << " seed " << seed << ": test " << headline << " "
       << value(headline_test());
  const bool has_initial = headline == "cost" || initial_test_extra.count(headline) > 0;
  if (has_initial && method.rfind("two-stage", 0) != 0) {
    // Every DFL method starts from its two-stage (pretrained) model; the policy from its init.
    line << (method == "policy" ? " (initial policy: " : " (two-stage model it started from: ")
         << value(initial_headline_test()) << ")";
  }
  if (!std::isnan(train_seconds)) line << ", " << std::setprecision(3) << train_seconds << " s";
  return line.str();
}

json RunMetrics::to_json() const {
  json m = {{"task", task},
            {"method", method},
            {"seed", seed},
            {"preset", preset},
            {"status", to_string(status)},
            {"stop_reason", stop_reason},
            {"headline", headline},
            {"test_cost", test.cost},
            {"hold_cost", hold.cost},
            {"best_epoch", best_epoch},
            {"epochs_run", epochs_run},
            {"train_seconds", train_seconds},
            {"wall_seconds", wall_seconds},
            {"pretrain", pretrain},
            {"peak_rss_mb", peak_rss_mb},
            {"solver_failures", solver_failures},
            {"skipped_steps", skipped_steps},
            {"threads", threads},
            {"device", device},
            {"version", version},
            {"hold", hold.to_json()},
            {"test", test.to_json()}};
  m["test_rmse"] = std::isnan(test.rmse) ? json() : json(test.rmse);
  m["initial_test_cost"] = initial_test_cost;
  for (const auto& [k, v] : test.extra)
    m["test_" + k] = v;
  for (const auto& [k, v] : hold.extra)
    m["hold_" + k] = v;
  for (const auto& [k, v] : initial_test_extra)
    m["initial_test_" + k] = v;
  if (status == RunStatus::kFailed) m["failure"] = failure;
  if (ranks > 1) {  // single-process files keep exactly the keys they always had
    m["ranks"] = ranks;
    m["comm_seconds"] = comm_seconds;
    m["comm_seconds_per_step"] =
        std::isnan(comm_seconds_per_step) ? json() : json(comm_seconds_per_step);
  }
  return m;
}

RunMetrics RunMetrics::from_json(const json& j, const std::string& source) {
  if (!j.is_object())
    fail<DataError>(source, ": damaged: expected a JSON object of run metrics, got ",
                    j.type_name());
  const auto required = [&](const char* key) -> const json& {
    if (!j.contains(key)) fail<DataError>(source, ": damaged: field '", key, "' missing");
    return j.at(key);
  };
  RunMetrics m;
  m.task = string_of(required("task"), source, "task");
  m.method = string_of(required("method"), source, "method");
  m.preset = string_of(required("preset"), source, "preset");
  const json& seed = required("seed");
  if (!seed.is_number_integer() || (!seed.is_number_unsigned() && seed.get<int64_t>() < 0))
    bad_field(source, "seed", "a non-negative integer", seed);
  m.seed = seed.get<uint64_t>();
  // Split objects first; the top-level numbers (what older files have) take precedence.
  m.hold = split_of(j.contains("hold") ? j.at("hold") : json(), source, "hold");
  m.test = split_of(j.contains("test") ? j.at("test") : json(), source, "test");
  m.test.cost = number_of(required("test_cost"), source, "test_cost");

  const std::pair<const char*, std::string*> strings[] = {{"stop_reason", &m.stop_reason},
                                                          {"headline", &m.headline},
                                                          {"failure", &m.failure},
                                                          {"device", &m.device},
                                                          {"version", &m.version}};
  const std::pair<const char*, double*> numbers[] = {
      {"hold_cost", &m.hold.cost},
      {"test_rmse", &m.test.rmse},
      {"initial_test_cost", &m.initial_test_cost},
      {"train_seconds", &m.train_seconds},
      {"wall_seconds", &m.wall_seconds},
      {"peak_rss_mb", &m.peak_rss_mb},
      {"comm_seconds", &m.comm_seconds},
      {"comm_seconds_per_step", &m.comm_seconds_per_step}};
  const std::pair<const char*, int64_t*> counts[] = {{"best_epoch", &m.best_epoch},
                                                     {"epochs_run", &m.epochs_run},
                                                     {"solver_failures", &m.solver_failures},
                                                     {"skipped_steps", &m.skipped_steps},
                                                     {"threads", &m.threads},
                                                     {"ranks", &m.ranks}};
  for (const auto& [key, target] : strings) {
    if (j.contains(key)) *target = string_of(j.at(key), source, key);
  }
  for (const auto& [key, target] : numbers) {
    if (j.contains(key)) *target = number_of(j.at(key), source, key);
  }
  for (const auto& [key, target] : counts) {
    if (j.contains(key)) *target = integer_of(j.at(key), source, key);
  }
  if (j.contains("status")) {
    const std::string status = string_of(j.at("status"), source, "status");
    if (status == "completed") {
      m.status = RunStatus::kCompleted;
    } else if (status == "diverged") {
      m.status = RunStatus::kDiverged;
    } else if (status == "failed") {
      m.status = RunStatus::kFailed;
    } else {
      bad_field(source, "status", "\"completed\", \"diverged\" or \"failed\"", j.at("status"));
    }
  }
  if (j.contains("pretrain")) m.pretrain = j.at("pretrain");
  // The task's extra metrics: test_<k>, hold_<k>, initial_test_<k>.
  const std::string initial = "initial_test_";
  for (const auto& [key, value] : j.items()) {
    if (key.compare(0, initial.size(), initial) == 0 && key != "initial_test_cost") {
      m.initial_test_extra[key.substr(initial.size())] = number_of(value, source, key);
      continue;
    }
    const auto [split, metric] = split_key(key);
    if (split.empty() || metric == "cost" || metric == "rmse") continue;
    (split == "test" ? m.test : m.hold).extra[metric] = number_of(value, source, key);
  }
  return m;
}

}  // namespace diffdfl::experiment
