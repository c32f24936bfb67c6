#include "diffdfl/data/portfolio.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <string_view>

#include "diffdfl/core/atomic_file.h"
#include "diffdfl/core/csv.h"
#include "diffdfl/core/error.h"
#include "diffdfl/core/gzip_file.h"
#include "diffdfl/core/seed.h"
#include "diffdfl/data/calendar.h"
#include "diffdfl/data/manifest.h"

namespace fs = std::filesystem;

namespace diffdfl::data {

namespace {

const char* const kPriceFile = "stock_portfolio/sp500_adj_close_2004-2016.csv.gz";
const char* const kTickerFile = "stock_portfolio/sp500_tickers.csv";
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int64_t kReturnWindows[] = {365, 120, 30, 7};
constexpr int64_t kCloseWindows[] = {365, 120, 30, 7, 3};

bool parse_bool(const std::string& s, const std::string& where) {
  if (s == "true" || s == "True" || s == "1") return true;
  if (s == "false" || s == "False" || s == "0" || s.empty()) return false;
  fail<DataError>(where, ": '", s, "' is not a boolean (true/false)");
}

// Mean and sample variance (ddof = 1, as pandas) of v[begin, end).
std::pair<double, double> mean_var(const double* v, int64_t begin, int64_t end) {
  const auto n = static_cast<double>(end - begin);
  double sum = 0;
  for (int64_t i = begin; i < end; ++i)
    sum += v[i];
  const double mean = sum / n;
  double ss = 0;
  for (int64_t i = begin; i < end; ++i)
    ss += (v[i] - mean) * (v[i] - mean);
  return {mean, n > 1 ? ss / (n - 1) : kNaN};
}

}  // namespace

void PortfolioOptions::validate() const {
  DIFFDFL_CHECK(!data_dir.empty(), "PortfolioOptions.data_dir must not be empty");
  DIFFDFL_CHECK(n_assets >= 1, "PortfolioOptions.n_assets must be >= 1, got ", n_assets);
  DIFFDFL_CHECK(train_fraction > 0 && train_fraction < 1,
                "PortfolioOptions.train_fraction must be in (0, 1), got ", train_fraction);
  DIFFDFL_CHECK(hold_fraction > 0 && hold_fraction < 1,
                "PortfolioOptions.hold_fraction must be in (0, 1), got ", hold_fraction);
  DIFFDFL_CHECK(
      train_fraction + hold_fraction < 1,
      "PortfolioOptions.train_fraction + hold_fraction must be < 1 (the rest is test), got ",
      train_fraction + hold_fraction);
  std::set<std::string> seen;
  for (const auto& t : tickers) {
    DIFFDFL_CHECK(!t.empty(), "PortfolioOptions.tickers: empty ticker name");
    DIFFDFL_CHECK(seen.insert(t).second, "PortfolioOptions.tickers: '", t, "' is listed twice");
  }
}

const std::vector<std::string>& portfolio_feature_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out = {"ret"};
    for (int k = 1; k <= 10; ++k)
      out.push_back("ret_lag" + std::to_string(k));
    for (const int64_t k : kReturnWindows)
      out.push_back("ret_" + std::to_string(k));
    out.push_back("ret_rollmean_7");
    out.push_back("ret_rollvar_7");
    for (const int64_t k : kCloseWindows) {
      out.push_back("close_rollmean_" + std::to_string(k));
      out.push_back("close_rollvar_" + std::to_string(k));
    }
    out.push_back("close");
    return out;
  }();
  return names;
}

PriceTable read_price_table(const fs::path& gz_path) {
  return parse_price_table(read_gzip_file(gz_path), gz_path.string());
}

