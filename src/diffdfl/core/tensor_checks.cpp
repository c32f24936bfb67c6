#include "diffdfl/core/tensor_checks.h"

#include <sstream>

#include "diffdfl/core/error.h"

namespace diffdfl {

std::string shape_string(torch::IntArrayRef sizes) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < sizes.size(); ++i) out << (i ? ", " : "") << sizes[i];
  out << "]";
  return out.str();
}

void check_shape(const torch::Tensor& t, const std::string& name, std::vector<int64_t> expected) {
  std::ostringstream want;
  want << "[";
  for (size_t i = 0; i < expected.size(); ++i) {
    want << (i ? ", " : "");
    if (expected[i] < 0) {
      want << "*";
    } else {
      want << expected[i];
    }
  }
  want << "]";
  if (!t.defined()) fail(name, ": expected a tensor of shape ", want.str(), ", got an undefined tensor");
  bool ok = t.dim() == static_cast<int64_t>(expected.size());
  for (size_t i = 0; ok && i < expected.size(); ++i) {
    ok = expected[i] < 0 || t.size(static_cast<int64_t>(i)) == expected[i];
  }
  if (!ok) fail(name, ": expected shape ", want.str(), ", got ", shape_string(t.sizes()));
}

torch::Tensor finite_rows(const torch::Tensor& t) {
  if (t.dim() == 0) return torch::isfinite(t).reshape({1});
  return torch::isfinite(t).reshape({t.size(0), -1}).all(1);
}

void check_finite_batch(const torch::Tensor& t, const std::string& name) {
  if (!t.is_floating_point()) return;
  const torch::Tensor ok = finite_rows(t);
  if (ok.all().item<bool>()) return;
  const int64_t first = torch::nonzero(ok.logical_not()).index({0, 0}).item<int64_t>();
  fail(name, ": non-finite value (NaN or Inf) in batch element ", first,
       "; check the model's samples or the input data");
}

}  // namespace diffdfl
