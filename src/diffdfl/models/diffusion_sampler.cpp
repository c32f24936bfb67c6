#include "diffdfl/models/diffusion_sampler.h"

#include <cmath>
#include <utility>

#include "diffdfl/core/enum_names.h"
#include "diffdfl/core/error.h"
#include "diffdfl/models/silu_layer_norm.h"

namespace diffdfl::models {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// One reverse step. The no-grad path works in place; both paths evaluate the same kernels in the
// same order, so they give bit-identical results.
torch::Tensor reverse_step(DenoiserImpl& net, const torch::Tensor& y, const ReverseStep& s,
                           const DenoiserContext& ctx, const torch::Tensor& noise,
                           const X0Bounds& bounds) {
  const torch::Tensor t =
      torch::scalar_tensor(s.t, torch::TensorOptions().dtype(torch::kLong).device(y.device()));
  torch::Tensor eps = net.predict(y, t, ctx);
  if (s.clip > 0 || bounds.defined()) {
    torch::Tensor y0 = (y - eps * s.sqrt_one_minus_ab) / s.sqrt_ab;
    if (s.clip > 0) y0 = y0.clamp(-s.clip, s.clip);
    if (bounds.defined()) y0 = torch::clamp(y0, bounds.lo, bounds.hi);
    eps = (y - y0 * s.sqrt_ab) / s.sqrt_one_minus_ab;
  }
  if (!torch::GradMode::is_enabled()) {
    eps.mul_(s.c_eps).add_(y, s.c_y);
    if (s.sigma > 0) eps.add_(noise, s.sigma);
    return eps;
  }
  torch::Tensor out = torch::add(eps * s.c_eps, y, s.c_y);
  if (s.sigma > 0) out = torch::add(out, noise, s.sigma);
  return out;
}

torch::Tensor draw_noise(const ReverseStep& s, const torch::Tensor& y) {
  return s.sigma > 0 ? torch::randn_like(y) : torch::Tensor();
}

// What the checkpointed sampler keeps between its forward and backward passes.
struct CheckpointState : torch::CustomClassHolder {
  std::shared_ptr<DenoiserImpl> net;
  std::vector<ReverseStep> plan;
  std::vector<int64_t> seg_begin;         // segment k = plan[seg_begin[k], seg_begin[k+1])
  std::vector<torch::Tensor> boundaries;  // the state at the start of each segment
  std::vector<torch::Tensor> noise;       // ξ of each step (undefined where σ = 0)
  X0Bounds bounds;
};

// y0 = sampler(x, y_start; θ) with segment checkpointing. Inputs in graph order: x, y_start,
// (state: not a tensor), then every parameter of the network.
class CheckpointedReverse : public torch::autograd::Function<CheckpointedReverse> {
 public:
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& y_start,
                               c10::intrusive_ptr<CheckpointState> state,
                               torch::TensorList /*params*/) {
    // Function::apply runs this under no-grad; evaluate the same kernels as the recomputation.
    const FusedKernelsDisabled same_kernels;
    const DenoiserContext dctx = state->net->condition(x);
    torch::Tensor y = y_start;
    const auto nseg = static_cast<int64_t>(state->seg_begin.size()) - 1;
    state->noise.resize(state->plan.size());
    for (int64_t k = 0; k < nseg; ++k) {
      state->boundaries.push_back(y);
      for (int64_t i = state->seg_begin[static_cast<size_t>(k)];
           i < state->seg_begin[static_cast<size_t>(k + 1)]; ++i) {
        const ReverseStep& s = state->plan[static_cast<size_t>(i)];
        state->noise[static_cast<size_t>(i)] = draw_noise(s, y);
        y = reverse_step(*state->net, y, s, dctx, state->noise[static_cast<size_t>(i)],
                         state->bounds);
      }
    }
    ctx->save_for_backward({x});
    ctx->saved_data["state"] = c10::IValue::make_capsule(std::move(state));
    return {y};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto state =
        c10::static_intrusive_pointer_cast<CheckpointState>(ctx->saved_data["state"].toCapsule());
    const torch::Tensor x = ctx->get_saved_variables()[0];
    DenoiserImpl& net = *state->net;
    const std::vector<torch::Tensor> params = net.parameters();
    const bool need_x = ctx->needs_input_grad(0);
    const bool need_y = ctx->needs_input_grad(1);

    torch::AutoGradMode enable_grad(true);
    // The context with its graph to the parameters (and x); the segments see detached leaves and
    // their gradients are accumulated and pushed through this graph once at the end.
    const torch::Tensor x_leaf = x.detach().requires_grad_(need_x);
    const DenoiserContext graph_ctx = net.condition(x_leaf);
    DenoiserContext leaf_ctx;
    std::vector<size_t> leaf_index;  // positions in ctx.tensors that carry a graph
    for (size_t j = 0; j < graph_ctx.tensors.size(); ++j) {
      const torch::Tensor& c = graph_ctx.tensors[j];
      if (c.defined() && c.requires_grad()) {
        leaf_ctx.tensors.push_back(c.detach().requires_grad_(true));
        leaf_index.push_back(j);
      } else {
        leaf_ctx.tensors.push_back(c);
      }
    }
    std::vector<size_t> param_index;
    for (size_t i = 0; i < params.size(); ++i) {
      if (params[i].requires_grad() && ctx->needs_input_grad(2 + i)) param_index.push_back(i);
    }

    std::vector<torch::Tensor> param_grad(params.size());
    std::vector<torch::Tensor> leaf_grad(leaf_index.size());
    auto accumulate = [](torch::Tensor& acc, const torch::Tensor& g) {
      if (!g.defined()) return;
      acc = acc.defined() ? acc + g : g;
    };

    torch::Tensor grad_y = grad_outputs[0];
    const auto nseg = static_cast<int64_t>(state->seg_begin.size()) - 1;
    for (int64_t k = nseg - 1; k >= 0; --k) {
      const torch::Tensor y_seg =
          state->boundaries[static_cast<size_t>(k)].detach().requires_grad_(true);
      torch::Tensor y = y_seg;
      for (int64_t i = state->seg_begin[static_cast<size_t>(k)];
           i < state->seg_begin[static_cast<size_t>(k + 1)]; ++i) {
        y = reverse_step(net, y, state->plan[static_cast<size_t>(i)], leaf_ctx,
                         state->noise[static_cast<size_t>(i)], state->bounds);
      }
      variable_list inputs{y_seg};
      for (size_t j : leaf_index)
        inputs.push_back(leaf_ctx.tensors[j]);
      for (size_t i : param_index)
        inputs.push_back(params[i]);
      const variable_list g = torch::autograd::grad({y}, inputs, {grad_y}, /*retain_graph=*/false,
                                                    /*create_graph=*/false, /*allow_unused=*/true);
      grad_y = g[0];
      for (size_t j = 0; j < leaf_index.size(); ++j)
        accumulate(leaf_grad[j], g[1 + j]);
      for (size_t i = 0; i < param_index.size(); ++i) {
        accumulate(param_grad[param_index[i]], g[1 + leaf_index.size() + i]);
      }
    }

    torch::Tensor grad_x;
    variable_list ctx_out, ctx_grad;
    for (size_t j = 0; j < leaf_index.size(); ++j) {
      if (!leaf_grad[j].defined()) continue;
      ctx_out.push_back(graph_ctx.tensors[leaf_index[j]]);
      ctx_grad.push_back(leaf_grad[j]);
    }
    if (!ctx_out.empty()) {
      variable_list inputs;
      for (size_t i : param_index)
        inputs.push_back(params[i]);
      if (need_x) inputs.push_back(x_leaf);
      if (!inputs.empty()) {
        const variable_list g =
            torch::autograd::grad(ctx_out, inputs, ctx_grad, false, false, true);
        for (size_t i = 0; i < param_index.size(); ++i)
          accumulate(param_grad[param_index[i]], g[i]);
        if (need_x) grad_x = g[param_index.size()];
      }
    }

    variable_list result{grad_x, need_y ? grad_y : torch::Tensor(), torch::Tensor()};
    for (auto& g : param_grad)
      result.push_back(g);
    return result;
  }
};

}  // namespace

