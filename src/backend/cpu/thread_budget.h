// How many OpenMP threads a lengen process uses when the user does not say (--threads,
// OMP_NUM_THREADS): the CPUs it may run on (affinity mask), capped by a cgroup CPU quota
// (containers, Slurm's cgroup plugin) and by SLURM_CPUS_PER_TASK inside a Slurm job step.
// libgomp alone counts only the affinity mask, so a job limited by quota ran more threads than
// it had CPU time for.
#pragma once

#include <optional>
#include <string>

namespace lengen {

struct ThreadBudget {
  int threads = 1;
  std::string reason;  // e.g. "2 CPUs in the affinity mask, cgroup quota 1.5 CPUs"
};

// The decision from its inputs (unit-tested): quota_cpus from cpu.max / cfs_quota (unset: no
// quota), slurm_cpus_per_task the variable's text (unset: not in a Slurm step; a value that is
// not a positive integer is ignored and said so in the reason).
ThreadBudget decide_thread_budget(int affinity_cpus, std::optional<double> quota_cpus,
                                  const char* slurm_cpus_per_task);

// The same from this process's affinity mask, /sys/fs/cgroup and environment.
ThreadBudget system_thread_budget();

// Sets OpenMP's thread count to system_thread_budget() unless OMP_NUM_THREADS is set; returns
// what it decided (the user's OMP_NUM_THREADS is reported as such).
ThreadBudget apply_default_thread_budget();

}  // namespace lengen
