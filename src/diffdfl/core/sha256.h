// SHA-256 digests (OpenSSL's libcrypto) for verifying shipped data files.
//
// Example:
//   if (sha256_hex_file(path) != expected) throw DataError(...);
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace diffdfl {

/// Lower-case hex SHA-256 of `bytes`.
std::string sha256_hex(std::string_view bytes);

/// Lower-case hex SHA-256 of a file's content. Throws DataError if the file cannot be read.
std::string sha256_hex_file(const std::filesystem::path& path);

}  // namespace diffdfl
