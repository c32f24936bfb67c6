#include "diffdfl/models/diffusion.h"

#include <gtest/gtest.h>

#include <sstream>

#include "diffdfl/core/error.h"
#include "test_util.h"

namespace diffdfl::models {
namespace {

using testing::relative_error;

DiffusionOptions small_options(int64_t T = 30) {
  DiffusionOptions o;
  o.schedule.steps = T;
  o.schedule.beta_start = 1e-4 * 1000.0 / static_cast<double>(T);
  o.schedule.beta_end = 0.02 * 1000.0 / static_cast<double>(T);
  o.network.width = 16;
  o.network.time_hidden = 8;
  o.elbo.draws = 3;
  return o;
}

std::unique_ptr<DiffusionPredictor> make(const DiffusionOptions& o, uint64_t seed = 1,
                                         int64_t x_dim = 3, int64_t y_dim = 2) {
  torch::manual_seed(seed);
  return std::make_unique<DiffusionPredictor>(x_dim, y_dim, o, torch::kCPU, torch::kDouble);
}

void set_transform(DiffusionPredictor& p) {
  p.set_target_transform(torch::tensor({10.0, -2.0}, torch::kDouble),
                         torch::tensor({3.0, 0.5}, torch::kDouble));
}

TEST(DiffusionPredictor, FitLossIsTheDenoisingLossAndReachesEveryParameter) {
  auto p = make(small_options());
  set_transform(*p);
  const torch::Tensor x = torch::randn({6, 3}, torch::kDouble);
  const torch::Tensor y = torch::randn({6, 2}, torch::kDouble) * 3 + 10;
  const torch::Tensor t = torch::tensor({0, 5, 29, 3, 17, 29}, torch::kLong);
  torch::manual_seed(4);
  const torch::Tensor loss = p->denoising_loss(x, y, t);
  // By hand: y_norm, ε drawn next from the global generator, reference forward.
  torch::manual_seed(4);
  const torch::Tensor yn = (y - p->target_shift()) / p->target_scale();
  const torch::Tensor eps = torch::randn_like(yn);
  const torch::Tensor ab = p->schedule().alpha_bars().index_select(0, t).unsqueeze(1);
  const torch::Tensor y_t = ab.sqrt() * yn + (1 - ab).sqrt() * eps;
  auto& net = dynamic_cast<EpsNetworkImpl&>(p->denoiser());
  const torch::Tensor ref = (net.forward_reference(y_t, t, x) - eps).pow(2).mean();
  EXPECT_LT(relative_error(loss, ref), 1e-12);

  const torch::Tensor fl = p->fit_loss(x, y);
  ASSERT_EQ(fl.dim(), 0);
  fl.backward();
  for (const auto& param : p->parameters()) {
    ASSERT_TRUE(param.grad().defined());
    EXPECT_GT(param.grad().abs().sum().item<double>(), 0.0);
  }
  EXPECT_THROW(p->fit_loss(x, y.slice(0, 0, 5)), InvalidArgument);
  EXPECT_THROW(p->fit_loss(torch::randn({6, 4}), y), InvalidArgument);
}

TEST(DiffusionPredictor, SamplesAreRawUnitsWithTheRightShapeAndGraph) {
  auto p = make(small_options());
  const torch::Tensor x = torch::randn({4, 3}, torch::kDouble);
  torch::manual_seed(8);
  const torch::Tensor plain = p->sample(x, 5, GraphMode::kNone);
  ASSERT_EQ(plain.sizes(), torch::IntArrayRef({4, 5, 2}));
  EXPECT_FALSE(plain.requires_grad());
  set_transform(*p);
  torch::manual_seed(8);
  const torch::Tensor raw = p->sample(x, 5, GraphMode::kFull);
  EXPECT_TRUE(raw.requires_grad());
  EXPECT_LT(relative_error(raw.detach(), p->target_shift() + p->target_scale() * plain), 1e-13);
  torch::manual_seed(8);
  const torch::Tensor ck = p->sample(x, 5, GraphMode::kCheckpointed);
  EXPECT_TRUE(torch::equal(ck.detach(), raw.detach()));
  EXPECT_THROW(p->sample(x, 0, GraphMode::kNone), InvalidArgument);
  // Fewer steps: a shorter plan.
  SamplerOptions so;
  so.steps = 7;
  p->set_sampler(so);
  EXPECT_EQ(p->reverse_plan().size(), 7u);
  so.steps = 31;
  EXPECT_THROW(p->set_sampler(so), InvalidArgument);
}

// sampler.clip_x0_range holds every raw-unit sample inside the range given to set_x0_range (the
// range is stored in model units and survives save/load).
TEST(DiffusionPredictor, X0RangeBoundsTheRawSamples) {
  DiffusionOptions o = small_options();
  o.sampler.clip_x0_range = true;
  auto p = make(o);
  set_transform(*p);
  const torch::Tensor lo = torch::tensor({9.5, -2.2}, torch::kDouble);
  const torch::Tensor hi = torch::tensor({10.2, -1.9}, torch::kDouble);
  p->set_x0_range(lo, hi);
  const torch::Tensor x = torch::randn({3, 3}, torch::kDouble);
  const torch::Tensor s = p->sample(x, 200, GraphMode::kNone);
  EXPECT_TRUE((s >= lo - 1e-9).all().item<bool>());
  EXPECT_TRUE((s <= hi + 1e-9).all().item<bool>());
  torch::serialize::OutputArchive out;
  p->save(out);
  std::stringstream buf;
  out.save_to(buf);
  auto q = make(o, 2);
  torch::serialize::InputArchive in;
  in.load_from(buf);
  q->load(in);
  torch::manual_seed(3);
  const torch::Tensor a = p->sample(x, 20, GraphMode::kNone);
  torch::manual_seed(3);
  EXPECT_TRUE(torch::equal(a, q->sample(x, 20, GraphMode::kNone)));
  EXPECT_THROW(p->set_x0_range(hi, lo), InvalidArgument);
}

// Ê by hand for one chunk: t ~ U{0..T−1} drawn on the CPU as [B·M, K], then ε as [B, M·K, n].
TEST(DiffusionPredictor, ElboSurrogateMatchesItsDefinition) {
  for (ElboWeighting weighting : {ElboWeighting::kUnit, ElboWeighting::kLambda}) {
    DiffusionOptions o = small_options();
    o.elbo.weighting = weighting;
    auto p = make(o);
    set_transform(*p);
    const int64_t B = 2, M = 3, K = 3, n = 2, T = 30;
    const torch::Tensor x = torch::randn({B, 3}, torch::kDouble);
    const torch::Tensor s = torch::randn({B, M, n}, torch::kDouble) * 2 + 9;
    torch::manual_seed(42);
    const torch::Tensor ld = p->log_density(x, s);
    ASSERT_EQ(ld.sizes(), torch::IntArrayRef({B, M}));
    torch::manual_seed(42);
    const torch::Tensor t = torch::randint(T, {B * M, K}, torch::kLong);
    const torch::Tensor eps = torch::randn({B, M * K, n}, torch::kDouble);
    auto& net = dynamic_cast<EpsNetworkImpl&>(p->denoiser());
    const torch::Tensor sn = (s - p->target_shift()) / p->target_scale();
    torch::Tensor expect = torch::zeros({B, M}, torch::kDouble);
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t m = 0; m < M; ++m) {
        for (int64_t k = 0; k < K; ++k) {
          const int64_t tk = t[b * M + m][k].item<int64_t>();
          const torch::Tensor e = eps[b][m * K + k].unsqueeze(0);
          const double ab = p->schedule().alpha_bar(tk);
          const torch::Tensor yt = std::sqrt(ab) * sn[b][m].unsqueeze(0) + std::sqrt(1 - ab) * e;
          const torch::Tensor pr =
              net.forward_reference(yt, torch::full({1}, tk, torch::kLong), x[b].unsqueeze(0));
          double w = 1.0 / K;
          if (weighting == ElboWeighting::kLambda)
            w *= T * p->schedule().elbo_weights()[tk].item<double>();
          expect[b][m] -= w * (pr - e).pow(2).sum().item<double>();
        }
      }
    }
    EXPECT_LT(relative_error(ld.detach(), expect), 1e-12) << to_string(weighting);
  }
}

