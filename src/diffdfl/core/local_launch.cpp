#include "diffdfl/core/local_launch.h"

#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <thread>

#include "diffdfl/core/error.h"

extern char** environ;

namespace diffdfl::dist {

namespace {

/// This process's environment without the rendezvous variables, plus `extra`.
std::vector<std::string> rank_environment(const std::vector<std::string>& extra) {
  static const char* kOwn[] = {
      "MASTER_ADDR=", "MASTER_PORT=", "RANK=", "LOCAL_RANK=", "WORLD_SIZE="};
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string v = *e;
    bool own = false;
    for (const char* k : kOwn)
      own = own || v.rfind(k, 0) == 0;
    if (!own) env.push_back(v);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v)
    out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace

pid_t spawn_process(const std::vector<std::string>& argv,
                    const std::vector<std::string>& extra_env) {
  DIFFDFL_CHECK(!argv.empty(), "spawn_process: no program");
  std::vector<std::string> args = argv;
  std::vector<std::string> env = rank_environment(extra_env);
  std::vector<char*> cargs = c_strings(args);
  std::vector<char*> cenv = c_strings(env);
  pid_t pid = 0;
  const int err = ::posix_spawn(&pid, args[0].c_str(), nullptr, nullptr, cargs.data(), cenv.data());
  if (err != 0) fail<IoError>("cannot start ", args[0], ": ", std::strerror(err));
  return pid;
}

int wait_exit_code(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return exit_code(status);
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) fail<IoError>("cannot open a socket to find a free port: ", std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  if (!ok) fail<IoError>("cannot find a free TCP port on 127.0.0.1: ", std::strerror(errno));
  return ntohs(addr.sin_port);
}

int launch_local(const std::vector<std::string>& argv, int n, std::chrono::seconds grace) {
  DIFFDFL_CHECK(!argv.empty(), "launch_local: no program");
  DIFFDFL_CHECK(n >= 1, "--nproc must be >= 1, got ", n);
  const std::string port = std::to_string(free_port());
  std::vector<pid_t> pids;
  for (int r = 0; r < n; ++r) {
    try {
      pids.push_back(spawn_process(
          argv, {"MASTER_ADDR=127.0.0.1", "MASTER_PORT=" + port, "RANK=" + std::to_string(r),
                 "LOCAL_RANK=" + std::to_string(r), "WORLD_SIZE=" + std::to_string(n)}));
    } catch (const IoError& e) {
      for (const pid_t p : pids)
        ::kill(p, SIGTERM);
      for (const pid_t p : pids)
        ::waitpid(p, nullptr, 0);
      fail<IoError>("rank ", r, ": ", e.what());
    }
  }
  int first_failure = 0;
  std::vector<bool> done(pids.size(), false);
  size_t remaining = pids.size();
  auto deadline = std::chrono::steady_clock::time_point::max();
  while (remaining > 0) {
    for (size_t r = 0; r < pids.size(); ++r) {
      int status = 0;
      if (done[r] || ::waitpid(pids[r], &status, WNOHANG) != pids[r]) continue;
      done[r] = true;
      --remaining;
      const int code = exit_code(status);
      if (code != 0 && first_failure == 0) {
        first_failure = code;
        deadline = std::chrono::steady_clock::now() + grace;
      }
    }
    if (remaining > 0 && std::chrono::steady_clock::now() > deadline) {
      for (size_t r = 0; r < pids.size(); ++r) {
        if (done[r]) continue;
        std::cerr << "diffdfl: rank " << r << " did not stop within " << grace.count()
                  << " s of another rank's failure; killing it\n";
        ::kill(pids[r], SIGKILL);
      }
      deadline = std::chrono::steady_clock::time_point::max();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return first_failure;
}

}  // namespace diffdfl::dist
