#include "diffdfl/core/csv.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "diffdfl/core/atomic_file.h"
#include "diffdfl/core/error.h"

namespace diffdfl {
namespace {

namespace fs = std::filesystem;

fs::path temp_file(const std::string& name, const std::string& content) {
  const fs::path dir = fs::temp_directory_path() / "diffdfl_core_tests";
  fs::create_directories(dir);
  const fs::path p = dir / name;
  std::ofstream(p) << content;
  return p;
}

TEST(Csv, SplitsQuotedFields) {
  const auto f = split_csv_line(
      R"(2008-01-21,Monday,"Birthday of Martin Luther King, Jr.",2008-01-21)", ',', "x");
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[2], "Birthday of Martin Luther King, Jr.");
  EXPECT_EQ(split_csv_line(R"(a,"say ""hi""",c)", ',', "x")[1], "say \"hi\"");
  EXPECT_THROW(split_csv_line(R"(a,"open)", ',', "x"), DataError);
}

TEST(Csv, RaggedRowNamesTheLine) {
  try {
    parse_csv("a,b,c\n1,2,3\n4,5\n", "t.csv");
    FAIL() << "expected DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("t.csv:3"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("expected 3 fields"), std::string::npos) << e.what();
  }
}

TEST(Csv, ParseDoubleRejectsTextAndNonFinite) {
  EXPECT_DOUBLE_EQ(parse_double(" 1.5e-3 ", "w"), 1.5e-3);
  EXPECT_DOUBLE_EQ(parse_double("+2", "w"), 2.0);
  EXPECT_THROW(parse_double("abc", "w"), DataError);
  EXPECT_THROW(parse_double("1.0x", "w"), DataError);
  EXPECT_THROW(parse_double("nan", "w"), DataError);
  EXPECT_THROW(parse_double("inf", "w"), DataError);
  EXPECT_THROW(parse_double("", "w"), DataError);
}

TEST(Csv, NumericFileWithOptionalHeader) {
  const auto with = temp_file("h.csv", "y0,y1\n1,2\n3,4.5\n");
  const auto without = temp_file("n.csv", "1,2\n3,4.5\n");
  const torch::Tensor a = read_numeric_csv(with);
  const torch::Tensor b = read_numeric_csv(without);
  ASSERT_EQ(a.sizes(), torch::IntArrayRef({2, 2}));
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_DOUBLE_EQ(a[1][1].item<double>(), 4.5);
  const auto bad = temp_file("bad.csv", "1,2\n3,oops\n");
  try {
    read_numeric_csv(bad);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.csv:2, column 2"), std::string::npos) << e.what();
  }
}

/// The DataError message of parse_numeric_csv(text), or "" when it parses.
std::string numeric_error(const std::string& text) {
  try {
    parse_numeric_csv(text, "a.csv");
  } catch (const DataError& e) {
    return e.what();
  }
  return "";
}

TEST(Csv, AFirstRowWithABadFieldIsAnErrorNotAHeader) {
  // The issue's example: a typo in the first row must not make it a silently dropped "header".
  EXPECT_NE(numeric_error("0.01,0.02x\n0.03,0.01\n-0.02,0.04\n").find("a.csv:1, column 2"),
            std::string::npos);
  EXPECT_NE(numeric_error("0.01,0.02x\n0.03,0.01\n").find("'0.02x' is not a number"),
            std::string::npos);
  EXPECT_NE(numeric_error("0.01,\n0.03,0.01\n").find("a.csv:1, column 2: empty field"),
            std::string::npos);
  const std::string nul = numeric_error(std::string("0.01,\0\n0.03,0.01\n", 17));
  EXPECT_NE(nul.find("a.csv:1, column 2"), std::string::npos) << nul;
  EXPECT_NE(nul.find("\\x00"), std::string::npos) << "control bytes are shown escaped: " << nul;
  EXPECT_EQ(nul.find('\0'), std::string::npos);
  // Mixed names and numbers, or a name that starts with a digit: data, so an error.
  EXPECT_NE(numeric_error("y0,1\n1,2\n").find("a.csv:1, column 1"), std::string::npos);
  EXPECT_NE(numeric_error("1a,1b\n1,2\n").find("a.csv:1, column 1"), std::string::npos);
}

TEST(Csv, ARealHeaderIsRecognisedAndNamesColumnsInErrors) {
  const torch::Tensor t = parse_numeric_csv("y0,load (GW)\n1,2\n3,4\n", "a.csv");
  ASSERT_EQ(t.sizes(), torch::IntArrayRef({2, 2}));
  EXPECT_DOUBLE_EQ(t[0][0].item<double>(), 1.0);
  EXPECT_NE(numeric_error("y0,y1\n1,2\n3,x\n").find("a.csv:3, column 2 'y1'"), std::string::npos);
  EXPECT_NE(numeric_error("y0,y1\n").find("header but no data rows"), std::string::npos);
  EXPECT_TRUE(is_header_name("_a"));
  EXPECT_FALSE(is_header_name("nan"));  // a number to from_chars: data, and then an error
  EXPECT_FALSE(is_header_name("inf"));
  EXPECT_FALSE(is_header_name(""));
  EXPECT_FALSE(is_header_name(std::string("a\0", 2)));  // "a" and a NUL byte
  EXPECT_NE(numeric_error("1e999,1\n").find("out of the range of float64"), std::string::npos);
}

TEST(AtomicFile, ReplacesContentAndLeavesNoTemporary) {
  const fs::path dir = fs::temp_directory_path() / "diffdfl_atomic_test";
  fs::remove_all(dir);
  write_file_atomic(dir / "m.json", "first");
  write_file_atomic(dir / "m.json", "second");
  EXPECT_EQ(read_file(dir / "m.json"), "second");
  size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir))
    ++files;
  EXPECT_EQ(files, 1u);
  EXPECT_THROW(write_atomic_with(dir / "x", [](const std::string&) { throw IoError("boom"); }),
               IoError);
  EXPECT_FALSE(fs::exists(dir / "x"));
}

}  // namespace
}  // namespace diffdfl