// surrogate_backward accumulates exactly ∇θ of scale·Σ w·Ê, for every chunking: one chunk,
// one context per chunk, several contexts per chunk, and chunks that split a context's rows.
TEST(DiffusionPredictor, SurrogateBackwardEqualsAutogradForEveryChunking) {
  for (int64_t chunk : {100000, 12, 25, 5, 1}) {
    DiffusionOptions o = small_options();
    o.elbo.draws = 4;
    o.elbo.chunk_rows = chunk;
    o.elbo.weighting = ElboWeighting::kLambda;
    auto p = make(o);
    set_transform(*p);
    const torch::Tensor x = torch::randn({5, 3}, torch::kDouble);
    const torch::Tensor s = torch::randn({5, 3, 2}, torch::kDouble) * 2 + 9;
    const torch::Tensor w = torch::randn({5, 3}, torch::kDouble);
    const double scale = 0.37;
    torch::manual_seed(77);
    const torch::Tensor S = scale * (w * p->log_density(x, s)).sum();
    S.backward();
    const auto ga = testing::take_grads(p->parameters());
    torch::manual_seed(77);
    const double value = p->surrogate_backward(x, s, w, scale);
    const auto gb = testing::take_grads(p->parameters());
    EXPECT_NEAR(value, S.item<double>(), 1e-12 * std::abs(S.item<double>())) << "chunk=" << chunk;
    EXPECT_LT(relative_error(testing::flatten_all(gb), testing::flatten_all(ga)), 1e-10)
        << "chunk=" << chunk;
    // It accumulates: a second call adds to .grad.
    torch::manual_seed(77);
    p->surrogate_backward(x, s, w, scale);
    torch::manual_seed(77);
    p->surrogate_backward(x, s, w, scale);
    const auto g2 = testing::take_grads(p->parameters());
    EXPECT_LT(relative_error(testing::flatten_all(g2), 2 * testing::flatten_all(ga)), 1e-10);
  }
}

