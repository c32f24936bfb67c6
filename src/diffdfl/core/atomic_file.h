// Atomic file output: write to a temporary file in the same directory, flush it to disk, then
// rename over the destination. A killed process leaves either the old file or the new one, never
// half of one; a failed write (a full disk, a file-size limit, a read-only folder) is an IoError
// naming the file and the reason, and removes its temporary file. A temporary file left by a killed
// process (".<name>.tmp.<pid>.<hex>") is removed by remove_stale_temporaries.
//
// Example:
//   write_file_atomic(run_dir / "metrics.json", metrics.dump(2));
//   write_atomic_with(run_dir / "plot.png", [&](const std::string& tmp) { render(tmp); });
//   remove_stale_temporaries(run_dir);   // at the start of a run that holds the directory's lock
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace diffdfl {

/// Atomically replaces `path` with `content`. Throws IoError naming the path and the reason (e.g.
/// "No space left on device") on failure; the destination is then unchanged and no temporary file
/// remains.
void write_file_atomic(const std::filesystem::path& path, std::string_view content);

/// Atomically replaces `path` with whatever `writer` writes to the temporary path it is given. The
/// writer must throw if it fails; the temporary file is removed on every error path.
void write_atomic_with(const std::filesystem::path& path,
                       const std::function<void(const std::string& tmp_path)>& writer);

/// Removes the temporary files that write_file_atomic / write_atomic_with leave when a process is
/// killed while writing: every ".<name>.tmp.*" in `dir`, or only those of `only_for` (a file name)
/// when it is given. Call it only while no other process can be writing there (under the
/// directory's lock). Returns the number removed; errors are ignored (best effort).
size_t remove_stale_temporaries(const std::filesystem::path& dir, const std::string& only_for = "");

/// Reads a whole file. Throws IoError naming the path if it cannot be read.
std::string read_file(const std::filesystem::path& path);

}  // namespace diffdfl
