#include "backend/cpu/thread_budget.h"

#include <omp.h>
#include <sched.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <string>

#include <fmt/format.h>

namespace lengen {

namespace {

// One cgroup v2 cpu.max: "<quota> <period>", "max" = no quota.
std::optional<double> cpu_max_quota(const std::string& file) {
  std::ifstream in(file);
  std::string quota;
  double period = 0;
  if (!(in >> quota >> period) || quota == "max" || period <= 0) return std::nullopt;
  char* end = nullptr;
  const double q = std::strtod(quota.c_str(), &end);
  if (end == quota.c_str() || q <= 0) return std::nullopt;
  return q / period;
}

// The tightest CPU quota on this process's cgroup and its ancestors (cgroup v2, path from
// /proc/self/cgroup; a container's namespaced root is /sys/fs/cgroup itself), else cgroup v1's
// cpu.cfs_quota_us over cpu.cfs_period_us. Anything unreadable means no quota.
std::optional<double> cgroup_quota_cpus() {
  std::optional<double> tightest;
  auto consider = [&](std::optional<double> q) {
    if (q && (!tightest || *q < *tightest)) tightest = q;
  };
  std::ifstream self("/proc/self/cgroup");
  std::string line, path;
  while (std::getline(self, line))
    if (line.rfind("0::", 0) == 0) path = line.substr(3);
  for (std::string p = path; !p.empty() && p != "/"; p = p.substr(0, p.find_last_of('/')))
    consider(cpu_max_quota("/sys/fs/cgroup" + p + "/cpu.max"));
  consider(cpu_max_quota("/sys/fs/cgroup/cpu.max"));
  if (tightest) return tightest;
  std::ifstream q1("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"), p1("/sys/fs/cgroup/cpu/cpu.cfs_period_us");
  double q = -1, period = 0;
  if (q1 >> q && p1 >> period && q > 0 && period > 0) return q / period;
  return std::nullopt;
}

int affinity_cpu_count() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return std::max(1, omp_get_num_procs());
  return std::max(1, CPU_COUNT(&set));
}

}  // namespace

ThreadBudget decide_thread_budget(int affinity_cpus, std::optional<double> quota_cpus,
                                  const char* slurm_cpus_per_task) {
  ThreadBudget b;
  b.threads = std::max(1, affinity_cpus);
  b.reason = fmt::format("{} CPU{} in the affinity mask", b.threads, b.threads == 1 ? "" : "s");
  if (quota_cpus) {
    // A quota of 1.5 CPUs gives 1 thread: a second thread would be throttled half the time.
    const int q = std::max(1, int(std::floor(*quota_cpus + 1e-9)));
    b.reason += fmt::format(", cgroup CPU quota {:g}", *quota_cpus);
    b.threads = std::min(b.threads, q);
  }
  if (slurm_cpus_per_task != nullptr) {
    char* end = nullptr;
    const long n = std::strtol(slurm_cpus_per_task, &end, 10);
    if (end != slurm_cpus_per_task && *end == '\0' && n > 0) {
      b.reason += fmt::format(", SLURM_CPUS_PER_TASK={}", n);
      b.threads = std::min<long>(b.threads, n);
    } else {
      b.reason += fmt::format(", SLURM_CPUS_PER_TASK='{}' ignored (not a positive integer)",
                              slurm_cpus_per_task);
    }
  }
  return b;
}

ThreadBudget system_thread_budget() {
  return decide_thread_budget(affinity_cpu_count(), cgroup_quota_cpus(),
                              std::getenv("SLURM_CPUS_PER_TASK"));
}

ThreadBudget apply_default_thread_budget() {
  if (const char* user = std::getenv("OMP_NUM_THREADS")) {
    ThreadBudget b;
    b.threads = omp_get_max_threads();
    b.reason = fmt::format("OMP_NUM_THREADS={}", user);
    return b;
  }
  ThreadBudget b = system_thread_budget();
  omp_set_num_threads(b.threads);
  return b;
}

}  // namespace lengen
