// The S&P 500 portfolio data: split sizes, seeded asset choice, hand-checked features of two
// (date, asset) pairs, raw targets, training-only standardisation and — most important — a
// look-ahead test: changing every price after date d leaves the features of d unchanged while the
// target of d (the return from d to d+1) changes.
#include "diffdfl/data/portfolio.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <charconv>
#include <memory>
#include <set>
#include <tuple>

#include "data_test_util.h"
#include "diffdfl/core/atomic_file.h"
#include "diffdfl/core/csv.h"
#include "diffdfl/core/error.h"
#include "diffdfl/core/gzip_file.h"
#include "diffdfl/core/seed.h"

namespace diffdfl::data {
namespace {

using testing::expect_error;
using testing::shipped_data_dir;
using testing::TempDir;
namespace fs = std::filesystem;

const char* const kPrices = "stock_portfolio/sp500_adj_close_2004-2016.csv.gz";
const char* const kTickers = "stock_portfolio/sp500_tickers.csv";

class PortfolioData : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    PortfolioOptions o;
    o.data_dir = shipped_data_dir().string();
    ds_ = std::make_unique<Dataset>(load_portfolio(o));
  }
  static void TearDownTestSuite() { ds_.reset(); }
  static std::unique_ptr<Dataset> ds_;
};
std::unique_ptr<Dataset> PortfolioData::ds_;

int64_t index_of(const std::vector<std::string>& v, const std::string& s) {
  const auto it = std::find(v.begin(), v.end(), s);
  EXPECT_NE(it, v.end()) << s;
  return it - v.begin();
}

TEST_F(PortfolioData, SplitSizesAndDates) {
  const Dataset& ds = *ds_;
  EXPECT_EQ(ds.x_dim, 50 * 28);
  EXPECT_EQ(ds.y_dim, 50);
  EXPECT_EQ(ds.train.x.sizes(), torch::IntArrayRef({2028, 1400}));
  EXPECT_EQ(ds.hold.x.sizes(), torch::IntArrayRef({289, 1400}));
  EXPECT_EQ(ds.test.x.sizes(), torch::IntArrayRef({581, 1400}));
  EXPECT_EQ(ds.test.y.sizes(), torch::IntArrayRef({581, 50}));
  // Price rows 365 .. 3262 of the 3,273 trading days 2004-01-02 .. 2016-12-30.
  EXPECT_EQ(ds.meta["first_date"], "2005-06-15");
  EXPECT_EQ(ds.meta["last_date"], "2016-12-15");
  EXPECT_EQ(ds.train.dates.front(), "2005-06-15");
  EXPECT_LT(ds.train.dates.back(), ds.hold.dates.front());
  EXPECT_LT(ds.hold.dates.back(), ds.test.dates.front());
  EXPECT_EQ(ds.test.dates.back(), "2016-12-15");
  EXPECT_EQ(ds.meta["price_rows"]["first"], 365);
  EXPECT_EQ(ds.meta["price_rows"]["last"], 3262);
  EXPECT_EQ(ds.meta["feature_names"].size(), 28u);
  EXPECT_EQ(ds.meta["universe"], "complete");
  EXPECT_EQ(ds.meta["pool_size"], 392);
}

TEST_F(PortfolioData, SeedChoosesTheAssets) {
  const auto tickers = ds_->meta["tickers"].get<std::vector<std::string>>();
  ASSERT_EQ(tickers.size(), 50u);
  EXPECT_TRUE(std::is_sorted(tickers.begin(), tickers.end()));
  EXPECT_EQ(std::set<std::string>(tickers.begin(), tickers.end()).size(), 50u);

  PortfolioOptions o;
  o.data_dir = shipped_data_dir().string();
  o.n_assets = 10;
  o.seed = 1;
  const auto a = load_portfolio(o).meta["tickers"].get<std::vector<std::string>>();
  const auto b = load_portfolio(o).meta["tickers"].get<std::vector<std::string>>();
  EXPECT_EQ(a, b);
  o.seed = 2;
  const Dataset c = load_portfolio(o);
  EXPECT_NE(a, c.meta["tickers"].get<std::vector<std::string>>());

  // --verified-only draws from the 191 verified tickers of sp500_tickers.csv.
  o.verified_only = true;
  o.n_assets = 30;
  const Dataset v = load_portfolio(o);
  EXPECT_EQ(v.meta["universe"], "verified");
  EXPECT_EQ(v.meta["pool_size"], 191);
  const CsvTable info = parse_csv(read_file(shipped_data_dir() / kTickers), kTickers);
  std::set<std::string> verified;
  for (const auto& row : info.rows) {
    if (row[info.column("verified")] == "true") verified.insert(row[info.column("symbol")]);
  }
  for (const auto& t : v.meta["tickers"])
    EXPECT_TRUE(verified.count(t.get<std::string>())) << t;
}

