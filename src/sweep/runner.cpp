#include "sweep/runner.h"

#include <chrono>
#include <ctime>
#include <filesystem>

#include "io/atomic_file.h"
#include "model/checkpoint.h"
#include "pipeline/job_runner.h"
#include "pipeline/run_config.h"
#include "util/error.h"

namespace fs = std::filesystem;

namespace lengen::sweep {
namespace {

const char* kRunFile = "sweep_run.json";
const char* kFailureFile = "failure.json";

nlohmann::json read_or_null(const std::string& path) {
  try {
    return fs::exists(path) ? read_json_file(path) : nlohmann::json();
  } catch (const Error&) {  // a damaged file counts as absent: the run is redone
    return nlohmann::json();
  }
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

std::string out_of(const SweepFile& sweep, const SweepRunOptions& o) {
  return o.out.empty() ? sweep.out : o.out;
}

}  // namespace

const char* to_string(RunState s) {
  switch (s) {
    case RunState::pending: return "pending";
    case RunState::interrupted: return "interrupted";
    case RunState::complete: return "complete";
    case RunState::failed: return "failed";
    case RunState::stale: return "stale";
  }
  return "?";
}

std::string run_dir(const std::string& out, const GridRun& run) { return out + "/" + run.name; }

RunState run_state(const std::string& out, const SweepFile& sweep, const GridRun& run) {
  const std::string dir = run_dir(out, run);
  const nlohmann::json results = read_or_null(dir + "/results.json");
  if (results.is_object() && (results.contains("id_accuracy") || results.contains("ood_accuracy"))) {
    const nlohmann::json recorded = read_or_null(dir + "/" + kRunFile);
    return recorded.is_object() && recorded.value("config", nlohmann::json()) == run_config_json(sweep, run)
               ? RunState::complete
               : RunState::stale;
  }
  if (fs::exists(dir + "/" + kFailureFile)) return RunState::failed;
  if (fs::exists(dir + "/checkpoint") || fs::exists(dir + "/checkpoint.old")) return RunState::interrupted;
  return RunState::pending;
}

nlohmann::json write_sweep_status(const SweepFile& sweep, const std::vector<GridRun>& runs,
                                  const std::string& out) {
  nlohmann::json counts = nlohmann::json::object(), list = nlohmann::json::array();
  for (const auto& r : runs) {
    const std::string state = to_string(run_state(out, sweep, r));
    counts[state] = counts.value(state, 0) + 1;
    nlohmann::json entry = {{"index", r.index}, {"name", r.name}, {"state", state}};
    if (state == "failed") entry["error"] = read_or_null(run_dir(out, r) + "/" + kFailureFile).value("error", "");
    list.push_back(entry);
  }
  fs::create_directories(out);
  io::write_file_atomic(out + "/sweep_status.json",
                        nlohmann::json{{"sweep", sweep.path}, {"updated", utc_now()}, {"counts", counts}, {"runs", list}}
                                .dump(2) + "\n");
  return counts;
}

SweepRunSummary run_sweep(const SweepFile& sweep, const std::vector<GridRun>& runs,
                          const SweepRunOptions& o) {
  const std::string out = out_of(sweep, o);
  SweepRunSummary summary;
  summary.total = runs.size();
  auto record_failure = [&](const GridRun& r, const std::string& error) {
    fs::create_directories(run_dir(out, r));
    io::write_file_atomic(run_dir(out, r) + "/" + kFailureFile,
                          nlohmann::json{{"name", r.name}, {"error", error}, {"time", utc_now()}}.dump(2) + "\n");
    summary.failures.push_back(r.name + ": " + error);
    ++summary.failed;
  };
  std::vector<RunJob> jobs;
  std::vector<const GridRun*> job_runs;
  for (const auto& r : runs) {
    const RunState state = run_state(out, sweep, r);
    if (state == RunState::complete) {
      ++summary.skipped;
      continue;
    }
    const std::string dir = run_dir(out, r);
    try {
      if (state == RunState::stale)
        fail("{} holds the results of other settings (the sweep file changed); remove the directory "
             "to redo the run, or give the sweep another 'out'",
             dir);
      const nlohmann::json config = run_config_json(sweep, r);
      RunJob job{r.name, dir, RunConfig::from_json(config, sweep.path + ": run " + r.name)};
      fs::create_directories(dir);
      io::write_file_atomic(dir + "/" + kRunFile,
                            nlohmann::json{{"sweep", sweep.name}, {"name", r.name}, {"index", r.index},
                                           {"settings", r.settings}, {"config", config}}
                                    .dump(2) + "\n");
      jobs.push_back(std::move(job));
      job_runs.push_back(&r);
    } catch (const Error& e) {  // a bad setting fails this run only
      if (!o.quiet) fmt::print(stderr, "{}: failed: {}\n", r.name, e.what());
      record_failure(r, e.what());
    }
  }
  if (!o.quiet && summary.skipped)
    fmt::print(stderr, "sweep {}: {} of {} runs already complete, skipped\n", sweep.name, summary.skipped,
               runs.size());
  JobRunnerOptions ro;
  ro.title = "sweep " + sweep.name;
  ro.jobs = o.jobs > 0 ? o.jobs : sweep.jobs;
  ro.threads = o.threads;
  ro.quiet = o.quiet;
  ro.stop_at_step = o.stop_at_step;
  ro.on_finished = [&](size_t i, const JobOutcome& outcome) {
    const GridRun& r = *job_runs[i];
    if (!outcome.ok()) return record_failure(r, outcome.error);
    fs::remove(run_dir(out, r) + "/" + kFailureFile);
    if (!outcome.summary.empty()) ++summary.succeeded;
  };
  run_jobs(jobs, ro);
  write_sweep_status(sweep, expand_grid(sweep), out);  // the whole grid, also after run-one or --only
  return summary;
}

}  // namespace lengen::sweep
