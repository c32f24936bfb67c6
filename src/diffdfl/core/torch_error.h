// LibTorch's errors (c10::Error) carry a C++ backtrace in what(). diffdfl never shows it: a message
// for a person is the first line of the error alone.
//
// Example:
//   try { archive.load_from(bytes.data(), bytes.size()); }
//   catch (const c10::Error& e) { fail<DataError>(path, ": ", torch_error_line(e)); }
#pragma once

#include <c10/util/Exception.h>

#include <string>

namespace diffdfl {

/// The first line of a LibTorch error message, without the backtrace.
inline std::string torch_error_line(const c10::Error& e) {
  const std::string msg = e.what_without_backtrace();
  const size_t nl = msg.find('\n');
  return nl == std::string::npos ? msg : msg.substr(0, nl);
}

}  // namespace diffdfl
