// The default thread count: the affinity mask, capped by a cgroup CPU quota and by Slurm's
// SLURM_CPUS_PER_TASK; the user's OMP_NUM_THREADS wins (backend/cpu/thread_budget.h).
#include <gtest/gtest.h>

#include "backend/cpu/thread_budget.h"
#include "cli_runner.h"

namespace lengen {
namespace {

TEST(ThreadBudget, AffinityMaskCappedByQuotaAndSlurm) {
  EXPECT_EQ(decide_thread_budget(8, std::nullopt, nullptr).threads, 8);
  EXPECT_EQ(decide_thread_budget(8, 2.0, nullptr).threads, 2);
  EXPECT_EQ(decide_thread_budget(8, 1.5, nullptr).threads, 1);   // a throttled thread is no help
  EXPECT_EQ(decide_thread_budget(8, 0.25, nullptr).threads, 1);  // never below one
  EXPECT_EQ(decide_thread_budget(2, 16.0, nullptr).threads, 2);  // the mask is the first cap
  EXPECT_EQ(decide_thread_budget(8, std::nullopt, "3").threads, 3);
  EXPECT_EQ(decide_thread_budget(8, 2.0, "3").threads, 2);
  EXPECT_EQ(decide_thread_budget(2, std::nullopt, "4").threads, 2);
  const ThreadBudget both = decide_thread_budget(8, 2.0, "3");
  EXPECT_NE(both.reason.find("8 CPUs in the affinity mask"), std::string::npos) << both.reason;
  EXPECT_NE(both.reason.find("cgroup CPU quota 2"), std::string::npos) << both.reason;
  EXPECT_NE(both.reason.find("SLURM_CPUS_PER_TASK=3"), std::string::npos) << both.reason;
  for (const char* bad : {"", "0", "-2", "two", "3x"}) {
    const ThreadBudget b = decide_thread_budget(4, std::nullopt, bad);
    EXPECT_EQ(b.threads, 4) << bad;
    EXPECT_NE(b.reason.find("ignored"), std::string::npos) << b.reason;
  }
}

TEST(ThreadBudget, TheCliReportsAndAppliesIt) {
  using lengen::testing::run_lengen;
  auto r = run_lengen("debug threads", "", "-u OMP_NUM_THREADS SLURM_CPUS_PER_TASK=1");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out.rfind("1 thread (", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("SLURM_CPUS_PER_TASK=1"), std::string::npos) << r.out;
  r = run_lengen("debug threads", "", "SLURM_CPUS_PER_TASK=1 OMP_NUM_THREADS=3");
  EXPECT_EQ(r.out.rfind("3 threads (OMP_NUM_THREADS=3)", 0), 0u) << r.out;
}

}  // namespace
}  // namespace lengen
