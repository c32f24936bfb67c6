#include "diffdfl/core/artefact_file.h"

#include <charconv>
#include <sstream>

#include "diffdfl/core/atomic_file.h"
#include "diffdfl/core/error.h"
#include "diffdfl/core/sha256.h"
#include "diffdfl/core/torch_error.h"

namespace fs = std::filesystem;

namespace diffdfl {

namespace {

constexpr std::string_view kHeaderName = "diffdfl-artefact ";
constexpr std::string_view kMagic = "diffdfl-artefact 1 sha256 ";
constexpr std::string_view kZipMagic = "PK\x03\x04";
constexpr size_t kDigestChars = 64;

[[noreturn]] void damaged(const fs::path& path, const std::string& what,
                          const std::string& recovery) {
  fail<DataError>(path.string(), ": damaged (", what, "); ", recovery);
}

}  // namespace

void write_artefact(const fs::path& path, std::string_view payload) {
  std::string file;
  file.reserve(payload.size() + 128);
  file += kMagic;
  file += sha256_hex(payload);
  file += " bytes ";
  file += std::to_string(payload.size());
  file += '\n';
  file += payload;
  write_file_atomic(path, file);
}

ArtefactPayload read_artefact(const fs::path& path, const std::string& recovery) {
  std::error_code ec;
  if (!fs::exists(path, ec)) fail<IoError>(path.string(), " not found");
  if (!fs::is_regular_file(path, ec)) damaged(path, "not a regular file", recovery);
  std::string text = read_file(path);
  ArtefactPayload out;
  const bool has_header = text.compare(0, kHeaderName.size(), kHeaderName) == 0;
  if (has_header && text.find('\n') == std::string::npos) {
    damaged(path, "the header line is truncated", recovery);
  }
  if (has_header && text.compare(0, kMagic.size(), kMagic) != 0) {
    damaged(path, "unknown artefact format", recovery);
  }
  if (!has_header) {
    // A bare LibTorch archive: written before digests were recorded. Zip archives start with
    // "PK\3\4"; anything else is garbage or a file truncated inside its header.
    if (text.compare(0, kZipMagic.size(), kZipMagic) != 0) {
      damaged(path,
              text.empty() ? "the file is empty" : "no diffdfl artefact header and not an archive",
              recovery);
    }
    out.bytes = std::move(text);
    out.verified = false;
    return out;
  }
  const size_t nl = text.find('\n');
  const std::string_view header(text.data() + kMagic.size(), nl - kMagic.size());
  const std::string_view digest = header.substr(0, kDigestChars);
  constexpr std::string_view kBytes = " bytes ";
  size_t size = 0;
  const bool header_ok = header.size() > kDigestChars + kBytes.size() &&
                         header.substr(kDigestChars, kBytes.size()) == kBytes;
  if (header_ok) {
    const char* first = header.data() + kDigestChars + kBytes.size();
    const char* last = header.data() + header.size();
    const auto res = std::from_chars(first, last, size);
    if (res.ec != std::errc() || res.ptr != last) damaged(path, "malformed header", recovery);
  } else {
    damaged(path, "malformed header", recovery);
  }
  const size_t found = text.size() - nl - 1;
  if (found != size) {
    damaged(path,
            "the header records " + std::to_string(size) + " bytes, the file holds " +
                std::to_string(found) +
                (found < size ? ": it is truncated" : ": it has extra bytes"),
            recovery);
  }
  const std::string_view payload(text.data() + nl + 1, found);
  const std::string actual = sha256_hex(payload);
  if (actual != digest) {
    damaged(path,
            "SHA-256 mismatch: recorded " + std::string(digest.substr(0, 12)) + "…, found " +
                actual.substr(0, 12) + "…; its content was altered",
            recovery);
  }
  out.bytes.assign(payload.data(), payload.size());
  out.verified = true;
  return out;
}

void save_archive_file(const fs::path& path, torch::serialize::OutputArchive& archive) {
  std::ostringstream bytes;
  archive.save_to(bytes);
  write_artefact(path, bytes.str());
}

bool load_archive_file(const fs::path& path, const std::string& recovery,
                       const std::function<void(torch::serialize::InputArchive&)>& read) {
  const ArtefactPayload payload = read_artefact(path, recovery);
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(payload.bytes.data(), payload.bytes.size());
    read(archive);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    const auto* torch_error = dynamic_cast<const c10::Error*>(&e);
    const std::string why = torch_error ? torch_error_line(*torch_error) : e.what();
    if (!payload.verified) damaged(path, "unreadable: " + why, recovery);
    // The bytes are the ones that were written, so the reader and the writer disagree.
    fail<DataError>(path.string(), ": cannot be loaded (", why,
                    "); the file is intact, so the configuration or the diffdfl version differs "
                    "from the one that wrote it; ",
                    recovery);
  }
  return payload.verified;
}

}  // namespace diffdfl