namespace {
const EnumNames<SamplerKind>& sampler_kind_names() {
  static const EnumNames<SamplerKind> names(
      "sampler", {{SamplerKind::kDdim, "ddim"}, {SamplerKind::kDdpm, "ddpm"}});
  return names;
}
}  // namespace

std::string to_string(SamplerKind value) {
  return sampler_kind_names().name(value);
}

SamplerKind parse_sampler_kind(const std::string& name) {
  return sampler_kind_names().parse(name);
}

void SamplerOptions::validate() const {
  DIFFDFL_CHECK(eta >= 0 && eta <= 1, "SamplerOptions.eta must be in [0, 1], got ", eta);
  DIFFDFL_CHECK(steps >= 0, "SamplerOptions.steps must be >= 0 (0 = T), got ", steps);
  DIFFDFL_CHECK(std::isfinite(clip_x0) && clip_x0 >= 0,
                "SamplerOptions.clip_x0 must be >= 0 (0 = no clipping), got ", clip_x0);
  DIFFDFL_CHECK(checkpoint_segments >= 0,
                "SamplerOptions.checkpoint_segments must be >= 0 (0 = round(sqrt(S))), got ",
                checkpoint_segments);
}

int64_t SamplerOptions::resolved_steps(int64_t T) const {
  validate();
  DIFFDFL_CHECK(steps <= T, "SamplerOptions.steps (S = ", steps, ") must be <= T = ", T);
  return steps == 0 ? T : steps;
}