PriceTable parse_price_table(std::string_view text, const std::string& p) {
  if (text.empty()) fail<DataError>(p, ": no data (empty CSV)");
  if (text.back() != '\n') {
    fail<DataError>(p, ": the CSV does not end with a newline; the file is probably truncated");
  }
  PriceTable table;
  size_t pos = text.find('\n');
  table.tickers = split_csv_line(std::string_view(text.data(), pos), ',', p + ":1");
  if (!table.tickers.empty() && !table.tickers.back().empty() &&
      table.tickers.back().back() == '\r') {
    table.tickers.back().pop_back();
  }
  if (table.tickers.size() < 2 || table.tickers.front() != "date") {
    fail<DataError>(p, ":1: expected the header 'date,<ticker>,...'");
  }
  table.tickers.erase(table.tickers.begin());
  {
    std::set<std::string> seen;
    for (const auto& t : table.tickers) {
      if (t.empty() || !seen.insert(t).second) {
        fail<DataError>(p, ":1: empty or repeated ticker '", t, "' in the header");
      }
    }
  }
  const size_t n_assets = table.tickers.size();
  std::vector<double> values;
  values.reserve(n_assets * 3300);
  ++pos;
  size_t line_no = 1;
  CivilDate last_date{0, 1, 1};
  while (pos < text.size()) {
    const size_t end = text.find('\n', pos);
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    // Fields: date, then one price per ticker.
    size_t field = 0;
    size_t start = 0;
    while (true) {
      const size_t comma = line.find(',', start);
      const std::string_view cell = line.substr(
          start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
      if (field == 0) {
        const std::string where = p + ":" + std::to_string(line_no) + ", column 'date'";
        const CivilDate d = parse_iso_date(cell, where);
        if (!(last_date < d)) {
          fail<DataError>(where, ": date ", d.iso(), " does not follow ", last_date.iso(),
                          " (dates must be strictly increasing)");
        }
        last_date = d;
        table.dates.push_back(d.iso());
      } else if (field <= n_assets) {
        double v = 0;
        const auto res = std::from_chars(cell.data(), cell.data() + cell.size(), v);
        if (cell.empty() || res.ec != std::errc() || res.ptr != cell.data() + cell.size() ||
            !std::isfinite(v) || v <= 0 || v > kMaxPrice) {
          const std::string where =
              p + ":" + std::to_string(line_no) + ", column '" + table.tickers[field - 1] + "'";
          parse_double(cell, where);  // throws for text, NaN and Inf
          if (v <= 0) fail<DataError>(where, ": price '", cell, "' must be > 0");
          fail<DataError>(where, ": price '", cell, "' is implausible (at most ", kMaxPrice,
                          "); correct the file");
        }
        values.push_back(v);
      }
      ++field;
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    if (field != n_assets + 1) {
      fail<DataError>(p, ":", line_no, ": expected ", n_assets + 1, " fields, found ", field,
                      " (truncated or malformed line)");
    }
  }
  const auto t = static_cast<int64_t>(table.dates.size());
  if (t == 0) fail<DataError>(p, ": no data rows");
  table.close =
      torch::from_blob(values.data(), {t, static_cast<int64_t>(n_assets)}, torch::kDouble).clone();
  return table;
}

torch::Tensor portfolio_features(const torch::Tensor& close) {
  DIFFDFL_CHECK(close.defined() && close.dim() == 2,
                "portfolio_features: close must be [rows, assets]");
  const torch::Tensor c = close.to(torch::kDouble).t().contiguous();  // [A, T]: one row per asset
  const int64_t n_assets = c.size(0);
  const int64_t n_rows = c.size(1);
  torch::Tensor out = torch::full({n_rows, n_assets, kPortfolioFeatures}, kNaN, torch::kDouble);
  auto acc = out.accessor<double, 3>();
  std::vector<double> r(static_cast<size_t>(n_rows), kNaN);
  for (int64_t a = 0; a < n_assets; ++a) {
    const double* px = c.data_ptr<double>() + a * n_rows;
    for (int64_t t = 1; t < n_rows; ++t)
      r[t] = px[t] / px[t - 1] - 1.0;
    for (int64_t t = 0; t < n_rows; ++t) {
      auto f = acc[t][a];
      int k = 0;
      for (int64_t lag = 0; lag <= 10; ++lag, ++k) {
        if (t - lag >= 1) f[k] = r[t - lag];
      }
      for (const int64_t w : kReturnWindows) {
        if (t >= w) f[k] = px[t] / px[t - w] - 1.0;
        ++k;
      }
      if (t >= 7) {  // r_{t-6..t}, all defined from t - 6 >= 1
        const auto mv = mean_var(r.data(), t - 6, t + 1);
        f[k] = mv.first;
        f[k + 1] = mv.second;
      }
      k += 2;
      for (const int64_t w : kCloseWindows) {
        if (t >= w - 1) {
          const auto mv = mean_var(px, t - w + 1, t + 1);
          f[k] = mv.first;
          f[k + 1] = mv.second;
        }
        k += 2;
      }
      f[k] = px[t];
    }
  }
  return out;
}

torch::Tensor next_returns(const torch::Tensor& close) {
  DIFFDFL_CHECK(close.defined() && close.dim() == 2, "next_returns: close must be [rows, assets]");
  const torch::Tensor c = close.to(torch::kDouble);
  torch::Tensor out = torch::full_like(c, kNaN);
  if (c.size(0) > 1) {
    out.slice(0, 0, c.size(0) - 1).copy_(c.slice(0, 1) / c.slice(0, 0, c.size(0) - 1) - 1.0);
  }
  return out;
}

torch::Tensor portfolio_feature_view(const torch::Tensor& x, int64_t n_assets) {
  DIFFDFL_CHECK(n_assets >= 1 && x.dim() == 2 && x.size(1) == n_assets * kPortfolioFeatures,
                "portfolio_feature_view: x must be [N, ", n_assets, " * ", kPortfolioFeatures,
                "], got ", x.sizes());
  return x.view({x.size(0), n_assets, kPortfolioFeatures});
}

Dataset load_portfolio(const PortfolioOptions& options) {
  options.validate();
  const fs::path dir = options.data_dir;
  const fs::path ticker_path = verify_data_file(dir, kTickerFile, options.verify_checksums);
  const SourceText tickers{ticker_path.string(), read_file(ticker_path)};
  return portfolio_dataset(
      tickers, read_price_table(verify_data_file(dir, kPriceFile, options.verify_checksums)),
      options);
}

Dataset portfolio_dataset(const SourceText& ticker_file, const PriceTable& prices,
                          const PortfolioOptions& options) {
  options.validate();
  // The asset pool: complete (every column of the price file) or verified, per sp500_tickers.csv.
  const std::string& ticker_path = ticker_file.name;
  const CsvTable info = parse_csv(ticker_file.text, ticker_path);
  const size_t c_symbol = info.column("symbol");
  const size_t c_complete = info.column("in_adj_close_file");
  const size_t c_verified = info.column("verified");
  std::set<std::string> complete, verified;
  for (size_t r = 0; r < info.rows.size(); ++r) {
    const std::string& sym = info.rows[r][c_symbol];
    const bool in_file = parse_bool(info.rows[r][c_complete], info.where(r, c_complete));
    if (in_file) complete.insert(sym);
    if (in_file && parse_bool(info.rows[r][c_verified], info.where(r, c_verified))) {
      verified.insert(sym);
    }
  }

  DIFFDFL_CHECK(prices.close.defined() && prices.close.dim() == 2 &&
                    prices.close.size(0) == static_cast<int64_t>(prices.dates.size()) &&
                    prices.close.size(1) == static_cast<int64_t>(prices.tickers.size()),
                "portfolio_dataset: the price table's dates, tickers and close do not agree");
  std::map<std::string, int64_t> column;
  for (size_t i = 0; i < prices.tickers.size(); ++i) {
    column[prices.tickers[i]] = static_cast<int64_t>(i);
  }
  for (const auto& sym : complete) {
    if (!column.count(sym)) {
      fail<DataError>(ticker_path, ": ticker '", sym,
                      "' is flagged in_adj_close_file but is not a column of ", kPriceFile);
    }
  }

  std::vector<std::string> chosen;
  std::string universe;
  int64_t pool_size = 0;
  if (!options.tickers.empty()) {
    for (const auto& t : options.tickers) {
      if (!column.count(t)) {
        fail<InvalidArgument>("PortfolioOptions.tickers: '", t, "' is not a column of ", kPriceFile,
                              " (392 complete tickers, listed in ", kTickerFile, ")");
      }
    }
    chosen = options.tickers;
    universe = "explicit";
    pool_size = static_cast<int64_t>(prices.tickers.size());
  } else {
    const std::set<std::string>& allowed = options.verified_only ? verified : complete;
    std::vector<std::string> pool;  // in price-file column order
    for (const auto& t : prices.tickers) {
      if (allowed.count(t)) pool.push_back(t);
    }
    universe = options.verified_only ? "verified" : "complete";
    pool_size = static_cast<int64_t>(pool.size());
    if (options.n_assets > pool_size) {
      fail<InvalidArgument>("PortfolioOptions.n_assets = ", options.n_assets, " exceeds the ",
                            pool_size, " ", universe, " tickers",
                            options.verified_only ? " (drop --verified-only for 392)" : "");
    }
    auto gen = make_generator(derive_seed(options.seed, "portfolio.assets"));
    const torch::Tensor perm = torch::randperm(pool_size, gen, torch::dtype(torch::kLong));
    const torch::Tensor pick = std::get<0>(perm.slice(0, 0, options.n_assets).sort());
    for (int64_t i = 0; i < pick.size(0); ++i) {
      chosen.push_back(pool[static_cast<size_t>(pick[i].item<int64_t>())]);
    }
  }
  const auto n = static_cast<int64_t>(chosen.size());
  std::vector<int64_t> cols;
  for (const auto& t : chosen)
    cols.push_back(column.at(t));
  const torch::Tensor close = prices.close.index_select(1, torch::tensor(cols, torch::kLong));

  const int64_t n_rows = close.size(0);
  const int64_t first = kPortfolioFirstRow;
  const int64_t end = n_rows - kPortfolioTailRows;  // exclusive
  const int64_t n_dates = end - first;
  const auto n_train = static_cast<int64_t>(options.train_fraction * static_cast<double>(n_dates));
  const auto n_hold = static_cast<int64_t>(options.hold_fraction * static_cast<double>(n_dates));
  if (n_dates < 3 || n_train < 1 || n_hold < 1 || n_dates - n_train - n_hold < 1) {
    fail<DataError>(kPriceFile, ": ", n_rows, " trading days leave ", std::max<int64_t>(n_dates, 0),
                    " usable dates (rows ", first, " .. ", n_rows, " − ", kPortfolioTailRows + 1,
                    "), too few for a train/hold/test split");
  }

  const torch::Tensor feats = portfolio_features(close).slice(0, first, end);  // [D, n, 28]
  torch::Tensor x_raw = feats.reshape({n_dates, n * kPortfolioFeatures});
  const torch::Tensor y = next_returns(close).slice(0, first, end).contiguous();
  if (!torch::isfinite(x_raw).all().item<bool>() || !torch::isfinite(y).all().item<bool>()) {
    fail<DataError>(kPriceFile, ": non-finite feature or return (check the prices)");
  }
  const std::vector<std::string> dates(prices.dates.begin() + first, prices.dates.begin() + end);

  Dataset ds;
  ds.task = "portfolio";
  ds.x_dim = n * kPortfolioFeatures;
  ds.y_dim = n;
  nlohmann::json& meta = ds.meta;
  meta["task"] = ds.task;
  meta["seed"] = options.seed;
  meta["tickers"] = chosen;
  meta["n_assets"] = n;
  meta["universe"] = universe;
  meta["pool_size"] = pool_size;
  meta["feature_names"] = portfolio_feature_names();
  meta["layout"] = "x[date, a*28 + f]: asset-major, feature f of asset a (meta.tickers[a])";
  meta["first_date"] = dates.front();
  meta["last_date"] = dates.back();
  meta["price_rows"] = {{"first", first}, {"last", end - 1}, {"total", n_rows}};
  meta["target"] = "y[date, a] = Close[date+1, a] / Close[date, a] - 1 (raw return)";

  torch::Tensor x = x_raw;
  if (options.standardize) {
    const Standardizer st = Standardizer::fit(x_raw.slice(0, 0, n_train));
    x = st.apply(x_raw);
    meta["standardization"] = st.to_json();
    meta["standardization"]["fit_rows"] =
        "train: the first " + std::to_string(n_train) + " dates (hold and test excluded)";
  } else {
    meta["standardization"] = nullptr;
  }
  ds.train = slice_rows(x, y, dates, 0, n_train);
  ds.hold = slice_rows(x, y, dates, n_train, n_train + n_hold);
  ds.test = slice_rows(x, y, dates, n_train + n_hold, n_dates);
  return ds;
}

}  // namespace diffdfl::data
