#include "diffdfl/opt/power.h"

#include <ATen/Parallel.h>

#include "diffdfl/core/enum_names.h"
#include "diffdfl/core/error.h"
#include "diffdfl/opt/ipm.h"
#include "diffdfl/opt/power_dp.h"

namespace diffdfl::opt {

namespace {

using torch::indexing::Slice;

detail::PowerParams params_of(const PowerOptions& o) {
  detail::PowerParams p;
  p.gamma_under = o.gamma_under;
  p.gamma_over = o.gamma_over;
  p.ramp = o.ramp;
  return p;
}

/// Rows 0..n−2: z_{i+1} − z_i ≤ c; rows n−1..2n−3: z_i − z_{i+1} ≤ c (the reference's order).
LinearConstraints ramp_constraints(int64_t n, double c) {
  const auto f64 = torch::TensorOptions().dtype(torch::kDouble);
  torch::Tensor D = torch::zeros({n - 1, n}, f64);
  for (int64_t i = 0; i + 1 < n; ++i) {
    D.index_put_({i, i}, -1.0);
    D.index_put_({i, i + 1}, 1.0);
  }
  return LinearConstraints::make(torch::cat({D, -D}, 0), torch::full({2 * (n - 1)}, c, f64));
}

/// Contiguous float64 CPU copies for the per-instance kernels.
torch::Tensor cpu64(const torch::Tensor& t) {
  return t.detach().to(torch::kCPU, torch::kDouble).contiguous();
}

/// Runs fn(b) for every instance in parallel (instances are independent).
template <typename Fn>
void for_each_instance(int64_t B, const Fn& fn) {
  at::parallel_for(0, B, 1, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b)
      fn(b);
  });
}

}  // namespace

namespace {
const EnumNames<PowerGradient>& gradient_names() {
  static const EnumNames<PowerGradient> names("power gradient mode",
                                              {{PowerGradient::kReference, "reference"},
                                               {PowerGradient::kExact, "exact"},
                                               {PowerGradient::kSmoothed, "smoothed"}});
  return names;
}
}  // namespace

const std::vector<std::string>& power_gradient_names() {
  return gradient_names().list();
}

PowerGradient parse_power_gradient(const std::string& name) {
  return gradient_names().parse(name);
}

const char* to_string(PowerGradient g) {
  return gradient_names().name(g).c_str();
}

void PowerOptions::validate() const {
  DIFFDFL_CHECK(n >= 2, "power.n must be >= 2, got ", n);
  DIFFDFL_CHECK(std::isfinite(gamma_under) && gamma_under >= 0,
                "power.gamma_under must be >= 0, got ", gamma_under);
  DIFFDFL_CHECK(std::isfinite(gamma_over) && gamma_over >= 0, "power.gamma_over must be >= 0, got ",
                gamma_over);
  DIFFDFL_CHECK(std::isfinite(ramp) && ramp > 0, "power.ramp must be > 0, got ", ramp);
}

PowerProgram::PowerProgram(PowerOptions options) : options_(options) {
  options_.validate();
  constraints_ = ramp_constraints(options_.n, options_.ramp);
}

torch::Tensor PowerProgram::cost(const torch::Tensor& y, const torch::Tensor& z) const {
  const torch::Tensor r = z - y;
  return (options_.gamma_under * torch::relu(-r) + options_.gamma_over * torch::relu(r) +
          0.5 * r * r)
      .sum(-1);
}

torch::Tensor PowerProgram::grad_z(const torch::Tensor& y, const torch::Tensor& z) const {
  const torch::Tensor r = z.unsqueeze(1) - y;
  return r - options_.gamma_under * (r < 0).to(r.scalar_type()) +
         options_.gamma_over * (r > 0).to(r.scalar_type());
}

torch::Tensor PowerProgram::saa_hessian(const torch::Tensor& y, const torch::Tensor& z) const {
  const torch::Tensor eye = torch::eye(options_.n, y.options().dtype(torch::kDouble))
                                .expand({y.size(0), options_.n, options_.n});
  if (options_.gradient != PowerGradient::kSmoothed) return eye;
  return eye + torch::diag_embed(smoothed_curvature(y, z));
}

torch::Tensor PowerProgram::cross_vjp(const torch::Tensor& y, const torch::Tensor& /*z*/,
                                      const torch::Tensor& v) const {
  return -v.to(torch::kDouble).unsqueeze(1).expand({y.size(0), y.size(1), options_.n});
}

