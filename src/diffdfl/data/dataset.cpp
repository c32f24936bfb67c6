#include "diffdfl/data/dataset.h"

#include <algorithm>
#include <cmath>

#include "diffdfl/core/error.h"
#include "diffdfl/core/seed.h"
#include "diffdfl/data/portfolio.h"
#include "diffdfl/data/power.h"
#include "diffdfl/data/synthetic.h"

namespace diffdfl::data {

namespace {

std::string joined_task_names() {
  std::string out;
  for (const auto& t : task_names())
    out += (out.empty() ? "" : ", ") + t;
  return out;
}

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

const std::vector<std::string>& task_names() {
  static const std::vector<std::string> names = {"synthetic", "synthetic-contextual", "power",
                                                 "portfolio"};
  return names;
}

void DatasetOptions::validate() const {
  const auto& names = task_names();
  if (std::find(names.begin(), names.end(), task) == names.end()) {
    fail<InvalidArgument>("DatasetOptions.task: unknown task '", task, "'; expected one of ",
                          joined_task_names());
  }
  DIFFDFL_CHECK(!data_dir.empty(), "DatasetOptions.data_dir must not be empty");
  DIFFDFL_CHECK(n_assets >= 1, "DatasetOptions.n_assets must be >= 1, got ", n_assets);
}

Dataset load_dataset(const DatasetOptions& options) {
  options.validate();
  if (options.task == "synthetic" || options.task == "synthetic-contextual") {
    SyntheticOptions o;
    o.seed = options.seed;
    o.contextual = options.task == "synthetic-contextual";
    return make_synthetic(o);
  }
  if (options.task == "power") {
    PowerOptions o;
    o.seed = options.seed;
    o.data_dir = options.data_dir;
    o.verify_checksums = options.verify_checksums;
    return load_power(o);
  }
  PortfolioOptions o;
  o.seed = options.seed;
  o.data_dir = options.data_dir;
  o.n_assets = options.n_assets;
  o.verified_only = options.verified_only;
  o.verify_checksums = options.verify_checksums;
  return load_portfolio(o);
}

Standardizer Standardizer::fit(const torch::Tensor& rows) {
  DIFFDFL_CHECK(rows.defined() && rows.dim() == 2 && rows.size(0) >= 1,
                "Standardizer::fit: expected a [rows >= 1, cols] tensor, got ",
                rows.defined() ? rows.sizes() : torch::IntArrayRef{});
  const torch::Tensor r = rows.to(torch::kDouble);
  DIFFDFL_CHECK(torch::isfinite(r).all().item<bool>(),
                "Standardizer::fit: the rows contain NaN or Inf");
  Standardizer s;
  s.mean = r.mean(0);
  torch::Tensor sd = (r - s.mean).pow(2).mean(0).sqrt();  // population std (ddof = 0)
  const torch::Tensor tiny = 1e-12 * torch::clamp_min(s.mean.abs(), 1.0);
  s.std = torch::where(sd <= tiny, torch::ones_like(sd), sd);
  return s;
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
