#include "diffdfl/data/dataset.h"

#include <algorithm>
#include <cmath>

#include "diffdfl/core/error.h"
#include "diffdfl/core/seed.h"
#include "diffdfl/core/sha256.h"

namespace diffdfl::data {

namespace {

/// Neumaier's compensated summation: the error of the running sum is carried separately, so the
/// result is as if summed in higher precision, and it depends on nothing but the order of the
/// terms (which the callers fix).
class CompensatedSum {
 public:
  void add(double x) {
    const double t = sum_ + x;
    if (std::abs(sum_) >= std::abs(x)) {
      carry_ += (sum_ - t) + x;
    } else {
      carry_ += (x - t) + sum_;
    }
    sum_ = t;
  }
  double value() const { return sum_ + carry_; }

 private:
  double sum_ = 0;
  double carry_ = 0;
};

std::vector<double> to_vector(const torch::Tensor& t) {
  const torch::Tensor c = t.contiguous().to(torch::kDouble);
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

}  // namespace

const Split& Dataset::split(const std::string& name) const {
  if (name == "train") return train;
  if (name == "hold") return hold;
  if (name == "test") return test;
  fail<InvalidArgument>("unknown split '", name, "'; expected train, hold or test");
}

GeneratedSplit GeneratedSplit::of(const std::string& owner, int64_t n, double trainhold_fraction,
                                  double hold_fraction) {
  DIFFDFL_CHECK(trainhold_fraction > 0 && trainhold_fraction < 1, owner,
                ".trainhold_fraction must be in (0, 1), got ", trainhold_fraction);
  DIFFDFL_CHECK(hold_fraction > 0 && hold_fraction < 1, owner,
                ".hold_fraction must be in (0, 1), got ", hold_fraction);
  GeneratedSplit s;
  s.trainhold = static_cast<int64_t>(trainhold_fraction * static_cast<double>(n));
  s.fit = static_cast<int64_t>((1.0 - hold_fraction) * static_cast<double>(s.trainhold));
  DIFFDFL_CHECK(s.fit >= 1 && s.trainhold - s.fit >= 1 && n - s.trainhold >= 1, owner,
                ": n_samples = ", n, " with trainhold_fraction = ", trainhold_fraction,
                " and hold_fraction = ", hold_fraction, " leaves an empty split (train ", s.fit,
                ", hold ", s.trainhold - s.fit, ", test ", n - s.trainhold, ")");
  return s;
}

std::pair<torch::Tensor, torch::Tensor> GeneratedSplit::assign(Dataset& ds, const torch::Tensor& x,
                                                               const torch::Tensor& y,
                                                               uint64_t hold_seed) const {
  auto [fit_idx, hold_idx] = random_holdout(trainhold, fit, hold_seed);
  const std::vector<std::string> no_dates;
  ds.train = take_rows(x, y, no_dates, fit_idx);
  ds.hold = take_rows(x, y, no_dates, hold_idx);
  ds.test = slice_rows(x, y, no_dates, trainhold, x.size(0));
  return {fit_idx, hold_idx};
}

std::string digest(const Split& split) {
  std::string bytes;
  for (const torch::Tensor& t : {split.x, split.y}) {
    DIFFDFL_CHECK(t.defined(), "digest: the split has no x or y");
    const torch::Tensor c = t.detach().to(torch::kCPU).contiguous();
    for (int64_t d : c.sizes())
      bytes += std::to_string(d) + "x";
    bytes += std::string(c.dtype().name()) + ":";
    bytes.append(static_cast<const char*>(c.data_ptr()), c.nbytes());
  }
  return sha256_hex(bytes);
}

Standardizer Standardizer::fit(const torch::Tensor& rows) {
  DIFFDFL_CHECK(rows.defined() && rows.dim() == 2 && rows.size(0) >= 1,
                "Standardizer::fit: expected a [rows >= 1, cols] tensor, got ",
                rows.defined() ? rows.sizes() : torch::IntArrayRef{});
  const torch::Tensor r = rows.detach().to(torch::kCPU, torch::kDouble).contiguous();
  const int64_t n = r.size(0);
  const int64_t cols = r.size(1);
  const double* p = r.data_ptr<double>();
  for (int64_t i = 0; i < n * cols; ++i) {
    DIFFDFL_CHECK(std::isfinite(p[i]), "Standardizer::fit: the rows contain NaN or Inf (row ",
                  i / cols, ", column ", i % cols, ")");
  }
  // Two passes over the rows in order, one compensated sum per column: the mean, then the
  // population variance around it.
  std::vector<CompensatedSum> sum(static_cast<size_t>(cols));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < cols; ++j)
      sum[j].add(p[i * cols + j]);
  }
  std::vector<double> mean(static_cast<size_t>(cols));
  for (int64_t j = 0; j < cols; ++j)
    mean[j] = sum[j].value() / static_cast<double>(n);
  std::vector<CompensatedSum> squares(static_cast<size_t>(cols));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < cols; ++j) {
      const double d = p[i * cols + j] - mean[j];
      squares[j].add(d * d);
    }
  }
  std::vector<double> sd(static_cast<size_t>(cols));
  for (int64_t j = 0; j < cols; ++j) {
    const double s = std::sqrt(squares[j].value() / static_cast<double>(n));
    DIFFDFL_CHECK(std::isfinite(s), "Standardizer::fit: column ", j,
                  " has values too large for float64 statistics");
    sd[j] = s <= 1e-12 * std::max(std::abs(mean[j]), 1.0) ? 1.0 : s;
  }
  Standardizer st;
  st.mean = torch::tensor(mean, torch::kDouble);
  st.std = torch::tensor(sd, torch::kDouble);
  return st;
}