// Importance-sampled Ê with the power variant: the same surrogate through both entry points when
// the sampler state is the same (restored from an archive between the two).
TEST(DiffusionPredictor, SurrogateBackwardWithTimestepImportanceSampling) {
  DiffusionOptions o = small_options();
  o.elbo.draws = 10;
  o.elbo.chunk_rows = 37;
  o.timestep_sampler.kind = TimestepSamplerKind::kSecondMomentPower;
  auto p = make(o);
  const torch::Tensor x = torch::randn({4, 3}, torch::kDouble);
  const torch::Tensor s = torch::randn({4, 5, 2}, torch::kDouble);
  const torch::Tensor w = torch::randn({4, 5}, torch::kDouble);
  for (int i = 0; i < 3; ++i)
    p->surrogate_backward(x, s, w, 1.0);  // 600 draws ≥ T·history
  testing::take_grads(p->parameters());
  ASSERT_TRUE(p->timestep_sampler().warmed_up());
  torch::serialize::OutputArchive out;
  p->save(out);
  std::stringstream buf;
  out.save_to(buf);
  torch::manual_seed(3);
  const torch::Tensor S = (w * p->log_density(x, s)).sum();
  S.backward();
  const auto ga = testing::take_grads(p->parameters());
  torch::serialize::InputArchive in;
  in.load_from(buf);
  p->load(in);
  torch::manual_seed(3);
  const double value = p->surrogate_backward(x, s, w, 1.0);
  const auto gb = testing::take_grads(p->parameters());
  EXPECT_NEAR(value, S.item<double>(), 1e-12 * std::abs(S.item<double>()));
  EXPECT_LT(relative_error(testing::flatten_all(gb), testing::flatten_all(ga)), 1e-10);
}

