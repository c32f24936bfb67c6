// dist::Communicator over c10d/Gloo with two processes on localhost (this test is rank 0, a copy
// of the test binary rank 1; tests/support/rank_process.h): the collectives' results, and that a
// rank that dies or hangs makes the other stop with a DistributedError instead of waiting forever.
// Also the pieces that need no second process: shards, the weighted mean, the environment.
#include <gtest/gtest.h>

#include <cstdlib>
#include <thread>

#include "diffdfl/core/distributed.h"
#include "diffdfl/core/local_launch.h"
#include "support/rank_process.h"

namespace diffdfl::dist {
namespace {

using diffdfl::testing::is_rank_worker;
using diffdfl::testing::rank_options;
using diffdfl::testing::RankProcess;
using diffdfl::testing::worker_options;

TEST(ShardRange, CoversRowsInOrderWithSizesWithinOne) {
  for (int64_t n : {2, 7, 64, 101}) {
    for (int world : {1, 2, 3, 5}) {
      int64_t next = 0;
      for (int r = 0; r < world; ++r) {
        const auto [b, e] = shard_range(n, r, world);
        EXPECT_EQ(b, next);
        EXPECT_GE(e - b, n / world);
        EXPECT_LE(e - b, n / world + 1);
        next = e;
      }
      EXPECT_EQ(next, n);
    }
  }
}

TEST(WeightedMean, OneRankLeavesValuesUntouched) {
  auto comm = single_process();
  std::vector<torch::Tensor> v = {torch::tensor({0.1f, 0.7f})};
  const torch::Tensor before = v[0].clone();
  EXPECT_EQ(weighted_mean(*comm, v, 3.0), 3.0);
  EXPECT_TRUE(torch::equal(v[0], before));
}

/// Sets an environment variable for one scope.
struct ScopedEnv {
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old, had_ = true;
    ::setenv(name, value, 1);
  }
  ~ScopedEnv() { had_ ? ::setenv(name_, old_.c_str(), 1) : ::unsetenv(name_); }
  const char* name_;
  std::string old_;
  bool had_ = false;
};

TEST(RankOptions, ReadsTorchrunVariablesAndNamesTheBadOne) {
  {
    ScopedEnv w("WORLD_SIZE", "1");
    EXPECT_EQ(RankOptions::from_env().world_size, 1);
  }
  ScopedEnv w("WORLD_SIZE", "4");
  ScopedEnv r("RANK", "2");
  ScopedEnv p("MASTER_PORT", "29611");
  ScopedEnv a("MASTER_ADDR", "10.0.0.7");
  const RankOptions o = RankOptions::from_env();
  EXPECT_EQ(o.rank, 2);
  EXPECT_EQ(o.world_size, 4);
  EXPECT_EQ(o.local_rank, 2);
  EXPECT_EQ(o.master_port, 29611);
  EXPECT_EQ(o.master_addr, "10.0.0.7");
  {
    ScopedEnv bad("RANK", "4");
    try {
      RankOptions::from_env();
      FAIL() << "RANK=4 of 4 accepted";
    } catch (const InvalidArgument& e) {
      EXPECT_EQ(std::string(e.what()), "RANK must be in 0..3 (WORLD_SIZE=4), got 4");
    }
  }
  ScopedEnv bad("MASTER_PORT", "http");
  try {
    RankOptions::from_env();
    FAIL() << "MASTER_PORT=http accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(std::string(e.what()),
              "environment variable MASTER_PORT='http' is not a non-negative integer; set it as "
              "torchrun does (e.g. MASTER_PORT=0)");
  }
}

// --- Two processes -------------------------------------------------------------------------

