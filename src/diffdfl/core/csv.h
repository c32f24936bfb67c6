// Small, strict CSV reading: every error names the source, the line and the column.
//
// Example:
//   CsvTable t = parse_csv(read_file("holidays.csv"), "holidays.csv");
//   for (size_t r = 0; r < t.rows.size(); ++r)
//     double v = parse_double(t.rows[r][1], t.where(r, 1));
//
//   torch::Tensor m = read_numeric_csv("samples.csv");   // [rows, cols] float64, header optional
//   // "y0,y1\n1,2\n" has a header; "0.01,0.02x\n..." is an error at line 1, column 2.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace diffdfl {

struct CsvOptions {
  char separator = ',';
  bool has_header = true;
};

struct CsvTable {
  std::string source;                          ///< file name used in messages
  std::vector<std::string> header;             ///< empty when the file has none
  std::vector<std::vector<std::string>> rows;  ///< data rows, fields unquoted
  std::vector<size_t> line_numbers;            ///< 1-based file line of each data row

  /// "file:line, column 'name'" for messages about row r, column c.
  std::string where(size_t r, size_t c) const;
  /// Index of `name` in the header; throws DataError naming the file if absent.
  size_t column(const std::string& name) const;
};

/// Splits one line into fields; double-quoted fields may contain the separator and "" escapes.
/// Throws DataError (with `where`) on an unterminated quote.
std::vector<std::string> split_csv_line(std::string_view line, char separator,
                                        const std::string& where);

/// Parses a whole text. Blank lines are skipped; '\r' line endings are accepted. Every row must
/// have as many fields as the first one (or the header), else DataError "source:line: expected N
/// fields".
CsvTable parse_csv(std::string_view text, const std::string& source,
                   const CsvOptions& options = {});

/// Parses a finite double. Throws DataError "<where>: '<field>' is not a number" (or "... is out of
/// the range of float64", "... NaN or Inf is not allowed"); control bytes of the field are shown
/// escaped (\x00).
double parse_double(std::string_view field, const std::string& where);

/// Parses an integer. Throws DataError naming `where` on failure.
long long parse_int(std::string_view field, const std::string& where);

struct NumericCsvOptions {
  /// Accept a header line: the first line is a header when every one of its fields is a name (a
  /// letter or '_' first, then printable ASCII) and none is a number, e.g. "y0,y1". Any other first
  /// line is data, so a typo, an empty cell or a control byte in it is an error naming its line and
  /// column, never a silently dropped row.
  bool allow_header = true;
  /// Expected number of columns (-1: any, but all rows equal).
  int64_t expected_columns = -1;
};

/// True when `field` can be a column name of a numeric CSV header (see NumericCsvOptions).
bool is_header_name(std::string_view field);

/// Parses CSV text of numbers into a [rows, cols] float64 tensor; `source` names it in errors,
/// which give the line and column ("samples.csv:3, column 2: '0.02x' is not a number").
torch::Tensor parse_numeric_csv(std::string_view text, const std::string& source,
                                const NumericCsvOptions& options = {});

/// Reads a CSV file of numbers (parse_numeric_csv). Errors name file, line and column.
torch::Tensor read_numeric_csv(const std::filesystem::path& path,
                               const NumericCsvOptions& options = {});

/// Writes a [rows, cols] tensor (any floating dtype) as CSV with an optional header, atomically.
void write_numeric_csv(const std::filesystem::path& path, const torch::Tensor& values,
                       const std::vector<std::string>& header = {});

}  // namespace diffdfl
