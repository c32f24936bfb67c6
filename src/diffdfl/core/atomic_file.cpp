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

constexpr const char* kTempMarker = ".tmp.";

fs::path temp_path_for(const fs::path& path) {
  std::random_device rd;
  std::ostringstream name;
  name << "." << path.filename().string() << kTempMarker << ::getpid() << "." << std::hex << rd();
  return path.parent_path() / name.str();
}

void fsync_directory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // best effort: the rename is atomic anyway
  ::fsync(fd);
  ::close(fd);
}

/// Removes `tmp` (if present) without throwing.
void discard(const fs::path& tmp) {
  ::unlink(tmp.c_str());
}

[[noreturn]] void write_failed(const fs::path& path, int err) {
  fail<IoError>("cannot write ", path.string(), ": ", std::strerror(err),
                err == ENOSPC || err == EFBIG || err == EDQUOT
                    ? "; free some space or raise the file-size limit"
                    : "");
}

/// Writes all of `content` to the open descriptor `fd`; returns 0 or the errno of the failure.
int write_all(int fd, std::string_view content) {
  const char* p = content.data();
  size_t left = content.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;
    p += n;
    left -= static_cast<size_t>(n);
  }
  return 0;
}

fs::path prepare_parent(const fs::path& path) {
  const fs::path parent = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) fail<IoError>("cannot create directory ", parent.string(), ": ", ec.message());
  if (!fs::is_directory(parent, ec)) {
    fail<IoError>("cannot write ", path.string(), ": ", parent.string(), " is not a directory");
  }
  return parent;
}

/// Renames `tmp` over `path` and syncs the directory; removes `tmp` on failure.
void commit(const fs::path& tmp, const fs::path& path, const fs::path& parent) {
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    discard(tmp);
    fail<IoError>("cannot replace ", path.string(), ": ", std::strerror(err));
  }
  fsync_directory(parent);
}

}  // namespace

void write_atomic_with(const fs::path& path,
                       const std::function<void(const std::string& tmp_path)>& writer) {
  const fs::path parent = prepare_parent(path);
  const fs::path tmp = temp_path_for(parent / path.filename());
  try {
    writer(tmp.string());
  } catch (...) {
    discard(tmp);
    throw;
  }
  const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    discard(tmp);
    fail<IoError>("writing ", path.string(), ": the writer produced no file");
  }
  const int synced = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  if (synced != 0 && synced != EINVAL) {
    discard(tmp);
    write_failed(path, synced);
  }
  commit(tmp, path, parent);
}

void write_file_atomic(const fs::path& path, std::string_view content) {
  const fs::path parent = prepare_parent(path);
  const fs::path tmp = temp_path_for(parent / path.filename());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) write_failed(path, errno);
  int err = write_all(fd, content);
  if (err == 0 && ::fsync(fd) != 0 && errno != EINVAL) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err != 0) {
    discard(tmp);
    write_failed(path, err);
  }
  commit(tmp, path, parent);
}

size_t remove_stale_temporaries(const fs::path& dir, const std::string& only_for) {
  const std::string prefix = only_for.empty() ? "." : "." + only_for + kTempMarker;
  size_t removed = 0;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) != 0 || name.find(kTempMarker) == std::string::npos) continue;
    if (::unlink(it->path().c_str()) == 0) ++removed;
  }
  return removed;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail<IoError>("cannot open ", path.string(), " for reading: ", std::strerror(errno));
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) fail<IoError>("cannot read ", path.string(), ": ", std::strerror(errno));
  return buf.str();
}

}  // namespace diffdfl