Solution PowerProgram::solve(const torch::Tensor& y, const SolverOptions& options) const {
  check_samples(y);
  options.validate();
  const torch::Tensor yc = cpu64(y);
  const int64_t B = yc.size(0);
  const int64_t M = yc.size(1);
  const int64_t n = options_.n;
  const int64_t links = n - 1;
  const detail::PowerParams params = params_of(options_);
  torch::Tensor z = torch::empty({B, n}, torch::kDouble);
  torch::Tensor duals = torch::zeros({B, 2 * links}, torch::kDouble);
  torch::Tensor objective = torch::empty({B}, torch::kDouble);
  const double* yp = yc.data_ptr<double>();
  double* zp = z.data_ptr<double>();
  double* dp = duals.data_ptr<double>();
  double* op = objective.data_ptr<double>();
  for_each_instance(B, [&](int64_t b) {
    const double* yb = yp + b * M * n;
    double* zb = zp + b * n;
    detail::power_dp_solve(yb, M, n, params, zb);
    op[b] = detail::power_saa_objective(yb, M, n, params, zb);
    const detail::PowerAnalysis an = detail::analyse_power_solution(yb, M, n, params, zb);
    for (int64_t i = 0; i < links; ++i) {
      const double nu = an.nu[static_cast<size_t>(i)];
      dp[b * 2 * links + i] = nu > 0 ? nu : 0.0;
      dp[b * 2 * links + links + i] = nu < 0 ? -nu : 0.0;
    }
  });
  Solution sol;
  const torch::Device dev = y.device();
  sol.z = z.to(dev);
  sol.ineq_duals = duals.to(dev);
  sol.eq_duals = torch::zeros({B, 0}, sol.z.options());
  const LinearConstraints c = constraints_.to(dev);
  sol.slacks = (c.h - torch::matmul(sol.z, c.G.t())).clamp_min(0.0);
  sol.objective = objective.to(dev);
  sol.iterations = torch::ones({B}, sol.z.options().dtype(torch::kLong));
  const torch::Tensor finite = torch::isfinite(z).all(1);
  sol.status.resize(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) {
    sol.status[static_cast<size_t>(b)] =
        finite[b].item<bool>() ? SolveStatus::kSolved : SolveStatus::kNumerical;
  }
  return sol;
}

torch::Tensor PowerProgram::smoothed_curvature(const torch::Tensor& y,
                                               const torch::Tensor& z) const {
  const torch::Tensor y64 = y.to(torch::kDouble);
  const double M = static_cast<double>(y.size(1));
  // Silverman's rule per hour: h = 1.06 σ̂ M^(−1/5), σ̂ floored so identical samples stay finite.
  const torch::Tensor sd =
      y.size(1) > 1 ? y64.std(1) : torch::zeros({y.size(0), y.size(2)}, y64.options());
  const torch::Tensor bw = (1.06 * sd * std::pow(M, -0.2))
                               .clamp_min(1e-3 * (1.0 + y64.abs().amax({1, 2}, true).squeeze(1)));
  const torch::Tensor u = (z.to(torch::kDouble).unsqueeze(1) - y64) / bw.unsqueeze(1);
  const torch::Tensor density = (torch::exp(-0.5 * u * u).mean(1) / (bw * std::sqrt(2 * M_PI)));
  return (options_.gamma_under + options_.gamma_over) * density;
}

Adjoint PowerProgram::adjoint(const torch::Tensor& y, const Solution& sol,
                              const torch::Tensor& dl_dz) const {
  const torch::Tensor yc = cpu64(y);
  const torch::Tensor zc = cpu64(sol.z);
  const torch::Tensor uc = cpu64(dl_dz);
  // Diagonal of H: 1 (reference, exact) or 1 + (γu + γo) p̂_h(z_h) (smoothed).
  const torch::Tensor hc = options_.gradient == PowerGradient::kSmoothed
                               ? (1.0 + smoothed_curvature(yc, zc)).contiguous()
                               : torch::ones_like(zc);
  const int64_t B = yc.size(0);
  const int64_t M = yc.size(1);
  const int64_t n = options_.n;
  const detail::PowerParams params = params_of(options_);
  const bool exact = options_.gradient == PowerGradient::kExact;
  torch::Tensor a = torch::zeros({B, n}, torch::kDouble);
  const double* yp = yc.data_ptr<double>();
  const double* zp = zc.data_ptr<double>();
  const double* up = uc.data_ptr<double>();
  const double* hp = hc.data_ptr<double>();
  double* ap = a.data_ptr<double>();
  for_each_instance(B, [&](int64_t b) {
    const detail::PowerAnalysis an =
        detail::analyse_power_solution(yp + b * M * n, M, n, params, zp + b * n);
    for (size_t k = 0; k < an.chain_start.size(); ++k) {
      if (exact && an.pin_sample[k] >= 0) continue;  // a pinned chain does not respond to ∇F
      // The chain moves as one: dz_C = Σ_C ρ / Σ_C H_jj, so a_j = Σ_C u / Σ_C H_jj on the chain.
      double sum = 0.0;
      double curvature = 0.0;
      for (int j = an.chain_start[k]; j <= an.chain_end[k]; ++j) {
        sum += up[b * n + j];
        curvature += hp[b * n + j];
      }
      for (int j = an.chain_start[k]; j <= an.chain_end[k]; ++j)
        ap[b * n + j] = sum / curvature;
    }
  });
  Adjoint adj;
  adj.ok = sol.ok_mask();
  adj.a = torch::where(adj.ok.unsqueeze(1), a.to(sol.z.device()), torch::zeros_like(sol.z));
  return adj;
}

