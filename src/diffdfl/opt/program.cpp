#include "diffdfl/opt/program.h"

#include "diffdfl/core/error.h"
#include "diffdfl/core/tensor_checks.h"
#include "diffdfl/opt/ipm.h"

namespace diffdfl::opt {

namespace {

/// z [B, n] repeated over the M samples as a fresh leaf that requires grad: [B, M, n].
torch::Tensor per_sample_leaf(const torch::Tensor& z, int64_t M) {
  return z.detach()
      .to(torch::kDouble)
      .unsqueeze(1)
      .expand({z.size(0), M, z.size(1)})
      .clone()
      .requires_grad_(true);
}

torch::Tensor grad_or_zeros(const torch::Tensor& out, const torch::Tensor& input, bool create_graph,
                            bool retain_graph) {
  const auto grads = torch::autograd::grad({out}, {input}, /*grad_outputs=*/{}, retain_graph,
                                           create_graph, /*allow_unused=*/true);
  return grads[0].defined() ? grads[0] : torch::zeros_like(input);
}

}  // namespace

void SolverOptions::validate() const {
  DIFFDFL_CHECK(tol > 0 && tol <= 1e-3, "solver.tol must be in (0, 1e-3], got ", tol);
  DIFFDFL_CHECK(inaccurate_tol >= tol && inaccurate_tol < 1,
                "solver.inaccurate_tol must be in [solver.tol, 1), got ", inaccurate_tol);
  DIFFDFL_CHECK(max_iter >= 1 && max_iter <= 100000, "solver.max_iter must be in [1, 100000], got ",
                max_iter);
}

void StochasticProgram::check_samples(const torch::Tensor& y) const {
  check_shape(y, name() + " samples", {-1, -1, n_y()});
  DIFFDFL_CHECK(y.size(0) >= 1 && y.size(1) >= 1, name(), " samples: need B >= 1 and M >= 1, got ",
                shape_string(y.sizes()));
  check_finite_batch(y, name() + " samples");
}

torch::Tensor StochasticProgram::grad_z(const torch::Tensor& y, const torch::Tensor& z) const {
  torch::AutoGradMode enable(true);
  const torch::Tensor zz = per_sample_leaf(z, y.size(1));
  const torch::Tensor f = cost(y.detach().to(torch::kDouble), zz);
  return grad_or_zeros(f.sum(), zz, /*create_graph=*/false, /*retain_graph=*/false);
}

torch::Tensor StochasticProgram::saa_hessian(const torch::Tensor& y, const torch::Tensor& z) const {
  torch::AutoGradMode enable(true);
  const int64_t n = z.size(1);
  const torch::Tensor zz = per_sample_leaf(z, y.size(1));
  const torch::Tensor f = cost(y.detach().to(torch::kDouble), zz);
  const torch::Tensor g = grad_or_zeros(f.sum(), zz, /*create_graph=*/true, /*retain_graph=*/true);
  std::vector<torch::Tensor> rows;
  rows.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const torch::Tensor gi = g.select(2, i).sum();
    rows.push_back(
        gi.requires_grad()
            ? grad_or_zeros(gi, zz, /*create_graph=*/false, /*retain_graph=*/true).mean(1)
            : torch::zeros({z.size(0), n}, z.options().dtype(torch::kDouble)));
  }
  return torch::stack(rows, 1);
}

torch::Tensor StochasticProgram::cross_vjp(const torch::Tensor& y, const torch::Tensor& z,
                                           const torch::Tensor& v) const {
  torch::AutoGradMode enable(true);
  const torch::Tensor yy = y.detach().to(torch::kDouble).requires_grad_(true);
  const torch::Tensor zz = per_sample_leaf(z, y.size(1));
  const torch::Tensor f = cost(yy, zz);
  const torch::Tensor g = grad_or_zeros(f.sum(), zz, /*create_graph=*/true, /*retain_graph=*/true);
  const torch::Tensor inner = (g * v.to(torch::kDouble).unsqueeze(1)).sum();
  if (!inner.requires_grad()) return torch::zeros_like(yy);
  return grad_or_zeros(inner, yy, /*create_graph=*/false, /*retain_graph=*/false);
}

torch::Tensor StochasticProgram::initial_point(const torch::Tensor& y) const {
  return torch::zeros({y.size(0), n_z()}, y.options().dtype(torch::kDouble));
}

Solution StochasticProgram::solve(const torch::Tensor& y, const SolverOptions& options) const {
  check_samples(y);
  const torch::Tensor y64 = y.detach().to(torch::kDouble);
  SmoothObjective obj;
  obj.value = [this, y64](const torch::Tensor& z) { return saa_objective(*this, y64, z); };
  obj.grad = [this, y64](const torch::Tensor& z) { return grad_z(y64, z).mean(1); };
  obj.hessian = [this, y64](const torch::Tensor& z) { return hessian_form(y64, z); };
  obj.quadratic = quadratic_in_z();
  return ipm_solve(obj, constraints(), initial_point(y64), options);
}

Adjoint StochasticProgram::adjoint(const torch::Tensor& y, const Solution& sol,
                                   const torch::Tensor& dl_dz) const {
  const torch::Tensor y64 = y.detach().to(torch::kDouble);
  return kkt_adjoint(hessian_form(y64, sol.z), constraints(), sol, dl_dz, kkt_ridge());
}

torch::Tensor StochasticProgram::sample_gradient(const torch::Tensor& y, const Solution& sol,
                                                 const torch::Tensor& /*dl_dz*/,
                                                 const torch::Tensor& a) const {
  const torch::Tensor y64 = y.detach().to(torch::kDouble);
  return cross_vjp(y64, sol.z, a) * (-1.0 / static_cast<double>(y.size(1)));
}

torch::Tensor StochasticProgram::sf_weights(const torch::Tensor& y, const Solution& sol,
                                            const torch::Tensor& a) const {
  const torch::Tensor y64 = y.detach().to(torch::kDouble);
  return -(grad_z(y64, sol.z) * a.unsqueeze(1)).sum(-1);
}

torch::Tensor saa_objective(const StochasticProgram& program, const torch::Tensor& y,
                            const torch::Tensor& z) {
  const torch::Tensor zz =
      z.to(torch::kDouble).unsqueeze(1).expand({z.size(0), y.size(1), z.size(1)});
  return program.cost(y.to(torch::kDouble), zz).mean(1);
}

CostFunctionProgram::CostFunctionProgram(std::string name, int64_t n_y, int64_t n_z,
                                         LinearConstraints constraints, CostFn cost)
    : name_(std::move(name)),
      n_y_(n_y),
      n_z_(n_z),
      constraints_(std::move(constraints)),
      cost_(std::move(cost)) {
  DIFFDFL_CHECK(n_y_ >= 1 && n_z_ >= 1, "program '", name_, "': n_y and n_z must be >= 1, got ",
                n_y_, " and ", n_z_);
  DIFFDFL_CHECK(static_cast<bool>(cost_), "program '", name_, "': the cost function is empty");
  constraints_.validate(n_z_);
}

torch::Tensor CostFunctionProgram::cost(const torch::Tensor& y, const torch::Tensor& z) const {
  torch::Tensor f = cost_(y, z);
  DIFFDFL_CHECK(f.dim() == 2 && f.size(0) == y.size(0) && f.size(1) == y.size(1), "program '",
                name_, "': the cost must return [B, M] = ", shape_string({y.size(0), y.size(1)}),
                ", got ", shape_string(f.sizes()));
  return f;
}

}  // namespace diffdfl::opt
