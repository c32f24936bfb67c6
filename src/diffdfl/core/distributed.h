// Data-parallel communication over LibTorch's c10d (docs/distributed.md): the rendezvous that
// torchrun uses (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK), a TCPStore, and a Gloo
// process group (CPU tensors, and CUDA tensors through host staging). A Communicator of one rank
// needs nothing and does nothing, so every caller is written once for N ranks.
//
// Failures are errors, not hangs: every collective runs under `timeout`; a rank that dies closes
// its connections, and the others' next collective throws diffdfl::DistributedError naming the
// rank and the cause.
//
// A build without c10d (distributed_available() false) still has the single-rank Communicator;
// asking for more ranks is an error that says so.
//
// Example:
//   const dist::RankOptions r = dist::RankOptions::from_env();  // world 1 when RANK is unset
//   std::shared_ptr<dist::Communicator> comm = dist::connect(r);
//   std::vector<torch::Tensor> g = {grad};
//   comm->all_reduce_sum(g);                                    // Σ over ranks, in place
//   if (comm->is_main()) write_checkpoint();
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "diffdfl/core/error.h"

namespace diffdfl {

/// A collective failed: a rank died, the network broke, or a rank waited longer than the timeout.
class DistributedError : public Error {
 public:
  using Error::Error;
};

}  // namespace diffdfl

namespace diffdfl::dist {

/// True when this build has c10d with Gloo (CMake found it; DIFFDFL_HAVE_C10D).
bool distributed_available();

/// Where this process sits in a data-parallel job.
///
/// Example: RankOptions r; r.rank = 1; r.world_size = 2; r.master_port = 29500; r.validate();
struct RankOptions {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  /// Longest a rank waits in one collective (or for the others at the rendezvous).
  std::chrono::seconds timeout{1800};

  /// From torchrun's variables: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT, and
  /// DIFFDFL_DIST_TIMEOUT (seconds). Without WORLD_SIZE (or with WORLD_SIZE=1) a single rank.
  /// InvalidArgument naming the variable when one is malformed or missing.
  static RankOptions from_env();
  /// InvalidArgument naming the bad field.
  void validate() const;
};

/// Collectives over the ranks of one job. All ranks must call the same collectives in the same
/// order with tensors of the same shapes and dtypes.
class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  bool is_main() const { return rank() == 0; }
  bool distributed() const { return world_size() > 1; }

  /// In place: each tensor becomes its sum over the ranks.
  virtual void all_reduce_sum(std::vector<torch::Tensor>& tensors) = 0;
  /// In place: each tensor becomes rank `root`'s.
  virtual void broadcast(std::vector<torch::Tensor>& tensors, int root = 0) = 0;
  /// Every rank's `t` (same shape on all ranks), in rank order.
  virtual std::vector<torch::Tensor> all_gather(const torch::Tensor& t) = 0;
  virtual void barrier() = 0;

  /// Wall seconds spent inside collectives so far (waiting for slower ranks included).
  double comm_seconds() const { return comm_seconds_; }

 protected:
  double comm_seconds_ = 0;
};

/// The Communicator of one rank (world size 1): every collective is the identity.
std::shared_ptr<Communicator> single_process();

/// Joins the job of `options` (world size 1: single_process()). Blocks until every rank has
/// joined or the timeout passes. DistributedError when the rendezvous fails; InvalidArgument when
/// this build lacks c10d and more than one rank is asked for.
std::shared_ptr<Communicator> connect(const RankOptions& options);

/// Σ_r n_r·v_r / Σ_r n_r over ranks, in place, for per-rank means `values` (tensors) of n_r items:
/// the mean over all items. Returns Σ_r n_r. A rank with n_r = 0 contributes nothing; when every
/// n_r is 0 the values are left as zeros.
double weighted_mean(Communicator& comm, std::vector<torch::Tensor>& values, double n);

/// The contiguous part [begin, end) of n items that `rank` of `world` ranks owns; the parts differ
/// in size by at most one and cover 0..n−1 in rank order.
std::pair<int64_t, int64_t> shard_range(int64_t n, int rank, int world);

}  // namespace diffdfl::dist
