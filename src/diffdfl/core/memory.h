// Memory probes for benchmarks and run metrics. These read the kernel's accounting of this process
// (Linux /proc and getrusage), so they include LibTorch's allocator caches and everything else.
//
// Example:
//   double before = current_rss_mb();
//   run();
//   double peak = peak_rss_mb();  // high-water mark of the whole process so far
#pragma once

namespace diffdfl {

/// Resident set size now, in MiB (from /proc/self/statm); 0 where unavailable.
double current_rss_mb();

/// High-water mark of the resident set size of this process, in MiB (VmHWM from /proc/self/status,
/// which reset_peak_rss() can lower; falls back to getrusage's ru_maxrss).
double peak_rss_mb();

/// Resets the kernel's high-water mark to the current RSS (writes "5" to /proc/self/clear_refs).
/// Returns false where the kernel does not allow it; peak_rss_mb() then keeps the process-wide peak.
bool reset_peak_rss();

}  // namespace diffdfl
