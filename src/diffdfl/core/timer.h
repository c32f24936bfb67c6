// Wall-clock stopwatch.
//
// Example:
//   Stopwatch sw;
//   train_epoch();
//   double s = sw.seconds();
#pragma once

#include <chrono>

namespace diffdfl {

class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  void reset() { start_ = std::chrono::steady_clock::now(); }
  /// Seconds since construction or the last reset().
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

}  // namespace diffdfl
