#include "diffdfl/opt/decision_layer.h"

#include "diffdfl/core/error.h"
#include "diffdfl/core/tensor_checks.h"

namespace diffdfl::opt {

namespace {

using torch::indexing::Slice;

int64_t count_false(const torch::Tensor& ok) {
  return ok.numel() - ok.sum().item<int64_t>();
}

/// The solution of a pooled program (one instance) repeated for the B contexts that share it.
Solution expand_pooled(const Solution& p, int64_t B) {
  auto rep = [B](const torch::Tensor& t) {
    std::vector<int64_t> sizes(t.sizes().begin(), t.sizes().end());
    sizes[0] = B;
    return t.expand(sizes).contiguous();
  };
  Solution s;
  s.z = rep(p.z);
  s.ineq_duals = rep(p.ineq_duals);
  s.eq_duals = rep(p.eq_duals);
  s.slacks = rep(p.slacks);
  s.objective = rep(p.objective);
  s.iterations = rep(p.iterations);
  s.status.assign(static_cast<size_t>(B), p.status.at(0));
  return s;
}

/// The first instance of a batched solution (the pooled program's own solution).
Solution first_instance(const Solution& s) {
  Solution p;
  p.z = s.z.index({Slice(0, 1)});
  p.ineq_duals = s.ineq_duals.index({Slice(0, 1)});
  p.eq_duals = s.eq_duals.index({Slice(0, 1)});
  p.slacks = s.slacks.index({Slice(0, 1)});
  p.objective = s.objective.index({Slice(0, 1)});
  p.iterations = s.iterations.index({Slice(0, 1)});
  p.status = {s.status.at(0)};
  return p;
}

/// What the program sees: per-context instances, or one pooled instance whose decision is shared
/// (then ∂ℓ/∂z of the shared decision is the sum over the contexts).
struct ProgramView {
  torch::Tensor y;  // [B', M', n_y] float64
  Solution sol;     // B' instances
  torch::Tensor u;  // [B', n_z]
};

ProgramView program_view(bool pooled, const torch::Tensor& samples, const Solution& sol,
                         const torch::Tensor& dl_dz) {
  const torch::Tensor y = samples.detach().to(torch::kDouble);
  const torch::Tensor u = dl_dz.to(torch::kDouble);
  if (!pooled) return {y, sol, u};
  return {y.reshape({1, -1, y.size(2)}), first_instance(sol), u.sum(0, /*keepdim=*/true)};
}

/// Saved between the forward and the backward of DecisionFunction.
struct DecisionState : torch::CustomClassHolder {
  std::shared_ptr<const StochasticProgram> program;
  std::shared_ptr<LayerStats> stats;
  bool pooled = false;
  Solution solution;
  torch::Tensor samples;  // detached float64
};

struct DecisionFunction : torch::autograd::Function<DecisionFunction> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& samples,
                               c10::intrusive_ptr<DecisionState> state) {
    ctx->saved_data["state"] = c10::IValue::make_capsule(state);
    ctx->saved_data["dtype"] = static_cast<int64_t>(samples.scalar_type());
    return state->solution.z.clone();
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out) {
    auto state =
        c10::static_intrusive_pointer_cast<DecisionState>(ctx->saved_data["state"].toCapsule());
    const auto dtype = static_cast<c10::ScalarType>(ctx->saved_data["dtype"].toInt());
    const torch::Tensor& samples = state->samples;
    const torch::Tensor dl_dz =
        grad_out[0].defined() ? grad_out[0] : torch::zeros_like(state->solution.z);
    const ProgramView v = program_view(state->pooled, samples, state->solution, dl_dz);
    const Adjoint adj = state->program->adjoint(v.y, v.sol, v.u);
    torch::Tensor g = state->program->sample_gradient(v.y, v.sol, v.u, adj.a);
    // A gradient that overflowed (e.g. samples near 1e300) is as unusable as a singular adjoint.
    const torch::Tensor ok = adj.ok.logical_and(finite_rows(g).to(adj.ok.device()));
    state->stats->adjoint_failures += count_false(ok) - v.sol.failures();
    g = torch::where(ok.view({-1, 1, 1}), g, torch::zeros_like(g));
    return {g.reshape(samples.sizes()).to(dtype), torch::Tensor()};
  }
};

}  // namespace

DecisionLayer::DecisionLayer(std::shared_ptr<const StochasticProgram> program, LayerOptions options)
    : program_(std::move(program)), options_(options), stats_(std::make_shared<LayerStats>()) {
  DIFFDFL_CHECK(program_ != nullptr, "DecisionLayer: program is null");
  options_.validate();
}

Solution DecisionLayer::solve(const torch::Tensor& samples) const {
  program_->check_samples(samples);
  const torch::Tensor y = samples.detach().to(torch::kDouble);
  const int64_t B = y.size(0);
  Solution sol =
      options_.pooled
          ? expand_pooled(program_->solve(y.reshape({1, -1, y.size(2)}), options_.solver), B)
          : program_->solve(y, options_.solver);
  sol.mark_non_finite();
  stats_->solves += options_.pooled ? 1 : B;
  stats_->solve_failures += options_.pooled ? (sol.all_ok() ? 0 : 1) : sol.failures();
  return sol;
}

torch::Tensor DecisionLayer::decide(const torch::Tensor& samples, Solution* solution) const {
  auto state = c10::make_intrusive<DecisionState>();
  state->program = program_;
  state->stats = stats_;
  state->pooled = options_.pooled;
  state->solution = solve(samples);
  state->samples = samples.detach().to(torch::kDouble);
  if (solution != nullptr) *solution = state->solution;
  return DecisionFunction::apply(samples, state);
}

torch::Tensor DecisionLayer::sf_weights(const torch::Tensor& samples, const Solution& solution,
                                        const torch::Tensor& dl_dz) const {
  program_->check_samples(samples);
  check_shape(dl_dz, "dl_dz", {samples.size(0), program_->n_z()});
  const ProgramView v = program_view(options_.pooled, samples, solution, dl_dz);
  const Adjoint adj = program_->adjoint(v.y, v.sol, v.u);
  torch::Tensor w = program_->sf_weights(v.y, v.sol, adj.a);
  const torch::Tensor ok = adj.ok.logical_and(finite_rows(w).to(adj.ok.device()));
  stats_->adjoint_failures += count_false(ok) - v.sol.failures();
  w = torch::where(ok.view({-1, 1}), w, torch::zeros_like(w));
  return w.reshape({samples.size(0), samples.size(1)}).detach();
}

}  // namespace diffdfl::opt
