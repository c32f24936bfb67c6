// Error types. diffdfl throws for misuse and bad input (a message that names the file, field or shape
// and says how to fix it); numerical outcomes (an infeasible program, a solve that stalled) are
// statuses in result structs, never exceptions.
//
// Example:
//   try {
//     auto ds = diffdfl::data::load_power({.data_dir = "data"});
//   } catch (const diffdfl::DataError& e) {
//     std::cerr << e.what() << "\n";  // "data/power_sched/...txt:17: field 2 'abc' is not a number"
//   }
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace diffdfl {

/// Base of every exception diffdfl throws on purpose.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A caller passed something invalid: an option out of range, a tensor of the wrong shape, NaN input.
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

/// A data file is missing, altered or malformed. The message names the file (and line where known).
class DataError : public Error {
 public:
  using Error::Error;
};

/// A configuration key or value is unknown or invalid. The message names the key.
class ConfigError : public Error {
 public:
  using Error::Error;
};

/// A file could not be written or read for reasons outside the data's content (I/O failure).
class IoError : public Error {
 public:
  using Error::Error;
};

namespace detail {
template <typename... Args>
std::string concat(Args&&... args) {
  std::ostringstream out;
  (out << ... << std::forward<Args>(args));
  return out.str();
}
}  // namespace detail

/// Throws E with the streamed concatenation of args, e.g. `fail<InvalidArgument>("M must be > 0, got ", m)`.
template <typename E = InvalidArgument, typename... Args>
[[noreturn]] void fail(Args&&... args) {
  throw E(detail::concat(std::forward<Args>(args)...));
}

}  // namespace diffdfl

/// Throws diffdfl::InvalidArgument with the streamed message unless `cond` holds.
#define DIFFDFL_CHECK(cond, ...)                                                  \
  do {                                                                            \
    if (!(cond)) ::diffdfl::fail<::diffdfl::InvalidArgument>(__VA_ARGS__);        \
  } while (false)