int64_t SamplerOptions::resolved_segments(int64_t T) const {
  const int64_t S = resolved_steps(T);
  const int64_t k = checkpoint_segments > 0
                        ? checkpoint_segments
                        : static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(S))));
  return std::max<int64_t>(1, std::min(k, S));
}

std::vector<ReverseStep> plan_reverse_steps(const NoiseSchedule& schedule,
                                            const SamplerOptions& options) {
  const int64_t T = schedule.steps();
  const int64_t S = options.resolved_steps(T);
  const std::vector<int64_t> taus = strided_timesteps(T, S);
  std::vector<ReverseStep> plan;
  plan.reserve(static_cast<size_t>(S));
  for (int64_t i = S - 1; i >= 0; --i) {
    ReverseStep s;
    s.t = taus[static_cast<size_t>(i)];
    const bool consecutive = i == 0 ? s.t == 0 : taus[static_cast<size_t>(i - 1)] == s.t - 1;
    const double ab = schedule.alpha_bar(s.t);
    const double abp = i == 0 ? 1.0 : schedule.alpha_bar(taus[static_cast<size_t>(i - 1)]);
    s.clip = options.clip_x0;
    s.sqrt_ab = std::sqrt(ab);
    s.sqrt_one_minus_ab = std::sqrt(1.0 - ab);
    if (options.kind == SamplerKind::kDdim) {
      s.sigma = options.eta * std::sqrt((1.0 - abp) / (1.0 - ab)) * std::sqrt(1.0 - ab / abp);
      s.c_y = std::sqrt(abp / ab);
      s.c_eps = std::sqrt(std::max(0.0, 1.0 - abp - s.sigma * s.sigma)) -
                std::sqrt(abp * (1.0 - ab) / ab);
    } else {
      const double beta = consecutive ? schedule.beta(s.t) : 1.0 - ab / abp;
      const double alpha = 1.0 - beta;
      s.c_y = 1.0 / std::sqrt(alpha);
      s.c_eps = -beta / (std::sqrt(alpha) * std::sqrt(1.0 - ab));
      s.sigma = i == 0 ? 0.0 : std::sqrt(beta * (1.0 - abp) / (1.0 - ab));
    }
    plan.push_back(s);
  }
  return plan;
}

torch::Tensor run_reverse_process(const std::shared_ptr<DenoiserImpl>& net,
                                  const std::vector<ReverseStep>& plan, const torch::Tensor& x,
                                  const torch::Tensor& y_start, GraphMode mode, int64_t segments,
                                  const X0Bounds& bounds) {
  DIFFDFL_CHECK(net != nullptr, "run_reverse_process: no network");
  DIFFDFL_CHECK(!plan.empty(), "run_reverse_process: empty plan");
  DIFFDFL_CHECK(x.dim() == 2 && y_start.dim() == 3 && x.size(0) == y_start.size(0),
                "run_reverse_process: x must be [C, x_dim] and y_start [C, G, y_dim], got ",
                x.sizes(), " and ", y_start.sizes());
  if (mode == GraphMode::kNone || (mode == GraphMode::kFull && !torch::GradMode::is_enabled())) {
    torch::NoGradGuard no_grad;
    const DenoiserContext ctx = net->condition(x);
    torch::Tensor y = y_start;
    for (const ReverseStep& s : plan)
      y = reverse_step(*net, y, s, ctx, draw_noise(s, y), bounds);
    return y;
  }
  if (mode == GraphMode::kFull) {
    const DenoiserContext ctx = net->condition(x);
    torch::Tensor y = y_start;
    for (const ReverseStep& s : plan)
      y = reverse_step(*net, y, s, ctx, draw_noise(s, y), bounds);
    return y;
  }
  const auto S = static_cast<int64_t>(plan.size());
  const int64_t K = std::max<int64_t>(1, std::min(segments, S));
  auto state = c10::make_intrusive<CheckpointState>();
  state->net = net;
  state->plan = plan;
  state->bounds = bounds;
  for (int64_t k = 0; k <= K; ++k)
    state->seg_begin.push_back(k * S / K);
  const std::vector<torch::Tensor> params = net->parameters();
  return CheckpointedReverse::apply(x, y_start, std::move(state), torch::TensorList(params))[0];
}

}  // namespace diffdfl::models
