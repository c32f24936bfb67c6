// Runs the built `diffdfl` binary as a user would and captures exit code, stdout and stderr.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <csignal>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace diffdfl::cli_testing {

namespace fs = std::filesystem;

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline fs::path temp_path(const std::string& name) {
  static std::atomic<int> counter{0};
  const fs::path dir = fs::temp_directory_path() / ("diffdfl_cli_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / (std::to_string(counter++) + "_" + name);
}

// A fresh, empty directory under the process's temporary folder.
inline fs::path temp_dir(const std::string& name) {
  const fs::path dir = temp_path(name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// Runs `diffdfl <args>` (args are shell words, quoted by the caller where needed), with the
// environment assignments `env` ("A=1 B=2") when given.
inline Result run(const std::string& args, const std::string& env = "") {
  const fs::path err = temp_path("stderr.txt");
  const std::string cmd = (env.empty() ? std::string() : "env " + env + " ") + "'" +
                          DIFFDFL_CLI_PATH + "' " + args + " 2>'" + err.string() + "'";
  Result r;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "popen failed: " << cmd;
    return r;
  }
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0)
    r.out.append(buf, n);
  const int status = ::pclose(pipe);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.err = slurp(err);
  fs::remove(err);
  return r;
}

inline void expect_one_line_error(const Result& r);

// Runs `diffdfl <args>` with every file it writes capped at `max_file_bytes` (RLIMIT_FSIZE, with
// SIGXFSZ ignored so that a write past the cap fails with EFBIG): a full disk, portably and without
// root. The cap is set in the child only.
inline Result run_with_file_size_limit(const std::string& args, size_t max_file_bytes) {
  const fs::path out = temp_path("stdout.txt");
  const fs::path err = temp_path("stderr.txt");
  const std::string cmd = std::string("exec '") + DIFFDFL_CLI_PATH + "' " + args + " >'" +
                          out.string() + "' 2>'" + err.string() + "'";
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::signal(SIGXFSZ, SIG_IGN);
    rlimit limit{};
    limit.rlim_cur = limit.rlim_max = max_file_bytes;
    ::setrlimit(RLIMIT_FSIZE, &limit);
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  Result r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  fs::remove(out);
  fs::remove(err);
  return r;
}

// Names in `dir` (recursively) that are temporaries of an interrupted atomic write.
inline std::vector<std::string> temporaries_in(const fs::path& dir) {
  std::vector<std::string> found;
  if (!fs::exists(dir)) return found;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.path().filename().string().find(".tmp.") != std::string::npos)
      found.push_back(e.path().string());
  }
  return found;
}

// A failure: non-zero exit, a message naming the problem, no stack dump.
inline void expect_failure(const std::string& args, const std::vector<std::string>& parts) {
  const Result r = run(args);
  EXPECT_NE(r.code, 0) << args;
  for (const auto& p : parts)
    EXPECT_NE(r.err.find(p), std::string::npos) << "stderr: " << r.err;
  expect_one_line_error(r);
}

// Checks the shape of a failure's stderr: no C++ backtrace or abort, diffdfl's error on one line,
// never "internal error" for a mistake of the user's.
inline void expect_one_line_error(const Result& r) {
  EXPECT_EQ(r.err.find("terminate called"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("Exception raised from"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("frame #"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
  // diffdfl's own errors are one line "diffdfl: error: ..." (CLI11's usage errors are its own).
  const size_t at = r.err.find("diffdfl: error: ");
  if (at != std::string::npos) {
    const size_t nl = r.err.find('\n', at);
    EXPECT_TRUE(nl == std::string::npos || nl + 1 == r.err.size()) << "not one line: " << r.err;
  }
}

}  // namespace diffdfl::cli_testing
