// Exclusive advisory locks on a file (flock), released on destruction or when the process dies, so
// a killed holder never leaves a stale lock. Used so that two processes never write the same
// pretrained-model cache entry or the same run directory at once.
//
// Example:
//   FileLock wait_for_it("runs/.cache/power-diffusion-seed1-….pt.lock");  // blocks
//   auto mine = FileLock::try_lock("runs/power/x/.lock");
//   if (!mine) throw IoError("runs/power/x is in use by another process");
#pragma once

#include <filesystem>
#include <memory>

namespace diffdfl {

class FileLock {
 public:
  /// Creates `path` if needed and blocks until this process holds its lock. IoError when the file
  /// cannot be created or locked.
  explicit FileLock(const std::filesystem::path& path);
  /// The lock on `path` when it is free now; nullptr when another holder has it.
  static std::unique_ptr<FileLock> try_lock(const std::filesystem::path& path);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace diffdfl
