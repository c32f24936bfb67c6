#include "diffdfl/core/csv.h"

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
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool looks_numeric(std::string_view s) {
  s = trim(s);
  if (s.empty()) return false;
  double v = 0;
  if (s.front() == '+') s.remove_prefix(1);
  const auto res = std::from_chars(s.data(), s.data() + s.size(), v);
  return res.ec == std::errc() && res.ptr == s.data() + s.size();
}

}  // namespace

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

CsvTable parse_csv(std::string_view text, const std::string& source, const CsvOptions& options) {
  CsvTable table;
  table.source = source;
  size_t line_no = 0;
  size_t expected = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (trim(line).empty()) continue;
    const std::string where = source + ":" + std::to_string(line_no);
    std::vector<std::string> fields = split_csv_line(line, options.separator, where);
    if (options.has_header && table.header.empty() && table.rows.empty()) {
      table.header = std::move(fields);
      expected = table.header.size();
      continue;
    }
    if (expected == 0) expected = fields.size();
    if (fields.size() != expected) {
      fail<DataError>(where, ": expected ", expected, " fields, found ", fields.size(),
                      " (truncated or malformed line)");
    }
    table.rows.push_back(std::move(fields));
    table.line_numbers.push_back(line_no);
  }
  return table;
}

double parse_double(std::string_view field, const std::string& where) {
  std::string_view s = trim(field);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  double v = 0;
  const auto res = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || res.ec == std::errc::invalid_argument || res.ptr != s.data() + s.size()) {
    fail<DataError>(where, ": '", field, "' is not a number");
  }
  if (res.ec == std::errc::result_out_of_range) fail<DataError>(where, ": '", field, "' is out of range");
  if (!std::isfinite(v)) fail<DataError>(where, ": value is ", field, " (NaN or Inf is not allowed)");
  return v;
}

long long parse_int(std::string_view field, const std::string& where) {
  const std::string_view s = trim(field);
  long long v = 0;
  const auto res = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || res.ec != std::errc() || res.ptr != s.data() + s.size()) {
    fail<DataError>(where, ": '", field, "' is not an integer");
  }
  return v;
}

torch::Tensor read_numeric_csv(const std::filesystem::path& path, const NumericCsvOptions& options) {
  if (!std::filesystem::exists(path)) fail<DataError>(path.string(), ": file not found");
  const std::string text = read_file(path);
  CsvOptions csv;
  csv.has_header = false;
  CsvTable table = parse_csv(text, path.string(), csv);
  if (table.rows.empty()) fail<DataError>(path.string(), ": no data rows");
  if (options.allow_header) {
    bool header = false;
    for (const auto& f : table.rows.front()) header = header || !looks_numeric(f);
    if (header) {
      table.header = table.rows.front();
      table.rows.erase(table.rows.begin());
      table.line_numbers.erase(table.line_numbers.begin());
      if (table.rows.empty()) fail<DataError>(path.string(), ": header but no data rows");
    }
  }
  const auto cols = static_cast<int64_t>(table.rows.front().size());
  if (options.expected_columns >= 0 && cols != options.expected_columns) {
    fail<DataError>(path.string(), ": expected ", options.expected_columns, " columns, found ", cols);
  }
  const auto rows = static_cast<int64_t>(table.rows.size());
  torch::Tensor out = torch::empty({rows, cols}, torch::kDouble);
  auto acc = out.accessor<double, 2>();
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      acc[r][c] = parse_double(table.rows[r][c], table.where(r, c));
    }
  }
  return out;
}

void write_numeric_csv(const std::filesystem::path& path, const torch::Tensor& values,
                       const std::vector<std::string>& header) {
  check_shape(values, "values", {-1, -1});
  const torch::Tensor v = values.detach().to(torch::kCPU, torch::kDouble).contiguous();
  DIFFDFL_CHECK(header.empty() || static_cast<int64_t>(header.size()) == v.size(1),
                "write_numeric_csv: header has ", header.size(), " names for ", v.size(1), " columns");
  std::ostringstream out;
  out << std::setprecision(std::numeric_limits<double>::max_digits10);
  for (size_t i = 0; i < header.size(); ++i) out << (i ? "," : "") << header[i];
  if (!header.empty()) out << "\n";
  auto acc = v.accessor<double, 2>();
  for (int64_t r = 0; r < v.size(0); ++r) {
    for (int64_t c = 0; c < v.size(1); ++c) out << (c ? "," : "") << acc[r][c];
    out << "\n";
  }
  write_file_atomic(path, out.str());
}

}  // namespace diffdfl
