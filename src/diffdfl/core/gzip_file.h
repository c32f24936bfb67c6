// Reading gzip-compressed files with zlib.
//
// Example:
//   std::string csv = read_gzip_file("data/stock_portfolio/sp500_adj_close_2004-2016.csv.gz");
#pragma once

#include <filesystem>
#include <string>

namespace diffdfl {

/// Decompresses a whole .gz file. Throws DataError naming the file if it is missing, truncated or
/// not gzip data.
std::string read_gzip_file(const std::filesystem::path& path);

}  // namespace diffdfl
