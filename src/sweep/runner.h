// Running a sweep's grid: locally N runs at a time (`sweep run`) or one grid index at a time
// (`sweep run-one`, what each Slurm array task calls). A run lives in <out>/<name>/ with the
// task run's layout (pipeline/task_run.h) plus:
//   sweep_run.json   name, grid index, axis settings and the run config (written first)
//   failure.json     the error of the last failed attempt (removed when the run succeeds)
// A run is complete when results.json exists and sweep_run.json holds the same config: it is
// skipped. An interrupted run (checkpoint, no results) resumes from its last checkpoint; a
// failed one is retried. One run's failure never stops the others.
// <out>/sweep_status.json lists every run's state after each `sweep run`.
#pragma once
#include <string>
#include <vector>

#include "sweep/grid.h"

namespace lengen::sweep {

enum class RunState { pending, interrupted, complete, failed, stale };
const char* to_string(RunState s);

struct SweepRunOptions {
  int jobs = 0;              // 0: the sweep file's "jobs", else one run per thread
  int threads = 0;           // 0: the process default (backend/cpu/thread_budget.h)
  bool quiet = false;
  std::string out;           // "" = the sweep file's
  int64_t stop_at_step = 0;  // simulate an interruption (tests)
};

struct SweepRunSummary {
  size_t total = 0, skipped = 0, succeeded = 0, failed = 0;
  std::vector<std::string> failures;  // "name: error"
};

std::string run_dir(const std::string& out, const GridRun& run);

// The state of a run directory: pending (nothing yet), interrupted (a checkpoint but no
// results), complete, failed (failure.json), stale (results of another config).
RunState run_state(const std::string& out, const SweepFile& sweep, const GridRun& run);

// Runs every run of `runs` (a part of the sweep's grid) that is not complete; then writes the
// whole grid's <out>/sweep_status.json.
SweepRunSummary run_sweep(const SweepFile& sweep, const std::vector<GridRun>& runs,
                          const SweepRunOptions& options);

// Writes <out>/sweep_status.json and returns the counts per state.
nlohmann::json write_sweep_status(const SweepFile& sweep, const std::vector<GridRun>& runs,
                                  const std::string& out);

}  // namespace lengen::sweep
