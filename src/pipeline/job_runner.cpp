#include "pipeline/job_runner.h"

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <mutex>
#include <thread>

#include "pipeline/task_run.h"
#include "util/error.h"

namespace lengen {

ThreadShare share_threads(int threads, int jobs, size_t n_jobs) {
  ThreadShare s;
  threads = std::max(1, threads);
  const int wanted = jobs > 0 ? jobs : threads;
  s.workers = std::max(1, std::min<int>(wanted, int(std::max<size_t>(1, n_jobs))));
  s.threads_per_worker = std::max(1, threads / s.workers);
  return s;
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long s = std::lround(seconds);
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
  if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

namespace {

// The shared state of one run_jobs call, guarded by `mutex`.
struct Progress {
  enum class State { waiting, running, done, failed };
  struct Run {
    State state = State::waiting;
    double fraction = 0;  // of its training steps
    std::string text;     // "1200/2500 loss 0.123"
  };
  std::vector<Run> runs;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_print = start - std::chrono::seconds(60);

  size_t count(State s) const {
    return size_t(std::count_if(runs.begin(), runs.end(), [s](const Run& r) { return r.state == s; }));
  }

  // "[sweep 3/30 done, 2 running, 1 failed, ETA 12m05s]": the ETA extrapolates the elapsed
  // time over the finished share of the work (runs done plus the running ones' step fractions).
  std::string line(const std::string& title, const std::vector<RunJob>& jobs) const {
    const size_t done = count(State::done), failed = count(State::failed), running = count(State::running);
    double work = double(done + failed);
    for (const auto& r : runs)
      if (r.state == State::running) work += r.fraction;
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double share = work / double(runs.size());
    std::string eta = share > 0.001 ? format_duration(elapsed * (1 - share) / share) : "?";
    std::string out = fmt::format("[{} {}/{} done, {} running, {} failed, ETA {}]", title, done,
                                  runs.size(), running, failed, eta);
    for (size_t i = 0; i < runs.size(); ++i)
      if (runs[i].state == State::running) out += fmt::format("  {} {}", jobs[i].label, runs[i].text);
    return out;
  }
};

}  // namespace

std::vector<JobOutcome> run_jobs(const std::vector<RunJob>& jobs, const JobRunnerOptions& o) {
  std::vector<JobOutcome> outcomes(jobs.size());
  if (jobs.empty()) return outcomes;
  // Each worker sets its own OpenMP thread count, which the OpenMP build of OpenBLAS follows.
  const ThreadShare share =
      share_threads(o.threads > 0 ? o.threads : omp_get_max_threads(), o.jobs, jobs.size());
  Progress progress;
  progress.runs.resize(jobs.size());
  std::mutex mutex;
  std::atomic<size_t> next{0};
  const bool tty = ::isatty(2);
  // At most one line a second on a terminal (rewritten in place), every 30 s in a log file.
  auto show = [&](bool force) {
    const auto now = std::chrono::steady_clock::now();
    if (o.quiet || (!force && now - progress.last_print < std::chrono::seconds(tty ? 1 : 30))) return;
    progress.last_print = now;
    fmt::print(stderr, "{}{}{}", tty ? "\r\033[K" : "", progress.line(o.title, jobs), tty ? "" : "\n");
  };
  if (!o.quiet)
    fmt::print(stderr, "{}: {} runs, {} at a time, {} thread(s) each\n", o.title, jobs.size(),
               share.workers, share.threads_per_worker);
  auto worker = [&] {
    omp_set_num_threads(share.threads_per_worker);
    for (size_t i; (i = next++) < jobs.size();) {
      TaskRunOptions ro;
      ro.quiet = true;
      ro.stop_at_step = o.stop_at_step;
      ro.on_progress = [&, i](int64_t step, int64_t total, double loss, double) {
        std::lock_guard<std::mutex> lock(mutex);
        progress.runs[i].fraction = total > 0 ? double(step) / double(total) : 0;
        progress.runs[i].text = fmt::format("{}/{} loss {:.3f}", step, total, loss);
        show(false);
      };
      {
        std::lock_guard<std::mutex> lock(mutex);
        progress.runs[i].state = Progress::State::running;
        progress.runs[i].text = "starting";
      }
      JobOutcome outcome;
      try {
        outcome.summary = run_task(jobs[i].dir, jobs[i].config, ro);
      } catch (const Error& e) {  // a bad setting, diverging loss, ...: this run only
        outcome.error = e.what();
      } catch (const std::exception& e) {  // a bug: this run only, but called what it is
        outcome.error = fmt::format("internal error: {}", e.what());
      }
      if (!outcome.ok() && outcome.error.empty()) outcome.error = "unknown error";
      std::lock_guard<std::mutex> lock(mutex);
      progress.runs[i].state = outcome.ok() ? Progress::State::done : Progress::State::failed;
      if (!o.quiet) {
        if (tty) fmt::print(stderr, "\r\033[K");
        if (!outcome.ok())
          fmt::print(stderr, "{}: failed: {}\n", jobs[i].label, outcome.error);
        else if (!outcome.summary.empty())
          fmt::print(stderr, "{}: ID {:.1f}%, OOD {:.1f}% ({})\n", jobs[i].label,
                     100 * outcome.summary.value("id_accuracy", 0.0),
                     100 * outcome.summary.value("ood_accuracy", 0.0), jobs[i].dir);
      }
      if (o.on_finished) try {
          o.on_finished(i, outcome);
        } catch (const std::exception& e) {  // e.g. a full disk: report it, keep the others going
          fmt::print(stderr, "{}: cannot record the outcome: {}\n", jobs[i].label, e.what());
        }
      outcomes[i] = std::move(outcome);
      show(true);
    }
  };
  std::vector<std::thread> pool;
  for (int w = 0; w < share.workers; ++w) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  if (!o.quiet && tty) fmt::print(stderr, "\n");
  return outcomes;
}

}  // namespace lengen