// Literal values computed from the raw .gz by tests/data/reference_values.py (plain Python, its own
// return/rolling code): AAPL on 2010-06-15 (price row 1623) and XOM on 2008-10-10 (price row 1202).
TEST(Portfolio, HandComputedFeaturesAndTargets) {
  PortfolioOptions o;
  o.data_dir = shipped_data_dir().string();
  o.tickers = {"XOM", "AAPL"};  // explicit order: asset 0 = XOM, asset 1 = AAPL
  o.standardize = false;
  const Dataset ds = load_portfolio(o);
  EXPECT_EQ(ds.meta["universe"], "explicit");
  EXPECT_EQ(ds.meta["tickers"], nlohmann::json({"XOM", "AAPL"}));
  const std::vector<double> aapl = {
      0.021275759006280204,  0.0030373555274938457, 0.011975569838151623,  0.030057565790012397,
      -0.024585890185951698, -0.006415876305458923, -0.019631590256105502, -0.027192915779783222,
      -0.003144534949653388, 0.011961814208011345,  0.015376829647437473,  2.0426479203263272,
      0.31004388841327435,   -0.02500469307328279,  0.014552770887106048,  0.002244699059203135,
      0.0004174188446641018, 5.306420019376468,     2.590056535949303,     7.029819593320251,
      0.5117694574587668,    7.759678951672001,     0.049352184798730096,  7.740111382724285,
      0.024221473904202446,  7.868977020596667,     0.010731081844346575,  7.98780935977};
  const std::vector<double> xom = {
      -0.08294117647050181,  -0.11688311688438258, 0.01222558170273813,     -0.016166580445434287,
      -0.00795483705389366,  0.005677419354069846, -0.013743955203942892,   0.011846510428653145,
      0.04860923575491016,   -0.08171109733372228, -0.00024792363957359953, -0.1978058221424791,
      -0.33296519632156485,  -0.23183050012400863, -0.2064138457621053,     -0.031398095000192465,
      0.0023892085297373936, 54.37510986714742,    9.857994106829949,       53.071982298110846,
      14.70142419138774,     48.83090075932,       5.4286785906486985,      47.16913579397143,
      15.21408729726375,     44.213011996666665,   22.308690695538363,      39.8889384854};

  const auto check = [&](const std::string& date, int64_t asset, const std::vector<double>& want,
                         double target) {
    // Dates 2005-06-15 .. : find the split and row holding `date`.
    for (const char* name : {"train", "hold", "test"}) {
      const Split& s = ds.split(name);
      const auto it = std::find(s.dates.begin(), s.dates.end(), date);
      if (it == s.dates.end()) continue;
      const int64_t row = it - s.dates.begin();
      const torch::Tensor f = portfolio_feature_view(s.x, 2)[row][asset];
      for (int64_t k = 0; k < 28; ++k) {
        const double got = f[k].item<double>();
        EXPECT_NEAR(got, want[k], 1e-12 * std::max(1.0, std::abs(want[k])))
            << date << " feature " << ds.meta["feature_names"][k];
      }
      EXPECT_NEAR(s.y[row][asset].item<double>(), target, 1e-15) << date;
      return;
    }
    ADD_FAILURE() << date << " not found";
  };
  check("2010-06-15", 1, aapl, 0.029111633100704637);
  check("2008-10-10", 0, xom, 0.17190506735118616);
}

