// Atomic file output: write to a temporary file in the same directory, flush it to disk, then rename
// over the destination. A killed process leaves either the old file or the new one, never half of one.
//
// Example:
//   write_file_atomic(run_dir / "metrics.json", metrics.dump(2));
//   write_atomic_with(run_dir / "model.pt", [&](const std::string& tmp) { torch::save(model, tmp); });
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace diffdfl {

/// Atomically replaces `path` with `content`. Throws IoError naming the path on failure.
void write_file_atomic(const std::filesystem::path& path, std::string_view content);

/// Atomically replaces `path` with whatever `writer` writes to the temporary path it is given.
void write_atomic_with(const std::filesystem::path& path,
                       const std::function<void(const std::string& tmp_path)>& writer);

/// Reads a whole file. Throws IoError naming the path if it cannot be read.
std::string read_file(const std::filesystem::path& path);

}  // namespace diffdfl
