// One data-parallel job on this host: N copies of a program as ranks 0..N−1, with the variables
// torchrun sets (MASTER_ADDR=127.0.0.1, a free MASTER_PORT, RANK, LOCAL_RANK, WORLD_SIZE). This is
// what `diffdfl train --nproc N` runs; on several hosts use torchrun or a scheduler instead
// (docs/distributed.md).
//
// Example:
//   const int code = dist::launch_local({"/proc/self/exe", "train", "--task", "power"}, 2);
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace diffdfl::dist {

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
int free_port();

/// Starts `argv` (argv[0] is the program's path) with this process's environment less the
/// rendezvous variables (MASTER_ADDR, MASTER_PORT, RANK, LOCAL_RANK, WORLD_SIZE), plus `extra_env`
/// ("NAME=value" each). Returns its pid; IoError naming the program when it cannot be started.
pid_t spawn_process(const std::vector<std::string>& argv,
                    const std::vector<std::string>& extra_env);

/// Waits for the child `pid` to end and returns its exit code (128 + signal when killed).
int wait_exit_code(pid_t pid);

/// Runs `argv` (argv[0] is the program's path) `n` times as one job and waits for every rank. When
/// a rank fails, the others get `grace` to stop on their own (their next collective fails) and are
/// then killed. Returns 0 when every rank succeeded, otherwise the first failing rank's exit code
/// (128 + signal for a rank killed by a signal). IoError when a process cannot be started.
int launch_local(const std::vector<std::string>& argv, int n,
                 std::chrono::seconds grace = std::chrono::seconds(30));

}  // namespace diffdfl::dist
