#include "diffdfl/core/csv.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <iomanip>
#include <limits>
#include <sstream>

#include "diffdfl/core/atomic_file.h"
#include "diffdfl/core/error.h"
#include "diffdfl/core/tensor_checks.h"

namespace diffdfl {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool looks_numeric(std::string_view s) {
  s = trim(s);
  if (s.empty()) return false;
  double v = 0;
  if (s.front() == '+') s.remove_prefix(1);
  const auto res = std::from_chars(s.data(), s.data() + s.size(), v);
  return (res.ec == std::errc() || res.ec == std::errc::result_out_of_range) &&
         res.ptr == s.data() + s.size();
}

/// `field` for an error message: control bytes escaped as \xNN, at most 40 characters.
std::string shown(std::string_view field) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (const char ch : field.substr(0, 40)) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += ch;
    }
  }
  if (field.size() > 40) out += "...";
  return out;
}

}  // namespace

bool is_header_name(std::string_view field) {
  if (field.empty() || looks_numeric(field)) return false;
  const auto first = static_cast<unsigned char>(field.front());
  if (!(std::isalpha(first) || first == '_')) return false;
  for (const char ch : field) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

std::string CsvTable::where(size_t r, size_t c) const {
  std::ostringstream out;
  out << source << ":" << line_numbers.at(r) << ", column ";
  if (c < header.size()) {
    out << "'" << header[c] << "'";
  } else {
    out << c + 1;
  }
  return out.str();
}

size_t CsvTable::column(const std::string& name) const {
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return i;
  }
  fail<DataError>(source, ": missing column '", name, "' in the header");
}

std::vector<std::string> split_csv_line(std::string_view line, char separator,
                                        const std::string& where) {
  std::vector<std::string> fields;
  std::string cur;
  bool quoted = false;
  bool was_quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < line.size() && line[i + 1] == '"') {
          cur += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        cur += c;
      }
    } else if (c == '"' && trim(cur).empty()) {
      quoted = true;
      was_quoted = true;
      cur.clear();
    } else if (c == separator) {
      fields.push_back(was_quoted ? cur : std::string(trim(cur)));
      cur.clear();
      was_quoted = false;
    } else if (c != '\r') {
      cur += c;
    }
  }
  if (quoted) fail<DataError>(where, ": unterminated double quote");
  fields.push_back(was_quoted ? cur : std::string(trim(cur)));
  return fields;
}

namespace {

/// Calls fn(line, line_no) for every line of `text` that is not blank, with 1-based line numbers.
template <typename Fn>
void for_each_line(std::string_view text, Fn&& fn) {
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!trim(line).empty()) fn(line, line_no);
  }
}

}  // namespace

CsvTable parse_csv(std::string_view text, const std::string& source, const CsvOptions& options) {
  CsvTable table;
  table.source = source;
  size_t expected = 0;
  for_each_line(text, [&](std::string_view line, size_t line_no) {
    const std::string where = source + ":" + std::to_string(line_no);
    std::vector<std::string> fields = split_csv_line(line, options.separator, where);
    if (options.has_header && table.header.empty() && table.rows.empty()) {
      table.header = std::move(fields);
      expected = table.header.size();
      return;
    }
    if (expected == 0) expected = fields.size();
    if (fields.size() != expected) {
      fail<DataError>(where, ": expected ", expected, " fields, found ", fields.size(),
                      " (truncated or malformed line)");
    }
    table.rows.push_back(std::move(fields));
    table.line_numbers.push_back(line_no);
  });
  return table;
}

double parse_double(std::string_view field, const std::string& where) {
  std::string_view s = trim(field);
  if (s.empty()) fail<DataError>(where, ": empty field (a number is expected)");
  if (s.front() == '+') s.remove_prefix(1);
  double v = 0;
  const auto res = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || res.ec == std::errc::invalid_argument || res.ptr != s.data() + s.size()) {
    fail<DataError>(where, ": '", shown(field), "' is not a number");
  }
  if (res.ec == std::errc::result_out_of_range) {
    fail<DataError>(where, ": '", shown(field), "' is out of the range of float64");
  }
  if (!std::isfinite(v)) {
    fail<DataError>(where, ": value is ", shown(trim(field)), " (NaN or Inf is not allowed)");
  }
  return v;
}

long long parse_int(std::string_view field, const std::string& where) {
  const std::string_view s = trim(field);
  long long v = 0;
  const auto res = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || res.ec != std::errc() || res.ptr != s.data() + s.size()) {
    fail<DataError>(where, ": '", shown(field), "' is not an integer");
  }
  return v;
}

torch::Tensor parse_numeric_csv(std::string_view text, const std::string& source,
                                const NumericCsvOptions& options) {
  std::vector<double> values;
  std::vector<std::string> header;
  size_t cols = 0;
  int64_t rows = 0;
  for_each_line(text, [&](std::string_view line, size_t line_no) {
    const std::string at = source + ":" + std::to_string(line_no);
    const std::vector<std::string> fields = split_csv_line(line, ',', at);
    const bool first = rows == 0 && header.empty();
    if (first && options.allow_header &&
        std::all_of(fields.begin(), fields.end(),
                    [](const std::string& f) { return is_header_name(f); })) {
      header = fields;
      cols = fields.size();
      return;
    }
    if (cols == 0) cols = fields.size();
    if (fields.size() != cols) {
      fail<DataError>(at, ": expected ", cols, " fields, found ", fields.size(),
                      " (truncated or malformed line)");
    }
    for (size_t c = 0; c < cols; ++c) {
      std::string where = at + ", column " + std::to_string(c + 1);
      if (c < header.size()) where += " '" + header[c] + "'";
      values.push_back(parse_double(fields[c], where));
    }
    ++rows;
  });
  if (rows == 0) {
    fail<DataError>(source, header.empty() ? ": no data rows" : ": header but no data rows");
  }
  if (options.expected_columns >= 0 && static_cast<int64_t>(cols) != options.expected_columns) {
    fail<DataError>(source, ": expected ", options.expected_columns, " columns, found ", cols);
  }
  return torch::from_blob(values.data(), {rows, static_cast<int64_t>(cols)}, torch::kDouble)
      .clone();
}

torch::Tensor read_numeric_csv(const std::filesystem::path& path,
                               const NumericCsvOptions& options) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) fail<DataError>(path.string(), ": file not found");
  if (std::filesystem::is_directory(path, ec)) {
    fail<DataError>(path.string(), ": is a directory, not a CSV file");
  }
  return parse_numeric_csv(read_file(path), path.string(), options);
}

void write_numeric_csv(const std::filesystem::path& path, const torch::Tensor& values,
                       const std::vector<std::string>& header) {
  check_shape(values, "values", {-1, -1});
  const torch::Tensor v = values.detach().to(torch::kCPU, torch::kDouble).contiguous();
  DIFFDFL_CHECK(header.empty() || static_cast<int64_t>(header.size()) == v.size(1),
                "write_numeric_csv: header has ", header.size(), " names for ", v.size(1),
                " columns");
  std::ostringstream out;
  out << std::setprecision(std::numeric_limits<double>::max_digits10);
  for (size_t i = 0; i < header.size(); ++i)
    out << (i ? "," : "") << header[i];
  if (!header.empty()) out << "\n";
  auto acc = v.accessor<double, 2>();
  for (int64_t r = 0; r < v.size(0); ++r) {
    for (int64_t c = 0; c < v.size(1); ++c)
      out << (c ? "," : "") << acc[r][c];
    out << "\n";
  }
  write_file_atomic(path, out.str());
}

}  // namespace diffdfl