TEST(Portfolio, TargetIsTheRawNextDayReturnAndLayoutIsAssetMajor) {
  const PriceTable prices = read_price_table(shipped_data_dir() / kPrices);
  ASSERT_EQ(prices.close.sizes(), torch::IntArrayRef({3273, 392}));
  EXPECT_EQ(prices.dates.front(), "2004-01-02");
  EXPECT_EQ(prices.dates.back(), "2016-12-30");
  PortfolioOptions o;
  o.data_dir = shipped_data_dir().string();
  o.tickers = {"MSFT", "AAPL", "JPM"};
  const Dataset ds = load_portfolio(o);  // standardised x, raw y
  const torch::Tensor close =
      torch::stack({prices.close.select(1, index_of(prices.tickers, "MSFT")),
                    prices.close.select(1, index_of(prices.tickers, "AAPL")),
                    prices.close.select(1, index_of(prices.tickers, "JPM"))},
                   1);
  const torch::Tensor y = torch::cat({ds.train.y, ds.hold.y, ds.test.y});
  const torch::Tensor want = close.slice(0, 366, 3264) / close.slice(0, 365, 3263) - 1;
  EXPECT_TRUE(torch::equal(y, want));
  // x[i, a*28 + f] == view[i][a][f]; the standardisation is per (asset, feature) column and uses
  // the 2,028 training dates only.
  const torch::Tensor feats = portfolio_features(close).slice(0, 365, 3263);  // [2898, 3, 28]
  const torch::Tensor raw_train = feats.slice(0, 0, 2028).reshape({2028, 84});
  const torch::Tensor mean = raw_train.mean(0);
  const torch::Tensor sd = raw_train.std(0, /*unbiased=*/false);
  const torch::Tensor expected = ((feats.reshape({2898, 84}) - mean) / sd).view({2898, 3, 28});
  EXPECT_TRUE(
      torch::allclose(portfolio_feature_view(ds.test.x, 3), expected.slice(0, 2317), 1e-12, 1e-10));
  EXPECT_TRUE(torch::allclose(portfolio_feature_view(ds.train.x, 3), expected.slice(0, 0, 2028),
                              1e-12, 1e-10));
  EXPECT_EQ(ds.meta["standardization"]["mean"].size(), 84u);
}

// Unit level: on random prices, the features of row t never depend on rows after t.
TEST(Portfolio, FeaturesUseNoFuturePricesUnitLevel) {
  auto gen = make_generator(9);
  const torch::Tensor close =
      torch::exp(0.02 * torch::randn({420, 3}, gen, torch::dtype(torch::kDouble)).cumsum(0)) * 50;
  const torch::Tensor base = portfolio_features(close);
  EXPECT_TRUE(torch::isfinite(base.slice(0, 365)).all().item<bool>());
  EXPECT_TRUE(torch::isnan(base[364][0][11]).item<bool>());  // 365-row return needs row t-365
  for (const int64_t t : {365, 380, 418}) {
    torch::Tensor changed = close.clone();
    changed.slice(0, t + 1).mul_(torch::rand({420 - t - 1, 3}, gen, torch::dtype(torch::kDouble)) +
                                 0.5);
    const torch::Tensor f = portfolio_features(changed);
    EXPECT_TRUE(
        torch::equal(f.slice(0, 0, t + 1).nan_to_num(-7), base.slice(0, 0, t + 1).nan_to_num(-7)))
        << "t = " << t;
    EXPECT_FALSE(torch::equal(f[t + 1], base[t + 1])) << "t = " << t;
    EXPECT_NE(next_returns(changed)[t][0].item<double>(), next_returns(close)[t][0].item<double>());
  }
}

