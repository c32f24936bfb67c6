#include "diffdfl/core/gzip_file.h"

#include <zlib.h>

#include <climits>

#include "diffdfl/core/atomic_file.h"
#include "diffdfl/core/error.h"

namespace diffdfl {

namespace {

/// inflateEnd on scope exit.
struct Inflater {
  z_stream z{};
  bool open = false;
  ~Inflater() {
    if (open) inflateEnd(&z);
  }
};

}  // namespace

std::string gunzip(std::string_view compressed, const std::string& source) {
  if (compressed.size() < 2 || static_cast<unsigned char>(compressed[0]) != 0x1f ||
      static_cast<unsigned char>(compressed[1]) != 0x8b) {
    fail<DataError>(source, ": not gzip-compressed data");
  }
  Inflater inf;
  // 15 + 16: a gzip wrapper (not zlib or raw deflate), the largest window.
  if (inflateInit2(&inf.z, 15 + 16) != Z_OK) fail<DataError>(source, ": zlib cannot start");
  inf.open = true;
  std::string out;
  char buf[1 << 16];
  const auto* next = reinterpret_cast<const Bytef*>(compressed.data());
  size_t left = compressed.size();
  while (true) {
    const uInt chunk = static_cast<uInt>(std::min<size_t>(left, UINT_MAX));
    inf.z.next_in = const_cast<Bytef*>(next);
    inf.z.avail_in = chunk;
    int rc = Z_OK;
    do {
      inf.z.next_out = reinterpret_cast<Bytef*>(buf);
      inf.z.avail_out = sizeof(buf);
      rc = inflate(&inf.z, Z_NO_FLUSH);
      if (rc == Z_NEED_DICT || rc == Z_DATA_ERROR || rc == Z_MEM_ERROR) {
        fail<DataError>(source, ": corrupt gzip data (",
                        inf.z.msg != nullptr ? inf.z.msg : "invalid deflate stream", ")");
      }
      out.append(buf, sizeof(buf) - inf.z.avail_out);
      if (out.size() > kMaxGunzipBytes) {
        fail<DataError>(source, ": expands to more than ", kMaxGunzipBytes >> 20,
                        " MiB; not a data file diffdfl reads");
      }
    } while (inf.z.avail_out == 0 && rc != Z_STREAM_END);
    const size_t used = chunk - inf.z.avail_in;
    next += used;
    left -= used;
    if (rc == Z_STREAM_END) {
      if (left == 0) return out;
      // Another gzip member follows (as gzread would read it).
      if (inflateReset(&inf.z) != Z_OK) fail<DataError>(source, ": zlib cannot continue");
      continue;
    }
    if (left == 0 || rc == Z_BUF_ERROR) {
      fail<DataError>(source, ": truncated or corrupt gzip data (unexpected end of stream)");
    }
  }
}

std::string read_gzip_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    fail<DataError>(path.string(), ": file not found");
  }
  return gunzip(read_file(path), path.string());
}

}  // namespace diffdfl
