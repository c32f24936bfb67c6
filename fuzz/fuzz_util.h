// Helpers shared by the libFuzzer targets (fuzz/README.md): splitting one input into the several
// files a reader takes, and reading small numbers from raw bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace diffdfl::fuzzing {

/// The separator between the parts of one input ("\n%%\n"): the seed corpora use it, and the
/// fuzzer keeps or breaks it like any other bytes.
inline constexpr std::string_view kSeparator = "\n%%\n";

/// Splits `data` into at most `n` parts at kSeparator (the last part takes the rest).
inline std::vector<std::string> split_parts(const uint8_t* data, size_t size, size_t n) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> parts;
  size_t start = 0;
  while (parts.size() + 1 < n) {
    const size_t at = all.find(kSeparator, start);
    if (at == std::string_view::npos) break;
    parts.emplace_back(all.substr(start, at - start));
    start = at + kSeparator.size();
  }
  parts.emplace_back(all.substr(start));
  while (parts.size() < n)
    parts.emplace_back();
  return parts;
}

/// Consumes raw bytes from the front of an input.
class Bytes {
 public:
  Bytes(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  template <typename T>
  T take() {
    T v{};
    const size_t n = size_ < sizeof(T) ? size_ : sizeof(T);
    std::memcpy(&v, data_, n);
    data_ += n;
    size_ -= n;
    return v;
  }
  /// An integer in [lo, hi].
  int64_t in_range(int64_t lo, int64_t hi) {
    const auto span = static_cast<uint64_t>(hi - lo) + 1;
    return lo + static_cast<int64_t>(take<uint64_t>() % span);
  }
  std::string rest() {
    std::string s(reinterpret_cast<const char*>(data_), size_);
    size_ = 0;
    return s;
  }

 private:
  const uint8_t* data_;
  size_t size_;
};

}  // namespace diffdfl::fuzzing
