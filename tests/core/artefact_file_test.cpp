// Artefacts prove their integrity: a digest recorded at write time is verified before LibTorch
// parses a byte, so truncation, a flipped byte or garbage is one DataError line naming the file and
// the recovery; a full disk is an IoError without a temporary file or an abort.
#include "diffdfl/core/artefact_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "diffdfl/core/atomic_file.h"
#include "diffdfl/core/error.h"
#include "fault_injection.h"

namespace diffdfl {
namespace {

namespace fs = std::filesystem;

const std::string kRecovery = "delete it and rerun";

fs::path fresh_dir(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("diffdfl_artefact_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

/// An archive with one 1000-element tensor record (big enough for a flipped byte to land in it).
void write_model(const fs::path& path, const torch::Tensor& w) {
  torch::serialize::OutputArchive out;
  out.write("w", w);
  save_archive_file(path, out);
}

torch::Tensor read_model(const fs::path& path, bool* verified = nullptr) {
  torch::Tensor w;
  const bool v = load_archive_file(path, kRecovery,
                                   [&](torch::serialize::InputArchive& in) { in.read("w", w); });
  if (verified != nullptr) *verified = v;
  return w;
}

/// Expects a one-line DataError naming the file, `what`, and the recovery.
void expect_damaged(const fs::path& path, const std::string& what) {
  try {
    read_model(path);
    ADD_FAILURE() << "expected DataError for " << what;
  } catch (const DataError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find(what), std::string::npos) << msg;
    EXPECT_NE(msg.find(kRecovery), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "not one line: " << msg;
  }
}

TEST(ArtefactFile, RoundTripIsVerified) {
  const fs::path dir = fresh_dir("roundtrip");
  const torch::Tensor w = torch::arange(1000, torch::kDouble);
  write_model(dir / "m.pt", w);
  bool verified = false;
  EXPECT_TRUE(torch::equal(read_model(dir / "m.pt", &verified), w));
  EXPECT_TRUE(verified);
  EXPECT_EQ(read_file(dir / "m.pt").rfind("diffdfl-artefact 1 sha256 ", 0), 0u);
}

TEST(ArtefactFile, FlippedByteInATensorRecordIsCaught) {
  const fs::path dir = fresh_dir("flip");
  write_model(dir / "m.pt", torch::arange(1000, torch::kDouble));
  std::string bytes = read_file(dir / "m.pt");
  // The tensor's 8000 bytes dominate the file: its middle lies inside the tensor record.
  bytes[bytes.size() / 2] ^= 0x01;
  write_file_atomic(dir / "m.pt", bytes);
  expect_damaged(dir / "m.pt", "SHA-256 mismatch");
}

TEST(ArtefactFile, TruncatedGarbageAndEmptyFilesAreNamedErrors) {
  const fs::path dir = fresh_dir("damage");
  write_model(dir / "m.pt", torch::arange(1000, torch::kDouble));
  const std::string bytes = read_file(dir / "m.pt");
  write_file_atomic(dir / "cut.pt", bytes.substr(0, bytes.size() - 100));
  expect_damaged(dir / "cut.pt", "truncated");
  write_file_atomic(dir / "head.pt", bytes.substr(0, 20));
  expect_damaged(dir / "head.pt", "header line is truncated");
  write_file_atomic(dir / "garbage.pt", "this is not a model\n");
  expect_damaged(dir / "garbage.pt", "no diffdfl artefact header");
  write_file_atomic(dir / "empty.pt", "");
  expect_damaged(dir / "empty.pt", "empty");
  fs::create_directories(dir / "dir.pt");
  expect_damaged(dir / "dir.pt", "not a regular file");
}

TEST(ArtefactFile, ABareLibTorchArchiveLoadsUnverified) {
  const fs::path dir = fresh_dir("legacy");
  torch::serialize::OutputArchive out;
  out.write("w", torch::ones({3}));
  std::ostringstream bytes;
  out.save_to(bytes);
  write_file_atomic(dir / "old.pt", bytes.str());
  bool verified = true;
  EXPECT_TRUE(torch::equal(read_model(dir / "old.pt", &verified), torch::ones({3})));
  EXPECT_FALSE(verified);
  // A damaged bare archive is still one named line, not a LibTorch backtrace.
  write_file_atomic(dir / "old.pt", bytes.str().substr(0, bytes.str().size() / 2));
  expect_damaged(dir / "old.pt", "unreadable");
}

TEST(ArtefactFile, AnIntactFileThatDoesNotMatchTheReaderSaysSo) {
  const fs::path dir = fresh_dir("mismatch");
  write_model(dir / "m.pt", torch::ones({3}));
  try {
    load_archive_file(dir / "m.pt", kRecovery, [](torch::serialize::InputArchive& in) {
      torch::Tensor t;
      in.read("no_such_record", t);
    });
    FAIL() << "expected DataError";
  } catch (const DataError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("the file is intact"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    EXPECT_EQ(msg.find("Exception raised from"), std::string::npos) << msg;
  }
}

TEST(ArtefactFile, FullDiskIsAnIoErrorWithoutTemporaryOrAbort) {
  const fs::path dir = fresh_dir("full");
  const int code = testing::run_with_file_size_limit(2000, [&] {
    try {
      write_model(dir / "m.pt", torch::arange(1000, torch::kDouble));
    } catch (const IoError& e) {
      return std::string(e.what()).find("m.pt") != std::string::npos ? 0 : 2;
    }
    return 1;
  });
  EXPECT_EQ(code, 0) << "-1: the process died (abort); 1: no error; 2: the message lacks the file";
  EXPECT_TRUE(fs::is_empty(dir)) << "a temporary or partial file was left behind";
}

}  // namespace
}  // namespace diffdfl