// End to end: a data folder whose prices after date d are all changed (checksums updated) gives the
// same features for every date up to d, a different target for d, and different features after d.
TEST(Portfolio, LookAheadEndToEnd) {
  const std::string d = "2012-03-14";
  TempDir tmp;
  testing::copy_data_files(tmp.path(), {kTickers});
  const std::string text = read_gzip_file(shipped_data_dir() / kPrices);
  std::string changed;
  changed.reserve(text.size() + 1024);
  bool after = false;
  size_t pos = 0;
  int64_t rows_changed = 0;
  while (pos < text.size()) {
    const size_t end = text.find('\n', pos);
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (!after) {
      changed += line + "\n";
      after = line.compare(0, d.size(), d) == 0;
      continue;
    }
    // Multiply every price of this later row by a factor in [0.8, 1.2) that varies by row and
    // column.
    size_t start = 0, col = 0;
    while (true) {
      const size_t comma = line.find(',', start);
      const std::string cell =
          line.substr(start, comma == std::string::npos ? comma : comma - start);
      if (col == 0) {
        changed += cell;
      } else {
        const double factor =
            0.8 + 0.4 * static_cast<double>((rows_changed * 31 + col * 17) % 97) / 97;
        char buf[32];
        const auto r = std::to_chars(buf, buf + sizeof(buf), std::stod(cell) * factor);
        changed += "," + std::string(buf, r.ptr);
      }
      if (comma == std::string::npos) break;
      start = comma + 1;
      ++col;
    }
    changed += "\n";
    ++rows_changed;
  }
  ASSERT_TRUE(after) << d << " not found";
  ASSERT_EQ(rows_changed, 3272 - 2064);  // price rows 2065 .. 3272: 2012-03-15 .. 2016-12-30
  fs::create_directories(tmp.path() / "stock_portfolio");
  testing::write_gzip(tmp.path() / kPrices, changed);
  testing::write_matching_manifest(tmp.path(), {kTickers, kPrices});

  PortfolioOptions o;
  o.tickers = {"AAPL", "GE", "XOM", "ZION"};
  o.standardize = false;
  o.data_dir = shipped_data_dir().string();
  const Dataset orig = load_portfolio(o);
  o.data_dir = tmp.path().string();
  const Dataset alt = load_portfolio(o);

  // With standardize = false the rows are the raw features; concatenate the three splits.
  const auto all = [](const Dataset& ds) {
    std::vector<std::string> dates = ds.train.dates;
    dates.insert(dates.end(), ds.hold.dates.begin(), ds.hold.dates.end());
    dates.insert(dates.end(), ds.test.dates.begin(), ds.test.dates.end());
    return std::make_tuple(torch::cat({ds.train.x, ds.hold.x, ds.test.x}),
                           torch::cat({ds.train.y, ds.hold.y, ds.test.y}), dates);
  };
  const auto [x0, y0, dates0] = all(orig);
  const auto [x1, y1, dates1] = all(alt);
  ASSERT_EQ(dates0, dates1);
  const int64_t row = index_of(dates0, d);
  ASSERT_EQ(row, 2064 - 365);
  // Features: identical for every date up to and including d.
  EXPECT_TRUE(torch::equal(x0.slice(0, 0, row + 1), x1.slice(0, 0, row + 1)));
  // Targets: identical before d; the target of d is Close_{d+1} / Close_d - 1, so it changes.
  EXPECT_TRUE(torch::equal(y0.slice(0, 0, row), y1.slice(0, 0, row)));
  EXPECT_TRUE((y0[row] != y1[row]).all().item<bool>());
  // The features of the day after d see the changed price.
  EXPECT_TRUE((x0[row + 1] != x1[row + 1]).any().item<bool>());
}

TEST(Portfolio, OptionsAreValidated) {
  PortfolioOptions o;
  o.data_dir = shipped_data_dir().string();
  o.n_assets = 0;
  expect_error<InvalidArgument>([&] { load_portfolio(o); }, {"PortfolioOptions.n_assets"});
  o.n_assets = 393;
  expect_error<InvalidArgument>([&] { load_portfolio(o); },
                                {"PortfolioOptions.n_assets = 393", "392 complete"});
  o.n_assets = 192;
  o.verified_only = true;
  expect_error<InvalidArgument>([&] { load_portfolio(o); }, {"191 verified"});
  o = PortfolioOptions{};
  o.data_dir = shipped_data_dir().string();
  o.tickers = {"AAPL", "NOPE"};
  expect_error<InvalidArgument>([&] { load_portfolio(o); }, {"PortfolioOptions.tickers", "'NOPE'"});
  o.tickers = {"AAPL", "AAPL"};
  expect_error<InvalidArgument>([&] { load_portfolio(o); }, {"'AAPL' is listed twice"});
  o = PortfolioOptions{};
  o.train_fraction = 0.95;
  expect_error<InvalidArgument>([&] { load_portfolio(o); }, {"train_fraction + hold_fraction"});
}

}  // namespace
}  // namespace diffdfl::data
