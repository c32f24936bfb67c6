// Reading gzip-compressed data with zlib.
//
// Example:
//   std::string csv = read_gzip_file("data/stock_portfolio/sp500_adj_close_2004-2016.csv.gz");
//   std::string same = gunzip(read_file(path), path.string());
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace diffdfl {

/// The most bytes gunzip produces (1 GiB): more is refused as damaged or hostile input.
constexpr size_t kMaxGunzipBytes = size_t{1} << 30;

/// Decompresses gzip data (one or more concatenated members). `source` names it in errors:
/// DataError when the bytes are not gzip data, are truncated or corrupt, or expand beyond
/// kMaxGunzipBytes.
std::string gunzip(std::string_view compressed, const std::string& source);

/// Decompresses a whole .gz file. Throws DataError naming the file if it is missing, truncated or
/// not gzip data.
std::string read_gzip_file(const std::filesystem::path& path);

}  // namespace diffdfl