torch::Tensor Standardizer::apply(const torch::Tensor& x) const {
  DIFFDFL_CHECK(x.dim() == 2 && x.size(1) == mean.size(0), "Standardizer::apply: expected [*, ",
                mean.size(0), "] columns, got ", x.sizes());
  return (x.to(torch::kDouble) - mean) / std;
}

torch::Tensor Standardizer::invert(const torch::Tensor& z) const {
  DIFFDFL_CHECK(z.dim() == 2 && z.size(1) == mean.size(0), "Standardizer::invert: expected [*, ",
                mean.size(0), "] columns, got ", z.sizes());
  return z.to(torch::kDouble) * std + mean;
}

nlohmann::json Standardizer::to_json() const {
  return {{"mean", to_vector(mean)}, {"std", to_vector(std)}};
}

std::pair<torch::Tensor, torch::Tensor> random_holdout(int64_t n, int64_t n_fit, uint64_t seed) {
  DIFFDFL_CHECK(n >= 1 && n_fit >= 0 && n_fit <= n,
                "random_holdout: need 0 <= n_fit <= n, got n = ", n, ", n_fit = ", n_fit);
  auto gen = make_generator(seed);
  const torch::Tensor perm = torch::randperm(n, gen, torch::dtype(torch::kLong));
  torch::Tensor fit = std::get<0>(perm.slice(0, 0, n_fit).sort());
  torch::Tensor hold = std::get<0>(perm.slice(0, n_fit, n).sort());
  return {fit, hold};
}

Split take_rows(const torch::Tensor& x, const torch::Tensor& y,
                const std::vector<std::string>& dates, const torch::Tensor& index) {
  Split s;
  s.x = x.index_select(0, index).contiguous();
  s.y = y.index_select(0, index).contiguous();
  if (!dates.empty()) {
    const torch::Tensor idx = index.to(torch::kLong).contiguous();
    const int64_t* p = idx.data_ptr<int64_t>();
    s.dates.reserve(static_cast<size_t>(idx.numel()));
    for (int64_t i = 0; i < idx.numel(); ++i)
      s.dates.push_back(dates.at(static_cast<size_t>(p[i])));
  }
  return s;
}

Split slice_rows(const torch::Tensor& x, const torch::Tensor& y,
                 const std::vector<std::string>& dates, int64_t begin, int64_t end) {
  DIFFDFL_CHECK(begin >= 0 && begin <= end && end <= x.size(0), "slice_rows: bad range [", begin,
                ", ", end, ") of ", x.size(0), " rows");
  Split s;
  s.x = x.slice(0, begin, end).contiguous();
  s.y = y.slice(0, begin, end).contiguous();
  if (!dates.empty()) s.dates.assign(dates.begin() + begin, dates.begin() + end);
  return s;
}

}  // namespace diffdfl::data
