// Bad data gives a named error: a missing folder or file, a wrong checksum, a truncated file, a
// non-numeric field, a NaN, a bad date, a malformed manifest. Each test writes copies of the
// shipped files into a temporary folder, with a SHA256SUMS that matches them (so that the parser,
// not the checksum, must catch the problem) unless the checksum itself is under test.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "data_test_util.h"
#include "diffdfl/core/atomic_file.h"
#include "diffdfl/core/error.h"
#include "diffdfl/core/gzip_file.h"
#include "diffdfl/data/calendar.h"
#include "diffdfl/data/dataset.h"
#include "diffdfl/data/manifest.h"
#include "diffdfl/data/portfolio.h"
#include "diffdfl/data/power.h"

namespace diffdfl::data {
namespace {

using testing::expect_error;
using testing::shipped_data_dir;
using testing::TempDir;
namespace fs = std::filesystem;

const char* const kLoad08 = "power_sched/pjm_load_data_2008-11.txt";
const char* const kLoad12 = "power_sched/pjm_load_data_2012-16.txt";
const char* const kHolidays = "power_sched/us_federal_holidays_2008-2016.csv";
const char* const kPrices = "stock_portfolio/sp500_adj_close_2004-2016.csv.gz";
const char* const kTickers = "stock_portfolio/sp500_tickers.csv";
const std::vector<std::string> kPowerFiles = {kLoad08, kLoad12, kHolidays};

// A temp copy of the power files where `rel` is replaced by `content`, with a matching manifest.
PowerOptions power_with(const TempDir& tmp, const std::string& rel, const std::string& content) {
  testing::copy_data_files(tmp.path(), kPowerFiles);
  write_file_atomic(tmp.path() / rel, content);
  testing::write_matching_manifest(tmp.path(), kPowerFiles);
  PowerOptions o;
  o.data_dir = tmp.path().string();
  return o;
}

std::string shipped(const std::string& rel) {
  return read_file(shipped_data_dir() / rel);
}

TEST(BadInput, MissingDataDirectorySuggestsDataDir) {
  PowerOptions o;
  o.data_dir = "/nonexistent/diffdfl-data";
  expect_error<DataError>(
      [&] { load_power(o); },
      {"data directory '/nonexistent/diffdfl-data' does not exist", "--data-dir"});
}

TEST(BadInput, MissingFileNamesItAndHowToRestore) {
  TempDir tmp;
  testing::copy_data_files(tmp.path(), {kLoad08, kHolidays});
  testing::copy_bytes(shipped_data_dir() / "SHA256SUMS", tmp.path() / "SHA256SUMS");
  PowerOptions o;
  o.data_dir = tmp.path().string();
  expect_error<DataError>([&] { load_power(o); },
                          {"pjm_load_data_2012-16.txt: data file not found",
                           "git checkout -- data/power_sched/pjm_load_data_2012-16.txt"});
}

TEST(BadInput, MissingManifest) {
  TempDir tmp;
  testing::copy_data_files(tmp.path(), kPowerFiles);
  PowerOptions o;
  o.data_dir = tmp.path().string();
  expect_error<DataError>([&] { load_power(o); }, {"SHA256SUMS: checksum manifest not found"});
  o.verify_checksums = false;  // explicitly opting out reads the files anyway
  EXPECT_EQ(load_power(o).test.size(), 639);
}

TEST(BadInput, WrongChecksumOfAnAlteredFile) {
  TempDir tmp;
  testing::copy_data_files(tmp.path(), kPowerFiles);
  testing::copy_bytes(shipped_data_dir() / "SHA256SUMS", tmp.path() / "SHA256SUMS");
  // One digit changed: still a perfectly parseable file.
  std::string text = shipped(kLoad08);
  text[20] = text[20] == '7' ? '8' : '7';
  write_file_atomic(tmp.path() / kLoad08, text);
  PowerOptions o;
  o.data_dir = tmp.path().string();
  expect_error<DataError>(
      [&] { load_power(o); },
      {"pjm_load_data_2008-11.txt: SHA-256 mismatch (expected "
       "8dc80051563e406fa077064155d0dcef32f335165381b8aebf3f43cebfb9470b, found",
       "altered or truncated", "git checkout -- data/power_sched/pjm_load_data_2008-11.txt"});
  // The same check through verify_data_file for the portfolio's gzip file.
  testing::copy_data_files(tmp.path(), {kPrices});
  std::string gz = read_file(tmp.path() / kPrices);
  gz[1000] = static_cast<char>(gz[1000] ^ 0x01);
  write_file_atomic(tmp.path() / kPrices, gz);
  expect_error<DataError>([&] { verify_data_file(tmp.path(), kPrices); },
                          {"sp500_adj_close_2004-2016.csv.gz: SHA-256 mismatch"});
}

TEST(BadInput, TruncatedPowerFile) {
  const std::string text = shipped(kLoad08);
  // Cut in the middle of line 1001, after its second field: the line has 2 fields.
  size_t pos = 0;
  for (int i = 0; i < 1000; ++i)
    pos = text.find('\n', pos) + 1;
  const size_t second_space = text.find(' ', text.find(' ', pos + 1) + 1);
  {
    TempDir tmp;
    const PowerOptions o = power_with(tmp, kLoad08, text.substr(0, second_space));
    expect_error<DataError>(
        [&] { load_power(o); },
        {"pjm_load_data_2008-11.txt:1001: expected 3 fields", "found 2", "truncated"});
  }
  {  // Cut inside the last number: three fields, but no final newline.
    TempDir tmp;
    const PowerOptions o = power_with(tmp, kLoad08, text.substr(0, second_space + 5));
    expect_error<DataError>(
        [&] { load_power(o); },
        {"pjm_load_data_2008-11.txt:1001: the last line has no newline", "truncated"});
  }
}

TEST(BadInput, NonNumericFieldNamesFileLineAndField) {
  const std::string text = testing::edit_line(shipped(kLoad12), 17, [](const std::string& line) {
    return line.substr(0, line.rfind(' ', line.rfind(' ') - 1)) + " 1.5abc " +
           line.substr(line.rfind(' ') + 1);
  });
  TempDir tmp;
  const PowerOptions o = power_with(tmp, kLoad12, text);
  expect_error<DataError>([&] { load_power(o); },
                          {"pjm_load_data_2012-16.txt:17, field 'load': '1.5abc' is not a number"});
}

TEST(BadInput, NaNInPowerFile) {
  const std::string text = testing::edit_line(shipped(kLoad08), 5, [](const std::string& line) {
    return line.substr(0, line.rfind(' ')) + " nan";
  });
  TempDir tmp;
  const PowerOptions o = power_with(tmp, kLoad08, text);
  expect_error<DataError>([&] { load_power(o); },
                          {"pjm_load_data_2008-11.txt:5, field 'temperature'", "NaN or Inf"});
}

TEST(BadInput, AbsurdValuesThatParseAreRejectedWhereTheyAreRead) {
  // A load of 1e300 in the test period parses as a number; it would only blow up the costs of a
  // run long after the run directory was made. It is refused by file, line and field.
  const std::string text = shipped(kLoad12);
  const size_t lines = static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
  const std::string edited = testing::edit_line(text, lines - 10, [](const std::string& line) {
    const size_t last = line.rfind(' ');
    const size_t load = line.rfind(' ', last - 1);
    return line.substr(0, load) + " 1e300" + line.substr(last);
  });
  {
    TempDir tmp;
    const PowerOptions o = power_with(tmp, kLoad12, edited);
    expect_error<DataError>(
        [&] { load_power(o); },
        {"pjm_load_data_2012-16.txt:" + std::to_string(lines - 10) + ", field 'load'",
         "plausible range"});
  }
  const std::string hot = testing::edit_line(
      text, 5, [](const std::string& line) { return line.substr(0, line.rfind(' ')) + " 900"; });
  TempDir tmp;
  const PowerOptions o = power_with(tmp, kLoad12, hot);
  expect_error<DataError>([&] { load_power(o); },
                          {"pjm_load_data_2012-16.txt:5, field 'temperature'", "plausible range"});
}

TEST(BadInput, BadHolidayDate) {
  const std::string text = testing::edit_line(shipped(kHolidays), 3, [](const std::string& line) {
    return "2008-02-30" + line.substr(10);
  });
  TempDir tmp;
  const PowerOptions o = power_with(tmp, kHolidays, text);
  expect_error<DataError>(
      [&] { load_power(o); },
      {"us_federal_holidays_2008-2016.csv:3, column 'date'", "'2008-02-30' is not a date"});
}

TEST(BadInput, MalformedManifestLine) {
  TempDir tmp;
  testing::copy_data_files(tmp.path(), kPowerFiles);
  testing::write_matching_manifest(tmp.path(), kPowerFiles);
  std::string m = read_file(tmp.path() / "SHA256SUMS");
  write_file_atomic(tmp.path() / "SHA256SUMS", m + "not-a-digest  power_sched/x.txt\n");
  expect_error<DataError>([&] { read_manifest(tmp.path()); },
                          {"SHA256SUMS:4: expected '<64 hex digits>  <relative path>'"});
  // A manifest without the file's line.
  write_file_atomic(tmp.path() / "SHA256SUMS", m.substr(0, m.find('\n') + 1));
  expect_error<DataError>([&] { verify_data_file(tmp.path(), kHolidays); },
                          {"no checksum for 'power_sched/us_federal_holidays_2008-2016.csv'"});
}

// Price-file parser on small hand-written files (the format of the shipped .gz).
class PriceFile : public ::testing::Test {
 protected:
  fs::path write(const std::string& csv) {
    const fs::path p = tmp_.path() / "prices.csv.gz";
    testing::write_gzip(p, csv);
    return p;
  }
  TempDir tmp_;
};

TEST_F(PriceFile, ParsesAWellFormedFile) {
  const PriceTable t = read_price_table(write("date,A,B\n2004-01-02,1.5,2\n2004-01-05,1.25,2.5\n"));
  EXPECT_EQ(t.tickers, (std::vector<std::string>{"A", "B"}));
  EXPECT_EQ(t.dates, (std::vector<std::string>{"2004-01-02", "2004-01-05"}));
  EXPECT_TRUE(
      torch::equal(t.close, torch::tensor({1.5, 2.0, 1.25, 2.5}, torch::kDouble).view({2, 2})));
}

TEST_F(PriceFile, NamedErrors) {
  expect_error<DataError>([&] { read_price_table(write("date,A,B\n2004-01-02,1.5,NaN\n")); },
                          {"prices.csv.gz:2, column 'B'", "NaN or Inf"});
  expect_error<DataError>([&] { read_price_table(write("date,A,B\n2004-01-02,1.5,x2\n")); },
                          {"prices.csv.gz:2, column 'B': 'x2' is not a number"});
  expect_error<DataError>(
      [&] { read_price_table(write("date,A,B\n2004-01-02,1.5,2\n2004-01-05,1.5\n")); },
      {"prices.csv.gz:3: expected 3 fields, found 2"});
  expect_error<DataError>(
      [&] { read_price_table(write("date,A,B\n2004-01-02,1.5,2\n2004-01-05,1")); },
      {"does not end with a newline", "truncated"});
  expect_error<DataError>([&] { read_price_table(write("date,A,B\n2004-01-02,1.5,-2\n")); },
                          {"prices.csv.gz:2, column 'B': price '-2' must be > 0"});
  expect_error<DataError>([&] { read_price_table(write("date,A,B\n2004-01-02,1.5,1e300\n")); },
                          {"prices.csv.gz:2, column 'B': price '1e300' is implausible"});
  expect_error<DataError>([&] { read_price_table(write("date,A\n2004-01-05,1\n2004-01-02,1\n")); },
                          {"prices.csv.gz:3, column 'date'", "strictly increasing"});
  expect_error<DataError>([&] { read_price_table(write("day,A\n2004-01-05,1\n")); },
                          {"prices.csv.gz:1: expected the header 'date,<ticker>,...'"});
}

TEST(BadInput, TruncatedGzipAndPortfolioEndToEnd) {
  TempDir tmp;
  testing::copy_data_files(tmp.path(), {kTickers});
  const std::string gz = read_file(shipped_data_dir() / kPrices);
  write_file_atomic(tmp.path() / kPrices, gz.substr(0, gz.size() / 2));
  testing::write_matching_manifest(tmp.path(), {kTickers, kPrices});
  PortfolioOptions o;
  o.data_dir = tmp.path().string();
  expect_error<DataError>([&] { load_portfolio(o); },
                          {"sp500_adj_close_2004-2016.csv.gz", "corrupt gzip data"});
  // A NaN price in the real file, through the whole loader (line 10 = 2004-01-14, AAPL column).
  std::string csv = read_gzip_file(shipped_data_dir() / kPrices);
  csv = testing::edit_line(csv, 10, [](const std::string& line) {
    // AAPL is the third ticker: replace the 4th comma-separated field.
    size_t p = 0;
    for (int i = 0; i < 3; ++i)
      p = line.find(',', p) + 1;
    return line.substr(0, p) + "nan" + line.substr(line.find(',', p));
  });
  testing::write_gzip(tmp.path() / kPrices, csv);
  testing::write_matching_manifest(tmp.path(), {kTickers, kPrices});
  expect_error<DataError>([&] { load_portfolio(o); },
                          {"sp500_adj_close_2004-2016.csv.gz:10, column 'AAPL'", "NaN or Inf"});
}

TEST(Calendar, CivilDatesAndLocalTime) {
  const CivilDate d = parse_iso_date("2016-02-29", "w");
  EXPECT_EQ(d.weekday(), 0);  // Monday
  EXPECT_EQ(d.day_of_year(), 60);
  EXPECT_EQ(CivilDate::from_days(d.days() + 1).iso(), "2016-03-01");
  EXPECT_EQ(CivilDate::from_days(0).iso(), "1970-01-01");
  expect_error<DataError>([] { parse_iso_date("2015-02-29", "f.csv:2"); },
                          {"f.csv:2: '2015-02-29' is not a date"});
  // 1199167200 = 2008-01-01 06:00 UTC = 01:00 EST; 1215000000 = 2008-07-02 12:00 UTC = 08:00 EDT.
  const auto t = to_local_times({1199167200, 1215000000}, "America/New_York");
  EXPECT_EQ(t[0].date.iso(), "2008-01-01");
  EXPECT_EQ(t[0].hour, 1);
  EXPECT_FALSE(t[0].dst);
  EXPECT_EQ(t[1].date.iso(), "2008-07-02");
  EXPECT_EQ(t[1].hour, 8);
  EXPECT_EQ(t[1].minute, 0);
  EXPECT_TRUE(t[1].dst);
  expect_error<DataError>([] { to_local_times({0}, "Mars/Olympus_Mons"); },
                          {"time zone 'Mars/Olympus_Mons' not found", "tzdata"});
}

}  // namespace
}  // namespace diffdfl::data
