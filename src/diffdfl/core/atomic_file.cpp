#include "diffdfl/core/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "diffdfl/core/error.h"

namespace fs = std::filesystem;

namespace diffdfl {

namespace {

fs::path temp_path_for(const fs::path& path) {
  std::random_device rd;
  std::ostringstream name;
  name << "." << path.filename().string() << ".tmp." << ::getpid() << "." << std::hex << rd();
  return path.parent_path() / name.str();
}

void fsync_path(const fs::path& p, bool directory) {
  const int fd = ::open(p.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) return;  // best effort: the rename below is still atomic
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

void write_atomic_with(const fs::path& path,
                       const std::function<void(const std::string& tmp_path)>& writer) {
  const fs::path parent = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) fail<IoError>("cannot create directory ", parent, ": ", ec.message());
  const fs::path tmp = temp_path_for(parent / path.filename());
  try {
    writer(tmp.string());
  } catch (...) {
    fs::remove(tmp, ec);
    throw;
  }
  if (!fs::exists(tmp)) fail<IoError>("writing ", path, ": the writer produced no file");
  fsync_path(tmp, false);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    fs::remove(tmp, ec);
    fail<IoError>("cannot move ", tmp, " to ", path, ": ", why);
  }
  fsync_path(parent, true);
}

void write_file_atomic(const fs::path& path, std::string_view content) {
  write_atomic_with(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail<IoError>("cannot open ", tmp, " for writing: ", std::strerror(errno));
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.flush();
    if (!out) fail<IoError>("cannot write ", tmp, ": ", std::strerror(errno));
  });
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail<IoError>("cannot open ", path, " for reading: ", std::strerror(errno));
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

}  // namespace diffdfl
