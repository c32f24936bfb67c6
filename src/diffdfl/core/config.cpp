#include "diffdfl/core/config.h"

#include <cmath>
#include <cstdint>
#include <limits>

#include "diffdfl/core/error.h"

namespace diffdfl {

namespace {

/// `v` as JSON text for an error message. Never throws: bytes that are not UTF-8 (which dump()
/// refuses with a type_error) are shown as U+FFFD.
std::string shown(const nlohmann::json& v) {
  return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

/// True when `text` is valid UTF-8 (what a JSON string must hold).
bool is_utf8(const std::string& text) {
  try {
    (void)nlohmann::json(text).dump();
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

}  // namespace

ConfigReader::ConfigReader(const nlohmann::json& node, std::string source, std::string prefix)
    : node_(node.is_null() ? nlohmann::json::object() : node),
      source_(std::move(source)),
      prefix_(std::move(prefix)) {
  if (!node_.is_object()) {
    fail<ConfigError>(source_, ": '", prefix_.empty() ? "(root)" : prefix_,
                      "' must be an object, got ", node_.type_name());
  }
}

std::string ConfigReader::path(const std::string& key) const {
  return prefix_.empty() ? key : prefix_ + "." + key;
}

bool ConfigReader::has(const std::string& key) const {
  return node_.contains(key);
}

const nlohmann::json& ConfigReader::value(const std::string& key) {
  used_.insert(key);
  return node_.at(key);
}

void ConfigReader::get(const std::string& key, double& out) {
  if (!has(key)) return;
  const auto& v = value(key);
  if (!v.is_number())
    fail<ConfigError>(source_, ": ", path(key), ": expected a number, got ", shown(v));
  out = v.get<double>();
  if (!std::isfinite(out)) fail<ConfigError>(source_, ": ", path(key), ": must be finite");
}

void ConfigReader::get(const std::string& key, int64_t& out) {
  if (!has(key)) return;
  const auto& v = value(key);
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    fail<ConfigError>(source_, ": ", path(key), ": ", shown(v), " is out of range (at most ",
                      INT64_MAX, ")");
  } else if (v.is_number_integer()) {
    out = v.get<int64_t>();
  } else if (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>() &&
             std::abs(v.get<double>()) < 9e15) {
    out = static_cast<int64_t>(v.get<double>());  // 1e3 written in a config
  } else {
    fail<ConfigError>(source_, ": ", path(key), ": expected an integer, got ", shown(v));
  }
}

void ConfigReader::get(const std::string& key, uint64_t& out) {
  int64_t v = static_cast<int64_t>(out);
  get(key, v);
  if (v < 0) fail<ConfigError>(source_, ": ", path(key), ": must be >= 0, got ", v);
  out = static_cast<uint64_t>(v);
}

void ConfigReader::get(const std::string& key, bool& out) {
  if (!has(key)) return;
  const auto& v = value(key);
  if (!v.is_boolean())
    fail<ConfigError>(source_, ": ", path(key), ": expected true or false, got ", shown(v));
  out = v.get<bool>();
}

void ConfigReader::get(const std::string& key, std::string& out) {
  if (!has(key)) return;
  const auto& v = value(key);
  if (!v.is_string())
    fail<ConfigError>(source_, ": ", path(key), ": expected a string, got ", shown(v));
  out = v.get<std::string>();
}

ConfigReader ConfigReader::child(const std::string& key) {
  if (!has(key)) return ConfigReader(nlohmann::json::object(), source_, path(key));
  return ConfigReader(value(key), source_, path(key));
}

void ConfigReader::finish() const {
  for (const auto& [key, v] : node_.items()) {
    if (used_.count(key) == 0) {
      fail<ConfigError>(source_, ": unknown key '", path(key), "'");
    }
  }
}

void apply_override(nlohmann::json& config, const std::string& assignment) {
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    fail<ConfigError>("--set '", assignment, "': expected key=value, e.g. train.lr=1e-4");
  }
  if (!is_utf8(assignment)) {
    // It would be stored in the configuration and break every later write of it (config.json).
    fail<ConfigError>("--set ", shown(nlohmann::json(assignment)),
                      ": not valid UTF-8 text; use plain text for keys and values");
  }
  const std::string key = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) value = text;
  nlohmann::json* node = &config;
  size_t start = 0;
  while (true) {
    const size_t dot = key.find('.', start);
    const std::string part =
        key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (part.empty()) fail<ConfigError>("--set '", assignment, "': empty key component");
    if (!node->is_object()) {
      fail<ConfigError>("--set '", assignment, "': '", key.substr(0, start - 1),
                        "' is not an object");
    }
    if (dot == std::string::npos) {
      (*node)[part] = value;
      return;
    }
    node = &(*node)[part];
    if (node->is_null()) *node = nlohmann::json::object();
    start = dot + 1;
  }
}

void deep_merge(nlohmann::json& base, const nlohmann::json& patch) {
  if (!patch.is_object() || !base.is_object()) {
    base = patch;
    return;
  }
  for (const auto& [key, value] : patch.items()) {
    if (value.is_object() && base.contains(key) && base[key].is_object()) {
      deep_merge(base[key], value);
    } else {
      base[key] = value;
    }
  }
}

}  // namespace diffdfl
