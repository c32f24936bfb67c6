// Artefact files that prove their integrity: model.pt, checkpoint.pt and the pretrained-model cache
// are written as one header line that records the SHA-256 and size of the payload, then the payload
// (a LibTorch archive). Loading verifies both before LibTorch parses a byte, so a truncated file, a
// flipped byte or garbage is one DataError naming the file and how to recover, never a LibTorch
// backtrace or a silently different model. The archive is serialised in memory and written through
// write_file_atomic, so a full disk is an IoError that leaves no temporary file (LibTorch's own
// file writer throws from a destructor there and aborts the process).
//
//   diffdfl-artefact 1 sha256 <64 hex digits> bytes <payload size>\n
//   <payload>
//
// Example:
//   torch::serialize::OutputArchive out;
//   model.save(out);
//   save_archive_file(dir / "model.pt", out);
//   load_archive_file(dir / "model.pt", "delete it and re-run the training",
//                     [&](torch::serialize::InputArchive& in) { model.load(in); });
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace diffdfl {

/// Atomically writes `payload` behind its digest header. IoError when the write fails.
void write_artefact(const std::filesystem::path& path, std::string_view payload);

/// What read_artefact found.
struct ArtefactPayload {
  std::string bytes;      ///< the payload
  bool verified = false;  ///< false for a file written before digests were recorded (a bare
                          ///< LibTorch archive), whose integrity cannot be checked
};

/// Reads and verifies an artefact. Throws IoError when the file cannot be read and DataError when
/// it is damaged (truncated, digest mismatch, no header and not a LibTorch archive); each message
/// is one line: "<path>: damaged (<what>); <recovery>".
ArtefactPayload read_artefact(const std::filesystem::path& path, const std::string& recovery);

/// Serialises `archive` in memory and writes it with write_artefact.
void save_archive_file(const std::filesystem::path& path, torch::serialize::OutputArchive& archive);

/// Reads and verifies `path`, parses it as a LibTorch archive and hands it to `read` (which loads
/// the records it needs). Any LibTorch or JSON error while parsing or reading becomes one DataError
/// line naming the file and `recovery`. Returns whether the file carried a verified digest.
bool load_archive_file(const std::filesystem::path& path, const std::string& recovery,
                       const std::function<void(torch::serialize::InputArchive&)>& read);

}  // namespace diffdfl
