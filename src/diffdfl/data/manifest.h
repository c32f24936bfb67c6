// Checksums of the shipped data files: `<data_dir>/SHA256SUMS`, one line
// `<64 hex digits>  <relative path>` per file (the format `sha256sum` writes and `sha256sum -c`
// checks).
//
// Example:
//   namespace fs = std::filesystem;
//   fs::path p = verify_data_file("data", "power_sched/pjm_load_data_2008-11.txt");
//   // p is "data/power_sched/pjm_load_data_2008-11.txt" and its SHA-256 matches the manifest;
//   // otherwise a DataError such as
//   //   data/power_sched/pjm_load_data_2008-11.txt: SHA-256 mismatch (expected 8dc8..., found
//   //   01ab...); the file was altered or truncated; restore it with
//   //   `git checkout -- data/power_sched/pjm_load_data_2008-11.txt` ...
#pragma once

#include <filesystem>
#include <map>
#include <string>

namespace diffdfl::data {

/// The parsed SHA256SUMS of a data directory.
///
/// Example:
///   Manifest m = read_manifest("data");
///   m.sha256.at("stock_portfolio/sp500_tickers.csv");   // "20351aa3..."
struct Manifest {
  std::filesystem::path data_dir;
  std::map<std::string, std::string> sha256;  ///< relative path -> lower-case hex digest
};

/// Reads `<data_dir>/SHA256SUMS`. Throws DataError when the directory or the manifest is missing
/// (suggesting --data-dir) or a line is malformed (naming the line).
Manifest read_manifest(const std::filesystem::path& data_dir);

/// `<data_dir>/<relpath>` after checking that the file exists and, if `verify` is true, that its
/// SHA-256 equals the manifest's entry. Throws DataError naming the file and the fix otherwise.
std::filesystem::path verify_data_file(const std::filesystem::path& data_dir,
                                       const std::string& relpath, bool verify = true);

}  // namespace diffdfl::data
