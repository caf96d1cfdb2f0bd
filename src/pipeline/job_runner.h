// Several task runs side by side: `compare` and `sweep run` hand their runs to run_jobs, which
// trains `jobs` of them at a time with the threads shared out, catches each run's failure
// without stopping the others, and shows one combined status line (done / running / failed,
// ETA) so concurrent runs do not interleave their own progress lines.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipeline/run_config.h"

namespace lengen {

struct RunJob {
  std::string label;  // shown on the status line, e.g. "alibi/seed0"
  std::string dir;    // run directory (resumed when it holds a checkpoint)
  RunConfig config;
};

struct JobOutcome {
  nlohmann::json summary;  // results.json contents (empty when the run failed)
  std::string error;       // the failure's message ("" = success)
  bool ok() const { return error.empty(); }
};

struct JobRunnerOptions {
  std::string title = "runs";  // status line prefix, e.g. "compare"
  // Runs trained at the same time; 0 = one per thread. Small models use cores better side by
  // side than split across one model.
  int jobs = 0;
  // Threads in all (0 = the process default, backend/cpu/thread_budget.h); each run gets threads / jobs of them.
  int threads = 0;
  bool quiet = false;
  int64_t stop_at_step = 0;  // simulate an interruption of every run (tests)
  // Called (from a worker thread, serialised) when a run ends, e.g. to record a failure.
  std::function<void(size_t index, const JobOutcome&)> on_finished;
};

// Trains and evaluates every job; returns one outcome per job, in order. Never throws for a
// failing run: its message is in the outcome.
std::vector<JobOutcome> run_jobs(const std::vector<RunJob>& jobs, const JobRunnerOptions& options);

// Worker count and threads per worker for `n_jobs` runs (jobs = 0: one run per thread).
struct ThreadShare {
  int workers = 1, threads_per_worker = 1;
};
ThreadShare share_threads(int threads, int jobs, size_t n_jobs);

// "1h02m", "3m05s", "42s"
std::string format_duration(double seconds);

}  // namespace lengen
