// Helpers shared by the data tests: temporary data folders with their own SHA256SUMS, and checks on
// error messages.
#pragma once

#include <gtest/gtest.h>
#include <zlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include <unistd.h>

#include "diffdfl/core/atomic_file.h"
#include "diffdfl/core/sha256.h"

namespace diffdfl::data::testing {

namespace fs = std::filesystem;

inline fs::path shipped_data_dir() {
  return DIFFDFL_TEST_DATA_DIR;
}

/// A fresh directory under the system temp dir, removed with its content on destruction.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            ("diffdfl_data_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    // Not the error_code overload: with the PyTorch wheels' LibTorch it resolves to a statically
    // linked copy that crashes (pytorch/pytorch#133437; results/gpu/README.md).
    try {
      fs::remove_all(path_);
    } catch (const fs::filesystem_error&) {
    }
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

/// Copies a file byte for byte, replacing `to`. (Not fs::copy_file: see ~TempDir.)
inline void copy_bytes(const fs::path& from, const fs::path& to) {
  std::ifstream in(from, std::ios::binary);
  ASSERT_TRUE(in) << "cannot read " << from;
  std::ofstream out(to, std::ios::binary | std::ios::trunc);
  out << in.rdbuf();
  ASSERT_TRUE(out) << "cannot write " << to;
}

/// Copies shipped data files (relative paths) into `dir`.
inline void copy_data_files(const fs::path& dir, const std::vector<std::string>& relpaths) {
  for (const auto& rel : relpaths) {
    fs::create_directories((dir / rel).parent_path());
    copy_bytes(shipped_data_dir() / rel, dir / rel);
  }
}

/// Writes `dir`/SHA256SUMS with the actual digests of the listed files (so the loader accepts
/// them).
inline void write_matching_manifest(const fs::path& dir, const std::vector<std::string>& relpaths) {
  std::string text;
  for (const auto& rel : relpaths)
    text += sha256_hex_file(dir / rel) + "  " + rel + "\n";
  write_file_atomic(dir / "SHA256SUMS", text);
}

/// Writes `content` gzip-compressed (level 1, fast) to `path`.
inline void write_gzip(const fs::path& path, const std::string& content) {
  gzFile f = gzopen(path.c_str(), "wb1");
  ASSERT_NE(f, nullptr) << path;
  ASSERT_EQ(gzwrite(f, content.data(), static_cast<unsigned>(content.size())),
            static_cast<int>(content.size()));
  ASSERT_EQ(gzclose(f), Z_OK);
}

/// Replaces line `line_no` (1-based) of `text` by `edit(old line)`.
inline std::string edit_line(const std::string& text, size_t line_no,
                             const std::function<std::string(const std::string&)>& edit) {
  size_t start = 0;
  for (size_t i = 1; i < line_no; ++i)
    start = text.find('\n', start) + 1;
  const size_t end = text.find('\n', start);
  return text.substr(0, start) + edit(text.substr(start, end - start)) + text.substr(end);
}

/// Runs `fn`, expects an exception of type E whose message contains every one of `parts`.
template <typename E>
void expect_error(const std::function<void()>& fn, std::initializer_list<std::string> parts) {
  try {
    fn();
    ADD_FAILURE() << "expected an exception";
  } catch (const E& e) {
    const std::string msg = e.what();
    for (const auto& p : parts) {
      EXPECT_NE(msg.find(p), std::string::npos) << "message lacks '" << p << "': " << msg;
    }
  }
}

}  // namespace diffdfl::data::testing
