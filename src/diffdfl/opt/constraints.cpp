#include "diffdfl/opt/constraints.h"

#include "diffdfl/core/error.h"
#include "diffdfl/core/tensor_checks.h"

namespace diffdfl::opt {

namespace {
torch::Tensor f64(const torch::Tensor& t) {
  return t.to(torch::kDouble).contiguous();
}
}  // namespace

LinearConstraints LinearConstraints::make(torch::Tensor G, torch::Tensor h, torch::Tensor A,
                                          torch::Tensor b) {
  LinearConstraints c;
  DIFFDFL_CHECK(G.defined() && h.defined(),
                "constraints: G and h must be given (use [0, n] for none)");
  c.G = f64(G);
  c.h = f64(h);
  const int64_t n = c.G.dim() == 2 ? c.G.size(1) : 0;
  c.A = A.defined() ? f64(A) : torch::zeros({0, n}, c.G.options());
  c.b = b.defined() ? f64(b) : torch::zeros({0}, c.G.options());
  c.detect_bounds();
  return c;
}

void LinearConstraints::detect_bounds() {
  bound_col = torch::Tensor();
  bound_sign = torch::Tensor();
  if (G.dim() != 2 || G.size(0) == 0) return;
  const bool unit_rows =
      G.ne(0).sum(1).eq(1).all().item<bool>() && G.abs().sum(1).eq(1).all().item<bool>();
  if (!unit_rows) return;
  bound_col = G.abs().argmax(1);
  bound_sign = G.gather(1, bound_col.unsqueeze(1)).squeeze(1);
}

torch::Tensor LinearConstraints::G_times(const torch::Tensor& z) const {
  if (bound_col.defined()) return z.index_select(1, bound_col) * bound_sign;
  return torch::matmul(z, G.t());
}

torch::Tensor LinearConstraints::Gt_times(const torch::Tensor& lam) const {
  if (bound_col.defined()) {
    return torch::zeros({lam.size(0), G.size(1)}, lam.options())
        .index_add_(1, bound_col, lam * bound_sign);
  }
  return torch::matmul(lam, G);
}

torch::Tensor LinearConstraints::bounds_gdg_diag(const torch::Tensor& D) const {
  DIFFDFL_CHECK(bound_col.defined(), "bounds_gdg_diag: the constraints are not bounds");
  return torch::zeros({D.size(0), G.size(1)}, D.options()).index_add_(1, bound_col, D);
}

LinearConstraints LinearConstraints::box(int64_t n, double lo, double hi) {
  DIFFDFL_CHECK(n > 0, "box constraints: n must be > 0, got ", n);
  DIFFDFL_CHECK(lo <= hi, "box constraints: lower bound ", lo, " exceeds upper bound ", hi);
  const auto opts = torch::TensorOptions().dtype(torch::kDouble);
  const torch::Tensor eye = torch::eye(n, opts);
  return make(torch::cat({-eye, eye}, 0),
              torch::cat({torch::full({n}, -lo, opts), torch::full({n}, hi, opts)}));
}

void LinearConstraints::validate(int64_t n_z) const {
  check_shape(G, "constraints.G", {-1, n_z});
  if (h.dim() == 2) {
    check_shape(h, "constraints.h", {-1, G.size(0)});
  } else {
    check_shape(h, "constraints.h", {G.size(0)});
  }
  check_shape(A, "constraints.A", {-1, n_z});
  if (b.dim() == 2) {
    check_shape(b, "constraints.b", {-1, A.size(0)});
  } else {
    check_shape(b, "constraints.b", {A.size(0)});
  }
  for (const auto& [t, name] : {std::pair<const torch::Tensor&, const char*>{G, "constraints.G"},
                                {h, "constraints.h"},
                                {A, "constraints.A"},
                                {b, "constraints.b"}}) {
    DIFFDFL_CHECK(torch::isfinite(t).all().item<bool>(), name, " holds NaN or Inf");
  }
}

LinearConstraints LinearConstraints::to(const torch::Device& device) const {
  LinearConstraints c = *this;
  c.G = G.to(device);
  c.h = h.to(device);
  c.A = A.to(device);
  c.b = b.to(device);
  if (bound_col.defined()) {
    c.bound_col = bound_col.to(device);
    c.bound_sign = bound_sign.to(device);
  }
  return c;
}

LinearConstraints LinearConstraints::instance(int64_t i) const {
  LinearConstraints c = *this;
  if (h.dim() == 2) c.h = h[i];
  if (b.dim() == 2) c.b = b[i];
  return c;
}

bool LinearConstraints::bounds_only() const {
  return bound_col.defined();
}

}  // namespace diffdfl::opt
