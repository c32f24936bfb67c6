// Atomic writes under failure: a write that cannot complete (a full disk, simulated with a
// file-size limit) is an IoError naming the file, the destination keeps its old content, and no
// temporary file is left; temporaries of killed writes are removed on request.
#include "diffdfl/core/atomic_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "diffdfl/core/error.h"
#include "fault_injection.h"

namespace diffdfl {
namespace {

namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("diffdfl_atomic_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

size_t entries(const fs::path& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir))
    ++n;
  return n;
}

TEST(AtomicFile, FullDiskIsAnIoErrorThatKeepsTheOldFileAndLeavesNoTemporary) {
  const fs::path dir = fresh_dir("full");
  write_file_atomic(dir / "state.json", "old");
  const int code = testing::run_with_file_size_limit(4096, [&] {
    try {
      write_file_atomic(dir / "state.json", std::string(100000, 'x'));
    } catch (const IoError& e) {
      const std::string msg = e.what();
      return msg.find((dir / "state.json").string()) != std::string::npos &&
                     msg.find("File too large") != std::string::npos
                 ? 0
                 : 2;
    }
    return 1;  // no error: the failure went unnoticed
  });
  EXPECT_EQ(code, 0) << "1: the write did not fail; 2: the message lacks the file or the reason";
  EXPECT_EQ(read_file(dir / "state.json"), "old");
  EXPECT_EQ(entries(dir), 1u) << "a temporary file was left behind";
}

TEST(AtomicFile, WriterFailureLeavesNoTemporary) {
  const fs::path dir = fresh_dir("writer");
  EXPECT_THROW(write_atomic_with(dir / "x",
                                 [](const std::string& tmp) {
                                   std::ofstream(tmp) << "half";
                                   throw IoError("boom");
                                 }),
               IoError);
  EXPECT_EQ(entries(dir), 0u);
}

TEST(AtomicFile, AFileInTheWayOfTheDirectoryIsANamedError) {
  const fs::path dir = fresh_dir("in_the_way");
  std::ofstream(dir / "plain") << "x";
  try {
    write_file_atomic(dir / "plain" / "sub" / "f.json", "{}");
    FAIL() << "expected IoError";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find((dir / "plain").string()), std::string::npos) << e.what();
  }
}

TEST(AtomicFile, StaleTemporariesOfKilledWritesAreRemoved) {
  const fs::path dir = fresh_dir("stale");
  for (const char* name :
       {".checkpoint.pt.tmp.123.abc", ".model.pt.tmp.9.1", "keep.json", ".lock", ".hidden"})
    std::ofstream(dir / name) << "x";
  EXPECT_EQ(remove_stale_temporaries(dir, "model.pt"), 1u);
  EXPECT_TRUE(fs::exists(dir / ".checkpoint.pt.tmp.123.abc"));
  EXPECT_EQ(remove_stale_temporaries(dir), 1u);
  EXPECT_EQ(entries(dir), 3u);  // keep.json, .lock, .hidden
  EXPECT_TRUE(fs::exists(dir / "keep.json"));
  EXPECT_TRUE(fs::exists(dir / ".lock"));
}

}  // namespace
}  // namespace diffdfl