/// What both ranks do in Collectives: rank r contributes r + 1.
void exercise(Communicator& comm) {
  const double mine = comm.rank() + 1.0;
  std::vector<torch::Tensor> sum = {torch::full({3}, mine),
                                    torch::full({2, 2}, mine, torch::kDouble)};
  comm.all_reduce_sum(sum);
  EXPECT_TRUE(torch::equal(sum[0], torch::full({3}, 3.0f)));
  EXPECT_TRUE(torch::equal(sum[1], torch::full({2, 2}, 3.0, torch::kDouble)));
  std::vector<torch::Tensor> b = {torch::full({2}, mine)};
  comm.broadcast(b, 1);
  EXPECT_TRUE(torch::equal(b[0], torch::full({2}, 2.0f)));
  const std::vector<torch::Tensor> all = comm.all_gather(torch::full({1}, mine));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].item<float>(), 2.0f);
  // Rank 0 has 1 item of mean 10, rank 1 has 3 items of mean 2: the mean of all 4 is 4.
  std::vector<torch::Tensor> m = {torch::tensor({comm.rank() == 0 ? 10.0 : 2.0})};
  EXPECT_EQ(weighted_mean(comm, m, comm.rank() == 0 ? 1.0 : 3.0), 4.0);
  EXPECT_DOUBLE_EQ(m[0].item<double>(), 4.0);
  comm.barrier();
}

TEST(DistributedWorker, Collectives) {
  if (!is_rank_worker()) GTEST_SKIP() << "rank 1 of Distributed.Collectives";
  auto comm = connect(worker_options());
  exercise(*comm);
}

TEST(DistributedWorker, DiesAfterJoining) {
  if (!is_rank_worker()) GTEST_SKIP() << "rank 1 of Distributed.DeadRankIsAnError";
  auto comm = connect(worker_options());
  std::_Exit(9);  // as if killed: no goodbye
}

TEST(DistributedWorker, HangsAfterJoining) {
  if (!is_rank_worker()) GTEST_SKIP() << "rank 1 of Distributed.HungRankTimesOut";
  auto comm = connect(worker_options());
  std::this_thread::sleep_for(std::chrono::seconds(60));  // the parent kills it first
}

TEST(Distributed, Collectives) {
  if (!distributed_available()) GTEST_SKIP() << "built without c10d";
  const int port = free_port();
  RankProcess peer("DistributedWorker.Collectives", port);
  ASSERT_TRUE(peer.started());
  auto comm = connect(rank_options(0, port));
  EXPECT_EQ(comm->world_size(), 2);
  exercise(*comm);
  EXPECT_EQ(peer.wait(), 0);
}

TEST(Distributed, DeadRankIsAnError) {
  if (!distributed_available()) GTEST_SKIP() << "built without c10d";
  const int port = free_port();
  RankProcess peer("DistributedWorker.DiesAfterJoining", port);
  auto comm = connect(rank_options(0, port, /*timeout_s=*/60));
  EXPECT_EQ(peer.wait(), 9);
  std::vector<torch::Tensor> t = {torch::ones({4})};
  try {
    comm->all_reduce_sum(t);
    FAIL() << "an all-reduce with a dead rank returned";
  } catch (const DistributedError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("rank 0 of 2: all-reduce failed (", 0), 0u) << e.what();
  }
}

TEST(Distributed, HungRankTimesOut) {
  if (!distributed_available()) GTEST_SKIP() << "built without c10d";
  const int port = free_port();
  RankProcess peer("DistributedWorker.HangsAfterJoining", port, /*timeout_s=*/60);
  auto comm = connect(rank_options(0, port, /*timeout_s=*/2));
  std::vector<torch::Tensor> t = {torch::ones({4})};
  EXPECT_THROW(comm->all_reduce_sum(t), DistributedError);
}

TEST(Distributed, MoreRanksWithoutC10dSayWhy) {
  if (distributed_available()) GTEST_SKIP() << "built with c10d";
  try {
    connect(rank_options(0, 29500));
    FAIL() << "a 2-rank connect without c10d returned";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("built without c10d/Gloo"), std::string::npos);
  }
}

}  // namespace
}  // namespace diffdfl::dist
