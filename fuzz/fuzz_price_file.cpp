// Fuzzes the reader of the gzip price file (core/gzip_file.h, data/portfolio.h): the input is the
// compressed file; whatever it holds gives a price table or a DataError.
#include <cstdint>
#include <string>

#include "diffdfl/core/error.h"
#include "diffdfl/core/gzip_file.h"
#include "diffdfl/data/portfolio.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    const std::string csv = diffdfl::gunzip(bytes, "fuzz.csv.gz");
    const diffdfl::data::PriceTable t = diffdfl::data::parse_price_table(csv, "fuzz.csv.gz");
    if (t.close.size(0) != static_cast<int64_t>(t.dates.size()) ||
        t.close.size(1) != static_cast<int64_t>(t.tickers.size()) ||
        !(t.close > 0).all().item<bool>())
      __builtin_trap();
  } catch (const diffdfl::Error&) {
  }
  return 0;
}
