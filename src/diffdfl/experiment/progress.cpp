#include "diffdfl/experiment/progress.h"

#include <unistd.h>

#include <cstdio>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace diffdfl::experiment {

namespace {

std::string format_values(const Progress::Values& values) {
  std::ostringstream out;
  out << std::setprecision(5);
  for (const auto& [k, v] : values)
    out << "  " << k << " " << v;
  return out.str();
}

}  // namespace

Progress::Progress(std::string phase, int64_t epochs, bool enabled)
    : phase_(std::move(phase)),
      epochs_(epochs),
      enabled_(enabled),
      tty_(isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

std::string Progress::eta(double fraction) const {
  if (fraction <= 0) return "?";
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const auto left = static_cast<int64_t>(elapsed / fraction * (1 - fraction));
  std::ostringstream out;
  if (left >= 3600) out << left / 3600 << "h";
  out << std::setw(left >= 3600 ? 2 : 1) << std::setfill('0') << (left % 3600) / 60 << "m"
      << std::setw(2) << std::setfill('0') << left % 60 << "s";
  return out.str();
}

void Progress::print(const std::string& line, bool final) {
  if (tty_) {
    std::cerr << "\r\033[K" << line << (final ? "\n" : "") << std::flush;
    pending_ = !final;
  } else if (final) {
    std::cerr << line << "\n" << std::flush;
  }
}

void Progress::batch(int64_t epoch, int64_t batch, int64_t batches, const Values& values) {
  if (!enabled_ || !tty_) return;
  if (first_epoch_ < 0) first_epoch_ = epoch;
  const auto now = std::chrono::steady_clock::now();
  if (batch < batches && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const double done_epochs =
      static_cast<double>(epoch - first_epoch_) +
      static_cast<double>(batch) / static_cast<double>(std::max<int64_t>(batches, 1));
  const double total = static_cast<double>(std::max<int64_t>(epochs_ - first_epoch_, 1));
  std::ostringstream line;
  line << phase_ << " epoch " << epoch + 1 << "/" << epochs_ << "  batch " << batch << "/"
       << batches << "  eta " << eta(done_epochs / total) << format_values(values);
  print(line.str(), false);
}

void Progress::epoch_done(int64_t epoch, const Values& values) {
  if (!enabled_) return;
  if (first_epoch_ < 0) first_epoch_ = epoch;
  const double total = static_cast<double>(std::max<int64_t>(epochs_ - first_epoch_, 1));
  std::ostringstream line;
  line << phase_ << " epoch " << epoch + 1 << "/" << epochs_ << "  eta "
       << eta(static_cast<double>(epoch + 1 - first_epoch_) / total) << format_values(values);
  print(line.str(), true);
}

void Progress::message(const std::string& text) {
  if (!enabled_) return;
  if (pending_) std::cerr << "\r\033[K";
  pending_ = false;
  std::cerr << text << "\n" << std::flush;
}

}  // namespace diffdfl::experiment
