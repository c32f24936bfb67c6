#include "diffdfl/data/manifest.h"

#include <cctype>
#include <string_view>

#include "diffdfl/core/atomic_file.h"
#include "diffdfl/core/error.h"
#include "diffdfl/core/sha256.h"

namespace fs = std::filesystem;

namespace diffdfl::data {

namespace {

const char* const kManifest = "SHA256SUMS";

std::string restore_hint(const std::string& relpath) {
  return "restore it with `git checkout -- data/" + relpath +
         "` or point --data-dir (or DIFFDFL_DATA_DIR) at an intact copy of the data folder";
}

void check_data_dir(const fs::path& data_dir) {
  if (!fs::is_directory(data_dir)) {
    fail<DataError>("data directory '", data_dir.string(),
                    "' does not exist; pass --data-dir DIR (or set DIFFDFL_DATA_DIR) to the "
                    "repository's data/ folder");
  }
}

bool is_hex_digest(std::string_view s) {
  if (s.size() != 64) return false;
  for (const char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

Manifest read_manifest(const fs::path& data_dir) {
  check_data_dir(data_dir);
  const fs::path path = data_dir / kManifest;
  if (!fs::is_regular_file(path)) {
    fail<DataError>(
        path.string(),
        ": checksum manifest not found; pass --data-dir DIR pointing at the repository's "
        "data/ folder (it ships SHA256SUMS)");
  }
  const std::string text = read_file(path);
  Manifest m;
  m.data_dir = data_dir;
  size_t pos = 0;
  int line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    // "<hex>  <path>" (text mode) or "<hex> *<path>" (binary mode).
    const size_t sp = line.find(' ');
    std::string_view hex = line.substr(0, sp);
    std::string_view rel;
    if (sp != std::string_view::npos && sp + 2 <= line.size() &&
        (line[sp + 1] == ' ' || line[sp + 1] == '*')) {
      rel = line.substr(sp + 2);
    }
    if (!is_hex_digest(hex) || rel.empty()) {
      fail<DataError>(path.string(), ":", line_no,
                      ": expected '<64 hex digits>  <relative path>', found '", line, "'");
    }
    std::string digest(hex);
    for (char& c : digest)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    m.sha256[std::string(rel)] = digest;
  }
  return m;
}

fs::path verify_data_file(const fs::path& data_dir, const std::string& relpath, bool verify) {
  check_data_dir(data_dir);
  const fs::path path = data_dir / relpath;
  if (!fs::is_regular_file(path)) {
    fail<DataError>(path.string(), ": data file not found; ", restore_hint(relpath));
  }
  if (!verify) return path;
  const Manifest m = read_manifest(data_dir);
  const auto it = m.sha256.find(relpath);
  if (it == m.sha256.end()) {
    fail<DataError>((data_dir / kManifest).string(), ": no checksum for '", relpath,
                    "'; add its line (sha256sum ", relpath,
                    " >> SHA256SUMS) or restore the manifest "
                    "with `git checkout -- data/SHA256SUMS`");
  }
  const std::string found = sha256_hex_file(path);
  if (found != it->second) {
    fail<DataError>(path.string(), ": SHA-256 mismatch (expected ", it->second, ", found ", found,
                    "); the file was altered or truncated; ", restore_hint(relpath));
  }
  return path;
}

}  // namespace diffdfl::data