torch::Tensor PowerProgram::sample_gradient(const torch::Tensor& y, const Solution& sol,
                                            const torch::Tensor& dl_dz,
                                            const torch::Tensor& a) const {
  // Unpinned chains (every chain in reference mode): ∂ℓ/∂ŷ_m = −(1/M)(−I) a = a/M for each sample.
  torch::Tensor g = StochasticProgram::sample_gradient(y, sol, dl_dz, a);
  if (options_.gradient != PowerGradient::kExact) return g;
  const torch::Tensor yc = cpu64(y);
  const torch::Tensor zc = cpu64(sol.z);
  const torch::Tensor uc = cpu64(dl_dz);
  const int64_t B = yc.size(0);
  const int64_t M = yc.size(1);
  const int64_t n = options_.n;
  const detail::PowerParams params = params_of(options_);
  torch::Tensor pinned = torch::zeros({B, M, n}, torch::kDouble);
  const double* yp = yc.data_ptr<double>();
  const double* zp = zc.data_ptr<double>();
  const double* up = uc.data_ptr<double>();
  double* gp = pinned.data_ptr<double>();
  for_each_instance(B, [&](int64_t b) {
    const detail::PowerAnalysis an =
        detail::analyse_power_solution(yp + b * M * n, M, n, params, zp + b * n);
    for (size_t k = 0; k < an.chain_start.size(); ++k) {
      if (an.pin_sample[k] < 0) continue;
      // The whole chain moves with its pinned sample: dz_j = dŷ_{k,h*} for every j in the chain.
      double sum = 0.0;
      for (int j = an.chain_start[k]; j <= an.chain_end[k]; ++j)
        sum += up[b * n + j];
      gp[(b * M + an.pin_sample[k]) * n + an.pin_hour[k]] = sum;
    }
  });
  return g + pinned.to(g.device());
}

Solution solve_power_epigraph_qp(const PowerOptions& options, const torch::Tensor& y,
                                 const SolverOptions& solver) {
  options.validate();
  const torch::Tensor y64 = y.detach().to(torch::kDouble);
  const int64_t B = y64.size(0);
  const int64_t M = y64.size(1);
  const int64_t n = options.n;
  const int64_t N = n + M * n;  // x = (z, t) with t_mh at n + m·n + h
  const auto f64 = y64.options();
  const double gu = options.gamma_under;
  const double go = options.gamma_over;

  // Epigraph rows: −γu z_h − t_mh ≤ −γu y_mh  and  γo z_h − t_mh ≤ γo y_mh; then the ramps on z.
  const int64_t me = 2 * M * n;
  const LinearConstraints ramps = ramp_constraints(n, options.ramp).to(y64.device());
  torch::Tensor G = torch::zeros({me + ramps.n_ineq(), N}, f64);
  const torch::Tensor eye_n = torch::eye(n, f64);
  const torch::Tensor eye_t = torch::eye(M * n, f64);
  const torch::Tensor z_part = eye_n.repeat({M, 1});  // row m·n + h selects z_h
  G.index_put_({Slice(0, M * n), Slice(0, n)}, -gu * z_part);
  G.index_put_({Slice(0, M * n), Slice(n, N)}, -eye_t);
  G.index_put_({Slice(M * n, me), Slice(0, n)}, go * z_part);
  G.index_put_({Slice(M * n, me), Slice(n, N)}, -eye_t);
  G.index_put_({Slice(me, torch::indexing::None), Slice(0, n)}, ramps.G);
  const torch::Tensor yflat = y64.reshape({B, M * n});
  const torch::Tensor h =
      torch::cat({-gu * yflat, go * yflat, ramps.h.unsqueeze(0).expand({B, ramps.n_ineq()})}, 1);

  torch::Tensor P = torch::zeros({N, N}, f64);
  P.index_put_({Slice(0, n), Slice(0, n)}, eye_n);
  torch::Tensor q = torch::full({B, N}, 1.0 / static_cast<double>(M), f64);
  q.index_put_({Slice(), Slice(0, n)}, -y64.mean(1));
  const torch::Tensor x0 = torch::zeros({B, N}, f64);
  const Solution full = ipm_solve(quadratic_objective(P.expand({B, N, N}), q),
                                  LinearConstraints::make(G, h), x0, solver);

  Solution sol;
  sol.z = full.z.index({Slice(), Slice(0, n)});
  sol.ineq_duals = full.ineq_duals.index({Slice(), Slice(me, torch::indexing::None)});
  sol.eq_duals = torch::zeros({B, 0}, f64);
  sol.slacks = full.slacks.index({Slice(), Slice(me, torch::indexing::None)});
  // The QP objective lacks the constant (1/M) Σ_m ½‖y_m‖² of the SAA objective.
  sol.objective = full.objective + 0.5 * y64.pow(2).sum({1, 2}) / static_cast<double>(M);
  sol.iterations = full.iterations;
  sol.status = full.status;
  return sol;
}

}  // namespace diffdfl::opt
