// Fuzzes the portfolio dataset loader from its files' content (data/portfolio.h): the ticker list,
// then the (uncompressed) price CSV, separated by "\n%%\n"; the first byte picks the number of
// assets and the asset universe. Any content gives a dataset or a diffdfl::Error.
#include <cstdint>
#include <string>

#include "diffdfl/core/error.h"
#include "diffdfl/data/portfolio.h"
#include "fuzz_dataset.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  diffdfl::data::PortfolioOptions o;
  o.n_assets = 1 + data[0] % 4;
  o.verified_only = (data[0] & 0x80) != 0;
  const auto parts = diffdfl::fuzzing::split_parts(data + 1, size - 1, 2);
  try {
    const diffdfl::data::PriceTable prices = diffdfl::data::parse_price_table(parts[1], "p.csv");
    const diffdfl::data::Dataset ds =
        diffdfl::data::portfolio_dataset({"tickers.csv", parts[0]}, prices, o);
    diffdfl::fuzzing::trap_unless_finite(ds);
  } catch (const diffdfl::Error&) {
  }
  return 0;
}
