#include "diffdfl/models/diffusion.h"

#include <cmath>
#include <utility>

#include "diffdfl/core/enum_names.h"
#include "diffdfl/core/error.h"
#include "diffdfl/core/tensor_checks.h"

namespace diffdfl::models {

namespace {
const EnumNames<ElboWeighting>& elbo_weighting_names() {
  static const EnumNames<ElboWeighting> names(
      "ELBO weighting", {{ElboWeighting::kUnit, "unit"}, {ElboWeighting::kLambda, "lambda"}});
  return names;
}
}  // namespace

std::string to_string(ElboWeighting value) {
  return elbo_weighting_names().name(value);
}

ElboWeighting parse_elbo_weighting(const std::string& name) {
  return elbo_weighting_names().parse(name);
}

void ElboOptions::validate() const {
  DIFFDFL_CHECK(draws >= 1, "ElboOptions.draws (K) must be >= 1, got ", draws);
  DIFFDFL_CHECK(chunk_rows >= 1, "ElboOptions.chunk_rows must be >= 1, got ", chunk_rows);
}

void DiffusionOptions::validate() const {
  schedule.validate();
  network.validate();
  sampler.validate();
  DIFFDFL_CHECK(sampler.steps <= schedule.steps,
                "DiffusionOptions.sampler.steps (S = ", sampler.steps,
                ") must be <= schedule.steps (T = ", schedule.steps, ")");
  elbo.validate();
  timestep_sampler.validate();
}

namespace {
const DiffusionOptions& validated(const DiffusionOptions& o) {
  o.validate();
  return o;
}
}  // namespace

struct DiffusionPredictor::ElboPlan {
  int64_t B = 0, M = 0, K = 0;
  torch::Tensor t;       // [B, M·K] int64 on the model's device; row g = m·K + k
  torch::Tensor coef;    // [B, M·K] model dtype: Ê_bm = −Σ_k coef·ℓ
  torch::Tensor t_cpu;   // same as t, on the CPU (for the history)
  torch::Tensor factor;  // [B, M·K] float64 CPU: the λ weighting factor (undefined for unit)
};

DiffusionPredictor::DiffusionPredictor(int64_t x_dim, int64_t y_dim,
                                       const DiffusionOptions& options, torch::Device device,
                                       torch::Dtype dtype)
    : DiffusionPredictor(std::make_shared<EpsNetworkImpl>(x_dim, y_dim, validated(options).network),
                         options, device, dtype) {}

DiffusionPredictor::DiffusionPredictor(std::shared_ptr<DenoiserImpl> net,
                                       const DiffusionOptions& options, torch::Device device,
                                       torch::Dtype dtype)
    : Predictor(net->x_dim(), net->y_dim(), device, dtype),
      options_(validated(options)),
      schedule_(options.schedule),
      plan_(plan_reverse_steps(schedule_, options.sampler)),
      timestep_sampler_(options.schedule.steps, options.timestep_sampler),
      net_(std::move(net)) {
  root_->register_module("denoiser", net_);
  x0_lo_ = root_->register_buffer("x0_lo", torch::full({y_dim()}, -INFINITY));
  x0_hi_ = root_->register_buffer("x0_hi", torch::full({y_dim()}, INFINITY));
  finish_construction();
  on_moved();
}

void DiffusionPredictor::on_moved() {
  sqrt_ab_ = schedule_.alpha_bars().sqrt().to(tensor_options());
  sqrt_1mab_ = (1.0 - schedule_.alpha_bars()).sqrt().to(tensor_options());
  lambda_ = schedule_.elbo_weights().to(tensor_options());
}

void DiffusionPredictor::set_sampler(const SamplerOptions& sampler) {
  DiffusionOptions o = options_;
  o.sampler = sampler;
  o.validate();
  plan_ = plan_reverse_steps(schedule_, sampler);
  options_ = o;
}

void DiffusionPredictor::set_sample_steps(int64_t steps) {
  SamplerOptions sampler = options_.sampler;
  sampler.steps = steps;
  set_sampler(sampler);
}

void DiffusionPredictor::set_x0_range(const torch::Tensor& lo, const torch::Tensor& hi) {
  check_shape(lo, "x0 range lo", {y_dim()});
  check_shape(hi, "x0 range hi", {y_dim()});
  DIFFDFL_CHECK((lo <= hi).all().item<bool>(), "x0 range: lo must be <= hi in every dimension");
  torch::NoGradGuard no_grad;
  x0_lo_.copy_(normalize_targets(lo.to(tensor_options())));
  x0_hi_.copy_(normalize_targets(hi.to(tensor_options())));
}

void DiffusionPredictor::set_elbo(const ElboOptions& elbo) {
  elbo.validate();
  options_.elbo = elbo;
}

// ---------------------------------------------------------------------------------------------
// Fitting loss and sampling.

torch::Tensor DiffusionPredictor::fit_loss(const torch::Tensor& x, const torch::Tensor& y) {
  const torch::Tensor xn = prepare_x(x);
  const int64_t B = xn.size(0);
  const torch::Tensor t = torch::randint(schedule_.steps(), {B}, torch::kLong).to(device());
  return denoising_loss(x, y, t);
}

torch::Tensor DiffusionPredictor::denoising_loss(const torch::Tensor& x, const torch::Tensor& y,
                                                 const torch::Tensor& t) {
  const torch::Tensor xn = prepare_x(x);
  const int64_t B = xn.size(0);
  const torch::Tensor yn = prepare_y(y, B);
  DIFFDFL_CHECK(t.dim() == 1 && t.size(0) == B, "t must be [", B, "], got ", t.sizes());
  const torch::Tensor tt = t.to(device(), torch::kLong);
  DIFFDFL_CHECK(tt.min().item<int64_t>() >= 0 && tt.max().item<int64_t>() < schedule_.steps(),
                "t must be in [0, ", schedule_.steps() - 1, "]");
  const torch::Tensor eps = torch::randn_like(yn);
  const torch::Tensor y_t = sqrt_ab_.index_select(0, tt).unsqueeze(1) * yn +
                            sqrt_1mab_.index_select(0, tt).unsqueeze(1) * eps;
  const torch::Tensor pred = net_->forward_rows(y_t, tt, xn);
  return (pred - eps).pow(2).mean();
}

torch::Tensor DiffusionPredictor::sample(const torch::Tensor& x, int64_t M, GraphMode mode) {
  check_sample_count(M);
  const torch::Tensor xn = prepare_x(x);
  const torch::Tensor y_start = torch::randn({xn.size(0), M, y_dim()}, tensor_options());
  return run_sampler(xn, y_start, mode);
}

torch::Tensor DiffusionPredictor::sample_from(const torch::Tensor& x, const torch::Tensor& y_start,
                                              GraphMode mode) {
  const torch::Tensor xn = prepare_x(x);
  check_shape(y_start, "y_start", {xn.size(0), -1, y_dim()});
  DIFFDFL_CHECK(y_start.size(1) >= 1, "y_start: M must be >= 1");
  return run_sampler(xn, y_start.to(tensor_options()), mode);
}

torch::Tensor DiffusionPredictor::run_sampler(const torch::Tensor& xn, const torch::Tensor& y_start,
                                              GraphMode mode) {
  const X0Bounds bounds = options_.sampler.clip_x0_range ? X0Bounds{x0_lo_, x0_hi_} : X0Bounds{};
  const torch::Tensor y0 =
      run_reverse_process(net_, plan_, xn, y_start, mode,
                          options_.sampler.resolved_segments(schedule_.steps()), bounds);
  if (mode == GraphMode::kNone) {
    torch::NoGradGuard no_grad;
    return denormalize_targets(y0);
  }
  return denormalize_targets(y0);
}

// ---------------------------------------------------------------------------------------------
// ELBO surrogate.

DiffusionPredictor::ElboPlan DiffusionPredictor::plan_elbo(int64_t B, int64_t M) {
  ElboPlan p;
  p.B = B;
  p.M = M;
  p.K = options_.elbo.draws;
  TimestepDraw d = timestep_sampler_.draw(B * M, p.K);
  p.t_cpu = d.t.view({B, M * p.K});
  torch::Tensor coef = d.coef.view({B, M * p.K});
  if (options_.elbo.weighting == ElboWeighting::kLambda) {
    p.factor = static_cast<double>(schedule_.steps()) *
               schedule_.elbo_weights().index_select(0, p.t_cpu.reshape({-1})).view({B, M * p.K});
    coef = coef * p.factor;
  }
  p.t = p.t_cpu.to(device());
  p.coef = coef.to(tensor_options());
  return p;
}

template <typename Sink>
void DiffusionPredictor::evaluate_elbo(const torch::Tensor& xn, const torch::Tensor& sn,
                                       const ElboPlan& plan, Sink&& sink) {
  const int64_t B = plan.B, M = plan.M, K = plan.K, G = M * K, n = y_dim();
  const int64_t L = options_.elbo.chunk_rows;
  auto run_chunk = [&](int64_t c0, int64_t c1, int64_t g0, int64_t g1) {
    const int64_t C = c1 - c0, Gc = g1 - g0;
    const DenoiserContext ctx = net_->condition(xn.narrow(0, c0, C));
    torch::Tensor y0;
    if (g0 == 0 && g1 == G) {
      y0 = sn.narrow(0, c0, C).unsqueeze(2).expand({C, M, K, n}).reshape({C, G, n});
    } else {
      const torch::Tensor m_idx =
          torch::arange(g0, g1, torch::TensorOptions().dtype(torch::kLong).device(device()))
              .div(K, "floor");
      y0 = sn.narrow(0, c0, C).index_select(1, m_idx);
    }
    const torch::Tensor tt = plan.t.narrow(0, c0, C).narrow(1, g0, Gc);
    const torch::Tensor eps = torch::randn({C, Gc, n}, tensor_options());
    const torch::Tensor flat = tt.reshape({-1});
    const torch::Tensor y_t = sqrt_ab_.index_select(0, flat).view({C, Gc, 1}) * y0 +
                              sqrt_1mab_.index_select(0, flat).view({C, Gc, 1}) * eps;
    const torch::Tensor loss = (net_->predict(y_t, tt, ctx) - eps).pow(2).sum(-1);  // [C, Gc]
    sink(c0, c1, g0, g1, loss);
  };
  if (G <= L) {
    const int64_t step = std::max<int64_t>(1, L / G);
    for (int64_t c0 = 0; c0 < B; c0 += step)
      run_chunk(c0, std::min(B, c0 + step), 0, G);
  } else {
    for (int64_t c = 0; c < B; ++c) {
      for (int64_t g0 = 0; g0 < G; g0 += L)
        run_chunk(c, c + 1, g0, std::min(G, g0 + L));
    }
  }
}

void DiffusionPredictor::finish_elbo(const ElboPlan& plan,
                                     const std::vector<torch::Tensor>& losses) {
  if (!timestep_sampler_.uses_history()) return;
  // losses: per chunk, in evaluation order; rebuild [B, M·K] on the CPU.
  torch::Tensor all = torch::empty({plan.B, plan.M * plan.K}, torch::kDouble);
  const int64_t G = plan.M * plan.K;
  const int64_t L = options_.elbo.chunk_rows;
  size_t i = 0;
  if (G <= L) {
    int64_t c0 = 0;
    for (; i < losses.size(); ++i) {
      const int64_t C = losses[i].size(0);
      all.narrow(0, c0, C).copy_(losses[i]);
      c0 += C;
    }
  } else {
    for (int64_t c = 0; c < plan.B; ++c) {
      for (int64_t g0 = 0; g0 < G; g0 += L, ++i)
        all[c].narrow(0, g0, losses[i].size(1)).copy_(losses[i][0]);
    }
  }
  if (plan.factor.defined()) all.mul_(plan.factor);
  timestep_sampler_.update(plan.t_cpu, all);
}

torch::Tensor DiffusionPredictor::log_density(const torch::Tensor& x,
                                              const torch::Tensor& samples) {
  const torch::Tensor xn = prepare_x(x);
  const int64_t B = xn.size(0);
  const torch::Tensor sn = prepare_samples(samples, B);
  const int64_t M = sn.size(1);
  const ElboPlan plan = plan_elbo(B, M);
  const int64_t K = plan.K, G = M * K;
  torch::Tensor out = torch::zeros({B, M}, tensor_options());
  std::vector<torch::Tensor> detached;
  const bool need_history = timestep_sampler_.uses_history();
  evaluate_elbo(
      xn, sn, plan, [&](int64_t c0, int64_t c1, int64_t g0, int64_t g1, const torch::Tensor& loss) {
        const int64_t C = c1 - c0;
        const torch::Tensor term = -(plan.coef.narrow(0, c0, C).narrow(1, g0, g1 - g0) * loss);
        torch::Tensor contrib;
        if (g0 == 0 && g1 == G) {
          contrib = term.view({C, M, K}).sum(-1);
        } else {
          const torch::Tensor m_idx =
              torch::arange(g0, g1, torch::TensorOptions().dtype(torch::kLong).device(device()))
                  .div(K, "floor");
          contrib = torch::zeros({C, M}, tensor_options()).index_add(1, m_idx, term);
        }
        const torch::Tensor rows =
            torch::arange(c0, c1, torch::TensorOptions().dtype(torch::kLong).device(device()));
        out = out.index_add(0, rows, contrib);
        if (need_history) detached.push_back(loss.detach().to(torch::kCPU, torch::kDouble));
      });
  finish_elbo(plan, detached);
  return out;
}

double DiffusionPredictor::surrogate_backward(const torch::Tensor& x, const torch::Tensor& samples,
                                              const torch::Tensor& weights, double scale) {
  const torch::Tensor xn = prepare_x(x);
  const int64_t B = xn.size(0);
  const torch::Tensor sn = prepare_samples(samples, B).detach();
  const int64_t M = sn.size(1);
  const torch::Tensor w = prepare_weights(weights, B, M);
  const ElboPlan plan = plan_elbo(B, M);
  const int64_t K = plan.K, G = M * K;
  double total = 0;
  std::vector<torch::Tensor> detached;
  const bool need_history = timestep_sampler_.uses_history();
  evaluate_elbo(
      xn, sn, plan, [&](int64_t c0, int64_t c1, int64_t g0, int64_t g1, const torch::Tensor& loss) {
        const int64_t C = c1 - c0;
        torch::Tensor row_w;
        if (g0 == 0 && g1 == G) {
          row_w = w.narrow(0, c0, C).unsqueeze(2).expand({C, M, K}).reshape({C, G});
        } else {
          const torch::Tensor m_idx =
              torch::arange(g0, g1, torch::TensorOptions().dtype(torch::kLong).device(device()))
                  .div(K, "floor");
          row_w = w.narrow(0, c0, C).index_select(1, m_idx);
        }
        const torch::Tensor s =
            -scale * (row_w * plan.coef.narrow(0, c0, C).narrow(1, g0, g1 - g0) * loss).sum();
        if (s.requires_grad()) s.backward();
        total += s.item<double>();
        if (need_history) detached.push_back(loss.detach().to(torch::kCPU, torch::kDouble));
      });
  finish_elbo(plan, detached);
  return total;
}

// ---------------------------------------------------------------------------------------------

void DiffusionPredictor::save_extra(torch::serialize::OutputArchive& archive) const {
  timestep_sampler_.save(archive, "state.timestep_sampler");
}

void DiffusionPredictor::load_extra(torch::serialize::InputArchive& archive) {
  timestep_sampler_.load(archive, "state.timestep_sampler");
}

}  // namespace diffdfl::models
