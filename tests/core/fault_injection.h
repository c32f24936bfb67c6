// Runs a piece of code in a child process whose writes fail as on a full disk: RLIMIT_FSIZE caps
// the size of every file it writes, and SIGXFSZ is ignored so that a write past the cap fails with
// EFBIG instead of killing the process. Portable (no tmpfs, no root) and deterministic.
#pragma once

#include <gtest/gtest.h>

#include <csignal>
#include <functional>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace diffdfl::testing {

/// Runs `body` in a forked child with files capped at `max_file_bytes`; the child's exit code
/// (body's return value) is returned, or -1 if it died of a signal.
inline int run_with_file_size_limit(size_t max_file_bytes, const std::function<int()>& body) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::signal(SIGXFSZ, SIG_IGN);
    rlimit limit{};
    limit.rlim_cur = limit.rlim_max = max_file_bytes;
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(90);
    int code = 91;
    try {
      code = body();
    } catch (...) {
      code = 92;
    }
    ::_exit(code);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace diffdfl::testing
