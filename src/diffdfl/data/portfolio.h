// The portfolio task: daily returns of n S&P 500 stocks (as in the authors' code), built by
// explicit (date, asset) indexing so that the features of date d use prices up to d only.
//
// Data: stock_portfolio/sp500_adj_close_2004-2016.csv.gz, `date,<392 tickers>` × 3,273 trading
// days. Assets: n (default 50) tickers drawn with the seed (stream "portfolio.assets") from the 392
// complete tickers, or from the 191 `verified` ones (sp500_tickers.csv), then kept in column
// (ASCII) order. Features of (row t, asset), with Close the adjusted close and r_t = Close_t /
// Close_{t−1} − 1:
//    0      r_t
//    1..10  r_{t−1} .. r_{t−10}
//   11..14  Close_t / Close_{t−k} − 1 for k = 365, 120, 30, 7 (rows = trading days)
//   15, 16  mean and sample variance (ddof 1) of r_{t−6..t}
//   17..26  mean and sample variance of Close_{t−k+1..t} for k = 365, 120, 30, 7, 3 (mean_k, var_k)
//   27      Close_t
// Target of date d: y_d = Close_{d+1} / Close_d − 1 (raw return). Dates: price rows 365 .. T−11
// (the reference's dropna also needed the next 2..10 returns) → 2,898 dates,
// 2005-06-15 .. 2016-12-15; chronological 70/10/20 split: 2,028 train / 289 hold / 581 test dates.
// Each of the n·28 columns is standardised with the mean and population std over the 2,028
// training dates.
// Layout: x[date, a·28 + f] (asset-major); portfolio_feature_view(x, n) is the [dates, n, 28] view.
//
// Example:
//   PortfolioOptions o;
//   o.n_assets = 10;
//   Dataset ds = load_portfolio(o);
//   ds.meta["tickers"];                                     // the 10 chosen tickers
//   torch::Tensor f = portfolio_feature_view(ds.train.x, 10);  // [2028, 10, 28]
//   torch::Tensor best = std::get<0>(ds.test.y.max(1));     // hindsight-optimal daily return
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "diffdfl/data/dataset.h"

namespace diffdfl::data {

inline constexpr int64_t kPortfolioFeatures = 28;
/// The first row with every feature defined (the 365-row windows).
inline constexpr int64_t kPortfolioFirstRow = 365;
/// Rows dropped at the end, as the reference (next 2..10 returns must exist).
inline constexpr int64_t kPortfolioTailRows = 10;

/// Options of load_portfolio.
///
/// Example:
///   PortfolioOptions o;
///   o.tickers = {"AAPL", "XOM"};   // explicit assets: asset 0 = AAPL, asset 1 = XOM
///   o.standardize = false;
///   Dataset ds = load_portfolio(o);   // x [2898 dates split 2028/289/581, 56], y [.., 2]
struct PortfolioOptions {
  std::string data_dir = "data";
  uint64_t seed = 1;
  int64_t n_assets = 50;             ///< number of assets drawn (ignored when `tickers` is set)
  bool verified_only = false;        ///< draw from the verified tickers only
  std::vector<std::string> tickers;  ///< explicit assets instead of a seeded draw
  bool standardize = true;           ///< false: raw features (for inspection and tests)
  bool verify_checksums = true;      ///< check the files against <data_dir>/SHA256SUMS
  double train_fraction = 0.7;       ///< first int(f·D) dates train
  double hold_fraction = 0.1;        ///< next int(f·D) dates hold, the rest test

  /// Throws InvalidArgument naming the bad field.
  void validate() const;
};

/// The wide price file: one row per trading day, one column per ticker.
///
/// Example:
///   PriceTable p = read_price_table("data/stock_portfolio/sp500_adj_close_2004-2016.csv.gz");
///   p.close.sizes();   // [3273, 392]
struct PriceTable {
  std::vector<std::string> dates;    ///< ISO, strictly increasing
  std::vector<std::string> tickers;  ///< header order
  torch::Tensor close;               ///< [dates, tickers] float64, finite and > 0
};

/// The highest adjusted close accepted (prices must lie in (0, kMaxPrice]); a value outside is a
/// DataError naming the file, line and ticker.
inline constexpr double kMaxPrice = 1e7;

/// Parses the gzip'd wide CSV. Throws DataError naming file, line and column for a malformed cell.
PriceTable read_price_table(const std::filesystem::path& gz_path);

/// Parses the (decompressed) wide CSV `date,<ticker>,...`; `source` names it in errors.
PriceTable parse_price_table(std::string_view csv, const std::string& source);

/// The 28 feature names in order: "ret", "ret_lag1".."ret_lag10", "ret_365", ..., "close".
const std::vector<std::string>& portfolio_feature_names();

/// Features of every (row t, asset) of `close` [T, A] from rows ≤ t only: [T, A, 28] float64, NaN
/// where the history is too short (t < 365 for the full set).
torch::Tensor portfolio_features(const torch::Tensor& close);

/// Next-row returns Close_{t+1} / Close_t − 1: [T, A], NaN in the last row.
torch::Tensor next_returns(const torch::Tensor& close);

/// [N, n·28] -> [N, n, 28] (a view): feature f of asset a of row i is view[i][a][f].
torch::Tensor portfolio_feature_view(const torch::Tensor& x, int64_t n_assets);

/// The portfolio dataset from the ticker list (sp500_tickers.csv) and the parsed price table: what
/// load_portfolio does after reading and verifying the two files.
Dataset portfolio_dataset(const SourceText& ticker_file, const PriceTable& prices,
                          const PortfolioOptions& options);

/// The portfolio dataset. meta: seed, tickers, n_assets, universe
/// ("complete"/"verified"/"explicit"), pool_size, feature_names, layout, first_date, last_date,
/// price_rows {first, last}, standardization {"fit_rows", "mean", "std"} (or null).
Dataset load_portfolio(const PortfolioOptions& options);

}  // namespace diffdfl::data
