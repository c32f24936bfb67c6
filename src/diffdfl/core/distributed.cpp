#include "diffdfl/core/distributed.h"

#include <cstdlib>
#include <exception>

#include "diffdfl/core/timer.h"

#ifdef DIFFDFL_HAVE_C10D
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

namespace diffdfl::dist {

namespace {

class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  void all_reduce_sum(std::vector<torch::Tensor>&) override {}
  void broadcast(std::vector<torch::Tensor>&, int) override {}
  std::vector<torch::Tensor> all_gather(const torch::Tensor& t) override { return {t}; }
  void barrier() override {}
};

/// The integer in environment variable `name`, or `fallback` when it is unset.
int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  const long value = std::strtol(v, &end, 10);
  if (*end != '\0' || value < 0 || value > 1000000) {
    fail<InvalidArgument>("environment variable ", name, "='", v,
                          "' is not a non-negative integer; set it as torchrun does (e.g. ", name,
                          "=0)");
  }
  return static_cast<int>(value);
}

#ifdef DIFFDFL_HAVE_C10D

/// All tensors as one float64 CPU buffer (one collective per call, exact sums of float32 values).
torch::Tensor flatten(const std::vector<torch::Tensor>& tensors) {
  std::vector<torch::Tensor> flat;
  flat.reserve(tensors.size());
  for (const auto& t : tensors)
    flat.push_back(t.detach().reshape({-1}).to(torch::kCPU, torch::kDouble));
  return torch::cat(flat);
}

void unflatten(const torch::Tensor& buffer, std::vector<torch::Tensor>& tensors) {
  torch::NoGradGuard no_grad;
  int64_t offset = 0;
  for (auto& t : tensors) {
    const int64_t n = t.numel();
    t.copy_(buffer.slice(0, offset, offset + n).view(t.sizes()));
    offset += n;
  }
}

class GlooCommunicator final : public Communicator {
 public:
  explicit GlooCommunicator(const RankOptions& o) : rank_(o.rank), world_(o.world_size) {
    guarded("the rendezvous at " + o.master_addr + ":" + std::to_string(o.master_port), [&] {
      c10d::TCPStoreOptions so;
      so.port = static_cast<std::uint16_t>(o.master_port);
      so.isServer = o.rank == 0;
      so.numWorkers = static_cast<std::size_t>(o.world_size);
      so.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(o.timeout);
      store_ = c10::make_intrusive<c10d::TCPStore>(o.master_addr, so);
      auto po = c10d::ProcessGroupGloo::Options::create(
          std::chrono::duration_cast<std::chrono::milliseconds>(o.timeout));
      po->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      group_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store_, o.rank, o.world_size, po);
    });
  }

  int rank() const override { return rank_; }
  int world_size() const override { return world_; }

  void all_reduce_sum(std::vector<torch::Tensor>& tensors) override {
    if (tensors.empty()) return;
    std::vector<torch::Tensor> buf = {flatten(tensors)};
    guarded("all-reduce", [&] { group_->allreduce(buf)->wait(); });
    unflatten(buf[0], tensors);
  }

  void broadcast(std::vector<torch::Tensor>& tensors, int root) override {
    if (tensors.empty()) return;
    std::vector<torch::Tensor> buf = {flatten(tensors)};
    c10d::BroadcastOptions bo;
    bo.rootRank = root;
    guarded("broadcast", [&] { group_->broadcast(buf, bo)->wait(); });
    unflatten(buf[0], tensors);
  }

  std::vector<torch::Tensor> all_gather(const torch::Tensor& t) override {
    std::vector<torch::Tensor> in = {t.detach().contiguous().cpu()};
    std::vector<std::vector<torch::Tensor>> out(1);
    for (int r = 0; r < world_; ++r)
      out[0].push_back(torch::empty_like(in[0]));
    guarded("all-gather", [&] { group_->allgather(out, in)->wait(); });
    return out[0];
  }

  void barrier() override {
    guarded("barrier", [&] { group_->barrier()->wait(); });
  }

 private:
  /// Runs a collective, timing it; c10d's exceptions become one DistributedError line.
  template <typename F>
  void guarded(const std::string& what, F&& f) {
    Stopwatch sw;
    try {
      f();
    } catch (const std::exception& e) {
      std::string why = e.what();
      why = why.substr(0, why.find('\n'));
      fail<DistributedError>("rank ", rank_, " of ", world_, ": ", what, " failed (", why,
                             "); another rank stopped, crashed or is slower than the timeout ",
                             "(DIFFDFL_DIST_TIMEOUT); see that rank's error above");
    }
    comm_seconds_ += sw.seconds();
  }

  int rank_;
  int world_;
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group_;
};

