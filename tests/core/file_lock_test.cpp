// FileLock (core/file_lock.h): an exclusive flock that a second holder cannot take until the first
// lets go.
#include "diffdfl/core/file_lock.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "diffdfl/core/error.h"

namespace diffdfl {
namespace {

namespace fs = std::filesystem;

TEST(FileLock, TryLockFailsWhileHeldAndSucceedsAfterRelease) {
  const fs::path dir = fs::temp_directory_path() / ("diffdfl_lock_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path file = dir / ".lock";
  {
    const FileLock held(file);
    EXPECT_TRUE(fs::exists(file));
    EXPECT_EQ(FileLock::try_lock(file), nullptr);  // flock: a second open file conflicts
  }
  std::unique_ptr<FileLock> mine = FileLock::try_lock(file);
  ASSERT_NE(mine, nullptr);
  EXPECT_EQ(FileLock::try_lock(file), nullptr);
  mine.reset();
  EXPECT_NE(FileLock::try_lock(file), nullptr);
  EXPECT_THROW(FileLock(dir / "missing-folder" / ".lock"), IoError);
  fs::remove(file);
  fs::remove(dir);
}

}  // namespace
}  // namespace diffdfl