// A killed run resumes bit-identically from (model archive, global generator state).
TEST(DiffusionPredictor, SaveLoadResumesBitIdentically) {
  DiffusionOptions o = small_options();
  o.elbo.draws = 10;
  o.timestep_sampler.kind = TimestepSamplerKind::kSecondMoment;
  o.sampler.eta = 0.8;
  auto a = make(o, 1);
  set_transform(*a);
  const torch::Tensor x = torch::randn({4, 3}, torch::kDouble);
  const torch::Tensor s = torch::randn({4, 5, 2}, torch::kDouble);
  const torch::Tensor w = torch::randn({4, 5}, torch::kDouble);
  for (int i = 0; i < 3; ++i)
    a->surrogate_backward(x, s, w, 1.0);
  testing::take_grads(a->parameters());
  torch::serialize::OutputArchive out;
  a->save(out);
  std::stringstream buf;
  out.save_to(buf);
  const torch::Tensor gen_state = at::detail::getDefaultCPUGenerator().get_state();

  auto run = [&](DiffusionPredictor& p) {
    std::vector<torch::Tensor> r;
    r.push_back(torch::tensor(p.surrogate_backward(x, s, w, 1.0), torch::kDouble));
    r.push_back(testing::flatten_all(testing::take_grads(p.parameters())));
    r.push_back(p.surrogate_backward(x, s, w, 1.0) * torch::ones({1}, torch::kDouble));
    r.push_back(p.sample(x, 3, GraphMode::kNone).reshape({-1}));
    r.push_back(p.fit_loss(x, s.select(1, 0)).detach().reshape({1}));
    r.push_back(p.timestep_sampler().probabilities());
    return r;
  };
  const auto ra = run(*a);
  auto b = make(o, 999);  // other initial weights, identity transform, fresh sampler
  torch::serialize::InputArchive in;
  in.load_from(buf);
  b->load(in);
  at::Generator(at::detail::getDefaultCPUGenerator()).set_state(gen_state);
  const auto rb = run(*b);
  ASSERT_EQ(ra.size(), rb.size());
  for (size_t i = 0; i < ra.size(); ++i)
    EXPECT_TRUE(torch::equal(ra[i], rb[i])) << "item " << i;

  // Another kind or another width is refused with IoError, and leaves the model untouched.
  DiffusionOptions wider = o;
  wider.network.width = 20;
  auto c = make(wider, 3);
  const torch::Tensor before = testing::flatten_all(c->parameters()).clone();
  torch::serialize::InputArchive in2;
  buf.seekg(0);
  in2.load_from(buf);
  EXPECT_THROW(c->load(in2), IoError);
  EXPECT_TRUE(torch::equal(before, testing::flatten_all(c->parameters())));
}

TEST(DiffusionPredictor, PredictorLevelCheckpointingMatchesFullStorage) {
  DiffusionOptions o = small_options(40);
  o.sampler.eta = 0.8;
  o.sampler.steps = 25;
  auto p = make(o);
  set_transform(*p);
  const torch::Tensor x = torch::randn({3, 3}, torch::kDouble);
  const torch::Tensor R = torch::randn({3, 4, 2}, torch::kDouble);
  std::vector<torch::Tensor> g[2];
  for (int i = 0; i < 2; ++i) {
    torch::manual_seed(10);
    (p->sample(x, 4, i == 0 ? GraphMode::kFull : GraphMode::kCheckpointed) * R).sum().backward();
    g[i] = testing::take_grads(p->parameters());
  }
  EXPECT_LT(relative_error(testing::flatten_all(g[1]), testing::flatten_all(g[0])), 1e-5);
}

TEST(DiffusionPredictor, MovesBetweenDtypes) {
  torch::manual_seed(1);
  DiffusionPredictor p(3, 2, small_options());  // float32 by default
  EXPECT_EQ(p.dtype(), torch::kFloat);
  const torch::Tensor x = torch::randn({2, 3}, torch::kDouble);  // converted on the way in
  EXPECT_EQ(p.sample(x, 2, GraphMode::kNone).scalar_type(), torch::kFloat);
  p.to(torch::kCPU, torch::kDouble);
  EXPECT_EQ(p.dtype(), torch::kDouble);
  for (const auto& param : p.parameters())
    EXPECT_EQ(param.scalar_type(), torch::kDouble);
  EXPECT_EQ(p.target_scale().scalar_type(), torch::kDouble);
  EXPECT_EQ(p.fit_loss(x, torch::randn({2, 2})).scalar_type(), torch::kDouble);
  EXPECT_EQ(p.log_density(x, torch::randn({2, 4, 2})).scalar_type(), torch::kDouble);
  EXPECT_THROW(p.to(torch::kCPU, torch::kHalf), InvalidArgument);
}

TEST(DiffusionPredictor, OptionsNameTheBadField) {
  DiffusionOptions o = small_options();
  o.sampler.steps = 31;
  try {
    o.validate();
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("sampler.steps"), std::string::npos) << e.what();
  }
  o = small_options();
  o.elbo.draws = 0;
  EXPECT_THROW(DiffusionPredictor(3, 2, o), InvalidArgument);
  o = small_options();
  o.network.width = 0;
  EXPECT_THROW(DiffusionPredictor(3, 2, o), InvalidArgument);
  EXPECT_THROW(DiffusionPredictor(3, 2, small_options(), torch::kCPU, torch::kLong),
               InvalidArgument);
}

}  // namespace
}  // namespace diffdfl::models
