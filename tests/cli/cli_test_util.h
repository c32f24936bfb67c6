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

// Runs `diffdfl <args>` (args are shell words, quoted by the caller where needed).
inline Result run(const std::string& args) {
  const fs::path err = temp_path("stderr.txt");
  const std::string cmd =
      std::string("'") + DIFFDFL_CLI_PATH + "' " + args + " 2>'" + err.string() + "'";
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

// A failure: non-zero exit, a message naming the problem, no stack dump.
inline void expect_failure(const std::string& args, const std::vector<std::string>& parts) {
  const Result r = run(args);
  EXPECT_NE(r.code, 0) << args;
  for (const auto& p : parts)
    EXPECT_NE(r.err.find(p), std::string::npos) << "stderr: " << r.err;
  EXPECT_EQ(r.err.find("terminate called"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("Exception raised from"), std::string::npos) << r.err;
}

}  // namespace diffdfl::cli_testing
