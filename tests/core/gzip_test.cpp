// gunzip from memory: the reader of the portfolio's price file, with named errors for anything that
// is not complete gzip data.
#include "diffdfl/core/gzip_file.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

#include "diffdfl/core/error.h"

namespace diffdfl {
namespace {

/// `text` as one gzip member.
std::string gzip(const std::string& text) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, text.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string error_of(const std::string& bytes) {
  try {
    gunzip(bytes, "p.csv.gz");
  } catch (const DataError& e) {
    return e.what();
  }
  return "";
}

TEST(Gzip, DecompressesOneOrMoreMembers) {
  const std::string text(100000, 'a');
  EXPECT_EQ(gunzip(gzip(text), "p.csv.gz"), text);
  EXPECT_EQ(gunzip(gzip("date,A\n") + gzip("2004-01-02,1\n"), "p.csv.gz"),
            "date,A\n2004-01-02,1\n");
  EXPECT_EQ(gunzip(gzip(""), "p.csv.gz"), "");
}

TEST(Gzip, DamageIsANamedError) {
  const std::string gz = gzip(std::string(5000, 'b') + "tail");
  EXPECT_NE(error_of("plain text").find("p.csv.gz: not gzip-compressed data"), std::string::npos);
  EXPECT_NE(error_of("").find("not gzip"), std::string::npos);
  EXPECT_NE(error_of(gz.substr(0, gz.size() / 2)).find("truncated or corrupt"), std::string::npos);
  std::string flipped = gz;
  flipped[gz.size() - 6] ^= 0x40;  // inside the CRC-32 trailer
  EXPECT_NE(error_of(flipped).find("corrupt gzip data"), std::string::npos) << error_of(flipped);
  EXPECT_NE(error_of(gz + "junk").find("p.csv.gz"), std::string::npos);
}

}  // namespace
}  // namespace diffdfl
