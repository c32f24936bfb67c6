#include "diffdfl/opt/ipm.h"

#include <limits>

#include "diffdfl/core/error.h"
#include "diffdfl/core/tensor_checks.h"

namespace diffdfl::opt {

namespace {

constexpr double kStepToBoundary = 0.995;

/// Per-instance largest α ∈ (0, 1] with v + α dv ≥ 0 (v > 0), over the last dimension.
torch::Tensor max_step(const torch::Tensor& v, const torch::Tensor& dv) {
  if (v.size(-1) == 0) return torch::ones({v.size(0)}, v.options());
  const torch::Tensor ratio = torch::where(dv < 0, -v / dv, torch::full_like(v, 1e300));
  return std::get<0>(ratio.min(-1)).clamp_max(1.0);
}

torch::Tensor inf_norm(const torch::Tensor& t) {
  if (t.size(-1) == 0) return torch::zeros({t.size(0)}, t.options());
  return std::get<0>(t.abs().max(-1));
}

struct Residuals {
  torch::Tensor rd, rp, re, gap;  // stationarity [B,n], inequality [B,m], equality [B,p], sᵀλ [B]
  torch::Tensor res_p, res_d, res_c;  // scaled maxima [B]
  torch::Tensor f, g;

  torch::Tensor worst() const { return torch::maximum(torch::maximum(res_p, res_d), res_c); }
  /// ‖(rd, rp, re, s∘λ)‖₂ per instance, the line-search merit.
  torch::Tensor merit(const torch::Tensor& s, const torch::Tensor& lam) const {
    return (rd.pow(2).sum(1) + rp.pow(2).sum(1) + re.pow(2).sum(1) + (s * lam).pow(2).sum(1))
        .sqrt();
  }
};

struct IpmState {
  torch::Tensor z, s, lam, nu;
};

Residuals residuals(const SmoothObjective& obj, const LinearConstraints& c, const IpmState& x,
                    double scale_p) {
  Residuals r;
  r.f = obj.value(x.z);
  r.g = obj.grad(x.z);
  r.rd = r.g + c.Gt_times(x.lam) + torch::matmul(x.nu, c.A);
  r.rp = c.G_times(x.z) + x.s - c.h;
  r.re = torch::matmul(x.z, c.A.t()) - c.b;
  r.gap = (x.s * x.lam).sum(1);
  r.res_p = torch::maximum(inf_norm(r.rp), inf_norm(r.re)) / scale_p;
  r.res_d = inf_norm(r.rd) / (1.0 + inf_norm(r.g));
  r.res_c = r.gap / (1.0 + r.f.abs());
  return r;
}

torch::Tensor finite_state(const IpmState& x) {
  return finite_rows(x.z) & finite_rows(x.s) & finite_rows(x.lam) &
         (x.nu.size(1) > 0 ? finite_rows(x.nu)
                           : torch::ones({x.z.size(0)}, x.z.options().dtype(torch::kBool)));
}

Solution ipm_solve_impl(const SmoothObjective& obj, const LinearConstraints& constraints,
                        const torch::Tensor& z0, const SolverOptions& options, bool certify);

}  // namespace

SmoothObjective quadratic_objective(const torch::Tensor& P, const torch::Tensor& q) {
  check_shape(P, "P", {-1, -1, -1});
  check_shape(q, "q", {P.size(0), P.size(1)});
  SmoothObjective obj;
  obj.value = [P, q](const torch::Tensor& z) {
    return 0.5 * (torch::matmul(P, z.unsqueeze(-1)).squeeze(-1) * z).sum(1) + (q * z).sum(1);
  };
  obj.grad = [P, q](const torch::Tensor& z) {
    return torch::matmul(P, z.unsqueeze(-1)).squeeze(-1) + q;
  };
  obj.hessian = [P](const torch::Tensor&) { return HessianForm::dense(P); };
  obj.quadratic = true;
  return obj;
}

Solution ipm_solve(const SmoothObjective& obj, const LinearConstraints& constraints,
                   const torch::Tensor& z0, const SolverOptions& options) {
  return ipm_solve_impl(obj, constraints, z0, options, /*certify=*/true);
}

namespace {

Solution ipm_solve_impl(const SmoothObjective& obj, const LinearConstraints& constraints,
                        const torch::Tensor& z0, const SolverOptions& options, bool certify) {
  options.validate();
  check_shape(z0, "z0", {-1, -1});
  const int64_t B = z0.size(0);
  const int64_t n = z0.size(1);
  constraints.validate(n);
  const LinearConstraints c = constraints.to(z0.device());
  const int64_t m = c.n_ineq();
  const auto f64 = z0.options().dtype(torch::kDouble);
  const auto i64 = z0.options().dtype(torch::kLong);
  DIFFDFL_CHECK(c.h.dim() == 1 || c.h.size(0) == B, "constraints.h: batched right-hand side has ",
                c.h.size(0), " rows for a batch of ", B);
  DIFFDFL_CHECK(c.b.dim() == 1 || c.b.size(0) == B, "constraints.b: batched right-hand side has ",
                c.b.size(0), " rows for a batch of ", B);
  const double scale_p = 1.0 + std::max(m ? c.h.abs().max().item<double>() : 0.0,
                                        c.n_eq() ? c.b.abs().max().item<double>() : 0.0);

  IpmState x;
  x.z = z0.to(torch::kDouble).clone();
  x.s = (c.h - c.G_times(x.z)).clamp_min(1.0);
  x.lam = torch::ones({B, m}, f64);
  x.nu = torch::zeros({B, c.n_eq()}, f64);

  std::vector<SolveStatus> status(static_cast<size_t>(B), SolveStatus::kMaxIter);
  torch::Tensor iterations = torch::zeros({B}, i64);
  torch::Tensor active = torch::ones({B}, f64.dtype(torch::kBool));
  torch::Tensor numerical = torch::zeros({B}, f64.dtype(torch::kBool));

  Residuals r = residuals(obj, c, x, scale_p);
  for (int64_t it = 0; it <= options.max_iter; ++it) {
    const torch::Tensor finite = finite_state(x) & finite_rows(r.rd) & torch::isfinite(r.f);
    numerical = numerical | (active & finite.logical_not());
    const torch::Tensor converged = r.worst() <= options.tol;
    active = active & converged.logical_not() & finite;
    if (!active.any().item<bool>() || it == options.max_iter) break;
    iterations += active.to(torch::kLong);

    const torch::Tensor D = x.lam / x.s;  // [B, m]
    const ReducedKkt newton(obj.hessian(x.z), c, D, 0.0, 0.0, /*definite=*/true);
    numerical = numerical | (active & newton.failed());
    active = active & newton.failed().logical_not();

    auto direction = [&](const torch::Tensor& rc) {
      const torch::Tensor r1 = -r.rd - c.Gt_times(D * r.rp - rc / x.s);
      auto [dz, dnu] = newton.solve(r1, -r.re);
      const torch::Tensor Gdz = c.G_times(dz);
      const torch::Tensor dlam = D * (Gdz + r.rp) - rc / x.s;
      const torch::Tensor ds = -r.rp - Gdz;
      return IpmState{dz, ds, dlam, dnu};
    };

    // Predictor (affine-scaling) step, then Mehrotra's centring-corrector.
    const torch::Tensor mu = r.gap / std::max<int64_t>(m, 1);
    const IpmState aff = direction(x.s * x.lam);
    const torch::Tensor a_aff = torch::minimum(max_step(x.s, aff.s), max_step(x.lam, aff.lam));
    const torch::Tensor mu_aff =
        ((x.s + a_aff.unsqueeze(1) * aff.s) * (x.lam + a_aff.unsqueeze(1) * aff.lam)).sum(1) /
        std::max<int64_t>(m, 1);
    const torch::Tensor sigma = (mu_aff / mu.clamp_min(1e-300)).pow(3).clamp(0.0, 1.0);
    const IpmState d = direction(x.s * x.lam + aff.s * aff.lam - (sigma * mu).unsqueeze(1));
    torch::Tensor alpha =
        (kStepToBoundary * torch::minimum(max_step(x.s, d.s), max_step(x.lam, d.lam)))
            .clamp_max(1.0);
    alpha = torch::where(active, alpha, torch::zeros_like(alpha));

    auto step = [&](const torch::Tensor& a) {
      const torch::Tensor a1 = a.unsqueeze(1);
      return IpmState{x.z + a1 * d.z, x.s + a1 * d.s, x.lam + a1 * d.lam, x.nu + a1 * d.nu};
    };
    IpmState next = step(alpha);
    Residuals r_next = residuals(obj, c, next, scale_p);
    if (!obj.quadratic) {
      // Backtrack until the KKT residual decreases sufficiently (or the step is negligible).
      const torch::Tensor merit0 = r.merit(x.s, x.lam);
      for (int k = 0; k < 30; ++k) {
        const torch::Tensor merit = r_next.merit(next.s, next.lam);
        const torch::Tensor bad =
            active & ((merit > (1.0 - 0.01 * alpha * (1.0 - sigma)) * merit0) | merit.isnan()) &
            (alpha > 1e-10);
        if (!bad.any().item<bool>()) break;
        alpha = torch::where(bad, 0.5 * alpha, alpha);
        next = step(alpha);
        r_next = residuals(obj, c, next, scale_p);
      }
    }
    x = next;
    r = r_next;
  }

  const torch::Tensor worst = r.worst().cpu();
  const torch::Tensor num_cpu = numerical.cpu();
  const torch::Tensor finite_cpu = finite_state(x).cpu();
  bool any_failed = false;
  for (int64_t b = 0; b < B; ++b) {
    const double w = worst[b].item<double>();
    SolveStatus& st = status[static_cast<size_t>(b)];
    if (!finite_cpu[b].item<bool>() || !std::isfinite(w)) {
      st = SolveStatus::kNumerical;
    } else if (w <= options.tol) {
      st = SolveStatus::kSolved;
    } else if (w <= options.inaccurate_tol) {
      st = SolveStatus::kInaccurate;
    } else {
      st = num_cpu[b].item<bool>() ? SolveStatus::kNumerical : SolveStatus::kMaxIter;
    }
    any_failed = any_failed || !usable(st);
  }
  if (certify && any_failed) {
    // Tell infeasible constraints from numerical failure with a phase-I problem.
    if (!constraints.batched_rhs()) {
      if (!constraints_feasible(constraints, options)) {
        for (auto& st : status) {
          if (!usable(st)) st = SolveStatus::kInfeasible;
        }
      }
    } else {
      for (int64_t b = 0; b < B; ++b) {
        SolveStatus& st = status[static_cast<size_t>(b)];
        if (!usable(st) && !constraints_feasible(constraints.instance(b), options)) {
          st = SolveStatus::kInfeasible;
        }
      }
    }
  }

  Solution sol;
  sol.z = x.z;
  sol.ineq_duals = x.lam;
  sol.eq_duals = x.nu;
  sol.slacks = c.h - c.G_times(x.z);
  sol.objective = r.f;
  sol.iterations = iterations;
  sol.status = std::move(status);
  return sol;
}

}  // namespace

bool constraints_feasible(const LinearConstraints& constraints, const SolverOptions& options) {
  // Phase I: min τ + (δ/2)‖z‖²  s.t.  G z − τ ≤ h,  −τ ≤ 1,  A z = b.  Feasible iff τ* ≤ 0 (up to
  // tolerance). δ keeps the Newton matrix definite along directions G leaves free.
  const int64_t n = constraints.G.size(1);
  const int64_t m = constraints.n_ineq();
  const auto f64 = constraints.G.options();
  const double delta = 1e-9;
  torch::Tensor G1 = torch::zeros({m + 1, n + 1}, f64);
  G1.index_put_({torch::indexing::Slice(0, m), torch::indexing::Slice(0, n)}, constraints.G);
  G1.index_put_({torch::indexing::Slice(0, m), n}, -1.0);
  G1.index_put_({m, n}, -1.0);
  torch::Tensor h1 = torch::cat({constraints.h, torch::ones({1}, f64)});
  torch::Tensor A1 = torch::cat({constraints.A, torch::zeros({constraints.n_eq(), 1}, f64)}, 1);
  const LinearConstraints c1 = LinearConstraints::make(G1, h1, A1, constraints.b);
  torch::Tensor P = delta * torch::eye(n + 1, f64);
  P.index_put_({n, n}, 0.0);
  torch::Tensor q = torch::zeros({n + 1}, f64);
  q.index_put_({n}, 1.0);
  SolverOptions o = options;
  o.tol = std::max(options.tol, 1e-9);
  o.max_iter = std::max<int64_t>(options.max_iter, 200);
  const Solution s1 = ipm_solve_impl(quadratic_objective(P.unsqueeze(0), q.unsqueeze(0)), c1,
                                     torch::zeros({1, n + 1}, f64), o, /*certify=*/false);
  if (!usable(s1.status[0])) return false;  // the phase-I problem itself has no feasible point
  return s1.z[0][n].item<double>() <= 1e-7;
}

}  // namespace diffdfl::opt
