// A live progress line on stderr: phase, epoch, batch, ETA and losses. On a terminal the line is
// redrawn in place; otherwise (logs, CI) one line is printed per epoch.
//
// Example:
//   Progress p("dfl", /*epochs=*/50);
//   p.batch(epoch, b, n_batches, {{"cost", 3.2}});
//   p.epoch_done(epoch, {{"hold", 3.1}, {"test", 3.3}});
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace diffdfl::experiment {

class Progress {
 public:
  using Values = std::vector<std::pair<std::string, double>>;

  /// `enabled` = false silences everything (tests, --quiet).
  Progress(std::string phase, int64_t epochs, bool enabled = true);

  /// Within an epoch (redrawn at most 10 times a second on a terminal; silent otherwise).
  void batch(int64_t epoch, int64_t batch, int64_t batches, const Values& values);
  /// End of an epoch: one line with the values and the ETA of the phase.
  void epoch_done(int64_t epoch, const Values& values);
  /// A free-form line (clears a pending progress line first).
  void message(const std::string& text);

 private:
  std::string eta(double fraction) const;
  void print(const std::string& line, bool final);

  std::string phase_;
  int64_t epochs_;
  bool enabled_;
  bool tty_;
  bool pending_ = false;
  int64_t first_epoch_ = -1;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace diffdfl::experiment