#endif  // DIFFDFL_HAVE_C10D

}  // namespace

bool distributed_available() {
#ifdef DIFFDFL_HAVE_C10D
  return true;
#else
  return false;
#endif
}

RankOptions RankOptions::from_env() {
  RankOptions o;
  o.world_size = env_int("WORLD_SIZE", 1);
  if (o.world_size <= 1) return o;
  if (std::getenv("RANK") == nullptr) {
    fail<InvalidArgument>("WORLD_SIZE=", o.world_size,
                          " is set but RANK is not; set RANK (0..WORLD_SIZE-1) for each process, "
                          "or use `diffdfl train --nproc N` on one host");
  }
  o.rank = env_int("RANK", 0);
  o.local_rank = env_int("LOCAL_RANK", o.rank);
  if (const char* a = std::getenv("MASTER_ADDR"); a != nullptr && *a != '\0') o.master_addr = a;
  o.master_port = env_int("MASTER_PORT", o.master_port);
  o.timeout =
      std::chrono::seconds(env_int("DIFFDFL_DIST_TIMEOUT", static_cast<int>(o.timeout.count())));
  o.validate();
  return o;
}

void RankOptions::validate() const {
  if (world_size < 1) fail<InvalidArgument>("WORLD_SIZE must be >= 1, got ", world_size);
  if (rank < 0 || rank >= world_size) {
    fail<InvalidArgument>("RANK must be in 0..", world_size - 1, " (WORLD_SIZE=", world_size,
                          "), got ", rank);
  }
  if (master_port < 1 || master_port > 65535)
    fail<InvalidArgument>("MASTER_PORT must be in 1..65535, got ", master_port);
  if (master_addr.empty()) fail<InvalidArgument>("MASTER_ADDR is empty; set the rank-0 host");
  if (timeout.count() < 1)
    fail<InvalidArgument>("DIFFDFL_DIST_TIMEOUT must be >= 1 second, got ", timeout.count());
}

std::shared_ptr<Communicator> single_process() {
  return std::make_shared<SingleProcess>();
}

std::shared_ptr<Communicator> connect(const RankOptions& options) {
  options.validate();
  if (options.world_size == 1) return single_process();
#ifdef DIFFDFL_HAVE_C10D
  return std::make_shared<GlooCommunicator>(options);
#else
  fail<InvalidArgument>("WORLD_SIZE=", options.world_size,
                        " asks for distributed training, but this diffdfl was built without "
                        "c10d/Gloo; install libgloo-dev (Debian) or use a LibTorch with "
                        "distributed support, rebuild, and see docs/distributed.md");
#endif
}

double weighted_mean(Communicator& comm, std::vector<torch::Tensor>& values, double n) {
  if (!comm.distributed()) return n;  // one rank: its mean is the mean, bit for bit
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> all;
  all.reserve(values.size() + 1);
  for (auto& v : values)
    all.push_back(v.detach().to(torch::kDouble) * n);
  all.push_back(torch::tensor({n}, torch::kDouble));
  comm.all_reduce_sum(all);
  const double total = all.back().item<double>();
  for (size_t i = 0; i < values.size(); ++i) {
    values[i].copy_(total > 0 ? all[i] / total : torch::zeros_like(all[i]));
  }
  return total;
}

std::pair<int64_t, int64_t> shard_range(int64_t n, int rank, int world) {
  DIFFDFL_CHECK(world >= 1 && rank >= 0 && rank < world, "shard_range: rank ", rank, " of world ",
                world);
  const int64_t base = n / world;
  const int64_t extra = n % world;
  const int64_t begin = rank * base + std::min<int64_t>(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

}  // namespace diffdfl::dist
