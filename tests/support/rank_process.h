// Two-rank tests on localhost: the test process is rank 0 and starts this same test binary as
// rank 1, filtered to a worker test that skips unless it was started this way.
//
// Example:
//   RankProcess peer("DistributedWorker.Step", port);      // rank 1 of 2 runs that test
//   auto comm = dist::connect(rank_options(0, port));      // we are rank 0
//   ...
//   EXPECT_EQ(peer.wait(), 0);
#pragma once

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include "diffdfl/core/distributed.h"
#include "diffdfl/core/error.h"
#include "diffdfl/core/local_launch.h"

namespace diffdfl::testing {

/// True in the copy of the test binary that RankProcess started.
inline bool is_rank_worker() {
  return std::getenv("DIFFDFL_TEST_RANK_WORKER") != nullptr;
}

/// Options of `rank` of a 2-rank job on 127.0.0.1:`port` (from the environment in a worker).
inline dist::RankOptions rank_options(int rank, int port, int timeout_s = 60) {
  dist::RankOptions o;
  o.rank = rank;
  o.world_size = 2;
  o.master_port = port;
  o.timeout = std::chrono::seconds(timeout_s);
  return o;
}

/// The worker's options: rank 1, the port and timeout its parent chose.
inline dist::RankOptions worker_options() {
  return rank_options(1, std::atoi(std::getenv("MASTER_PORT")),
                      std::atoi(std::getenv("DIFFDFL_DIST_TIMEOUT")));
}

/// Rank 1: this test binary running only `test_name` (dist::spawn_process).
class RankProcess {
 public:
  RankProcess(const std::string& test_name, int port, int timeout_s = 60) {
    try {
      pid_ =
          dist::spawn_process({"/proc/self/exe", "--gtest_filter=" + test_name},
                              {"DIFFDFL_TEST_RANK_WORKER=1", "MASTER_PORT=" + std::to_string(port),
                               "DIFFDFL_DIST_TIMEOUT=" + std::to_string(timeout_s)});
    } catch (const IoError&) {
      pid_ = -1;
    }
  }
  RankProcess(const RankProcess&) = delete;
  RankProcess& operator=(const RankProcess&) = delete;
  ~RankProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  bool started() const { return pid_ > 0; }
  /// The worker's exit code (128 + signal when killed).
  int wait() {
    const int code = dist::wait_exit_code(pid_);
    pid_ = -1;
    return code;
  }

 private:
  pid_t pid_ = -1;
};

}  // namespace diffdfl::testing
