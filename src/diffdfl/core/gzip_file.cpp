#include "diffdfl/core/gzip_file.h"

#include <zlib.h>

#include <memory>

#include "diffdfl/core/error.h"

namespace diffdfl {

std::string read_gzip_file(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) fail<DataError>(path.string(), ": file not found");
  const std::unique_ptr<gzFile_s, int (*)(gzFile)> file(gzopen(path.c_str(), "rb"), gzclose);
  if (!file) fail<DataError>(path.string(), ": cannot open for reading");
  if (gzdirect(file.get()) == 1) fail<DataError>(path.string(), ": not gzip-compressed data");
  std::string out;
  char buf[1 << 16];
  while (true) {
    const int n = gzread(file.get(), buf, sizeof(buf));
    if (n < 0) {
      int code = 0;
      const char* msg = gzerror(file.get(), &code);
      fail<DataError>(path.string(), ": corrupt gzip data (", msg, ")");
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  int code = 0;
  const char* msg = gzerror(file.get(), &code);
  if (code != Z_OK && code != Z_STREAM_END) {
    fail<DataError>(path.string(), ": truncated or corrupt gzip data (", msg, ")");
  }
  return out;
}

}  // namespace diffdfl
