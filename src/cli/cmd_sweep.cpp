// lengen sweep run | run-one | list | slurm: the paper's grid of tasks x encodings x seeds
// (src/sweep/); lengen report: its tables and figures as an offline HTML page (src/report/).
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>

#include "cli/commands.h"
#include "io/atomic_file.h"
#include "pipeline/job_runner.h"
#include "report/paper_results.h"
#include "report/study.h"
#include "report/study_report.h"
#include "sweep/grid.h"
#include "sweep/runner.h"
#include "sweep/slurm.h"
#include "tasks/task.h"
#include "util/error.h"
#include "util/json_config.h"

namespace fs = std::filesystem;

namespace lengen::cli {
namespace {

struct SweepArgs {
  std::string file, out, only, script;
  int jobs = 0, threads = 0;
  size_t index = 0;
  std::vector<std::string> sets;
};

void add_file(CLI::App* cmd, SweepArgs& a) {
  cmd->add_option("FILE", a.file, "Sweep file (.json or .jsonnet), e.g. configs/sweeps/cpu.jsonnet")->required();
  cmd->add_option("--out", a.out, "Root of the run directories (default: the sweep file's 'out')");
}

std::string out_dir(const sweep::SweepFile& s, const SweepArgs& a) { return a.out.empty() ? s.out : a.out; }

// The grid, optionally only the runs whose name contains --only.
std::vector<sweep::GridRun> selected_runs(const sweep::SweepFile& s, const SweepArgs& a) {
  std::vector<sweep::GridRun> runs;
  for (auto& r : sweep::expand_grid(s))
    if (a.only.empty() || r.name.find(a.only) != std::string::npos) runs.push_back(std::move(r));
  if (runs.empty()) fail("{}: no run's name contains '{}'", s.path, a.only);
  return runs;
}

int report_summary(const sweep::SweepFile& s, const sweep::SweepRunSummary& r, const std::string& out) {
  fmt::print("sweep {}: {} runs: {} already complete, {} finished now, {} failed; status in {}/sweep_status.json\n",
             s.name, r.total, r.skipped, r.succeeded, r.failed, out);
  for (const auto& f : r.failures) fmt::print("  failed: {}\n", f);
  return r.failed ? 1 : 0;
}

void run_command(const SweepArgs& a) {
  apply_thread_count(a.threads);
  const auto s = sweep::load_sweep_file(a.file);
  sweep::SweepRunOptions o;
  o.jobs = a.jobs;
  o.threads = a.threads;
  o.out = out_dir(s, a);
  const auto start = std::chrono::steady_clock::now();
  const auto summary = sweep::run_sweep(s, selected_runs(s, a), o);
  fmt::print("wall time {}\n", format_duration(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()));
  if (report_summary(s, summary, o.out)) fail("sweep {}: {} of {} runs failed (the others kept their results)", s.name, summary.failed, summary.total);
}

void run_one_command(const SweepArgs& a) {
  apply_thread_count(a.threads);
  const auto s = sweep::load_sweep_file(a.file);
  const auto grid = sweep::expand_grid(s);
  if (a.index >= grid.size()) fail("{}: index {} is out of range; the grid has {} runs (0..{})", a.file, a.index, grid.size(), grid.size() - 1);
  sweep::SweepRunOptions o;
  o.jobs = 1;
  o.threads = a.threads;
  o.out = out_dir(s, a);
  const auto summary = sweep::run_sweep(s, {grid[a.index]}, o);
  if (report_summary(s, summary, o.out)) fail("sweep {}: run {} ({}) failed", s.name, a.index, grid[a.index].name);
}

void list_command(const SweepArgs& a) {
  const auto s = sweep::load_sweep_file(a.file);
  const auto runs = selected_runs(s, a);
  for (const auto& r : runs)
    fmt::print("{:4}  {:11}  {}\n", r.index, sweep::to_string(sweep::run_state(out_dir(s, a), s, r)), r.name);
  fmt::print("{} runs; counts: {}\n", runs.size(), sweep::write_sweep_status(s, runs, out_dir(s, a)).dump());
}

void slurm_command(const SweepArgs& a) {
  const auto s = sweep::load_sweep_file(a.file);
  sweep::SlurmScriptRequest r;
  r.lengen_binary = fs::read_symlink("/proc/self/exe").string();
  r.sweep_path = fs::absolute(a.file).lexically_normal().string();
  r.out = fs::absolute(out_dir(s, a)).lexically_normal().string();
  r.workdir = fs::current_path().string();
  for (const auto& set : a.sets) apply_override(r.overrides, set);
  const std::string text = sweep::slurm_script(s, sweep::expand_grid(s).size(), r);
  const std::string script = a.script.empty() ? r.out + "/" + s.name + ".slurm" : a.script;
  fs::create_directories(fs::absolute(script).parent_path());
  fs::create_directories(r.overrides.value("log_dir", s.slurm.value("log_dir", r.out + "/slurm")));
  io::write_file_atomic(script, text);
  fmt::print("wrote {} ({} array tasks); submit with: sbatch {}\n", script, sweep::expand_grid(s).size(), script);
}

}  // namespace

void register_sweep_commands(CLI::App& app) {
  auto* sweep = app.add_subcommand("sweep", "Grids of runs (tasks x encodings x seeds x any key): run locally or on Slurm");
  sweep->require_subcommand(1);

  auto a = std::make_shared<SweepArgs>();
  auto* run = sweep->add_subcommand("run", "Run the grid N at a time: skips complete runs, resumes interrupted ones, records failures");
  add_file(run, *a);
  run->add_option("--jobs", a->jobs, "Runs at the same time (default: the file's 'jobs', else one per thread)");
  run->add_option("--threads", a->threads, "Threads in all, shared out between the jobs (0: the default, see `lengen debug threads`)");
  run->add_option("--only", a->only, "Only the runs whose name contains this text");
  run->callback([a] { run_command(*a); });

  auto b = std::make_shared<SweepArgs>();
  auto* one = sweep->add_subcommand("run-one", "Run the grid's run number INDEX (what each Slurm array task calls)");
  add_file(one, *b);
  one->add_option("INDEX", b->index, "Grid index (see `sweep list`)")->required();
  one->add_option("--threads", b->threads, "Threads (0: the default, see `lengen debug threads`)");
  one->callback([b] { run_one_command(*b); });

  auto c = std::make_shared<SweepArgs>();
  auto* list = sweep->add_subcommand("list", "The grid: index, state and name of every run");
  add_file(list, *c);
  list->add_option("--only", c->only, "Only the runs whose name contains this text");
  list->callback([c] { list_command(*c); });

  auto d = std::make_shared<SweepArgs>();
  auto* slurm = sweep->add_subcommand("slurm", "Write a Slurm job-array script: one array task per run");
  add_file(slurm, *d);
  slurm->add_option("--script", d->script, "Script path (default: <out>/<name>.slurm)");
  slurm->add_option("--set", d->sets, "Override a resource: time=08:00:00, gres=gpu:1, partition=gpu (repeatable)");
  slurm->callback([d] { slurm_command(*d); });

  auto dirs = std::make_shared<std::vector<std::string>>();
  auto report_out = std::make_shared<std::string>();
  auto paper = std::make_shared<std::vector<std::string>>();
  auto* report = app.add_subcommand(
      "report", "Tables and figures of finished runs (sweeps, compare, train runs): HTML page, CSV, JSON");
  report->add_option("DIR", *dirs, "Directories searched for runs (results.json) and LM/analysis results");
  report->add_option("--out", *report_out, "Output directory (default: <first DIR>/report; none without DIR)");
  report->add_option("--paper-results", *paper,
                     "The paper's runs: upstream results/classic.jsonl or sanity_check.jsonl (repeatable); with DIR "
                     "also a side-by-side comparison")
      ->allow_extra_args(false);
  report->callback([dirs, report_out, paper] {
    if (dirs->empty() && paper->empty()) fail("report: give run directories, --paper-results FILE, or both");
    std::string out = *report_out;
    std::vector<report::RunRecord> ours;
    if (!dirs->empty()) {
      if (out.empty()) out = dirs->front() + "/report";
      const auto r = report::write_study_report(*dirs, out);
      fmt::print("{}\n{} runs, {} LM/analysis result folders; report: {}/index.html (CSV and JSON beside it)\n", r.text,
                 r.runs, r.extras, r.out_dir);
      ours = report::find_runs(*dirs, {out});
    }
    if (paper->empty()) return;
    // Whether lengen's task registry generates the split (upstream names minus "s2s_").
    const auto known = [](const std::string& task, const std::string& split) {
      try {
        const auto splits = tasks::make_task(task)->splits();
        return std::find(splits.begin(), splits.end(), split) != splits.end();
      } catch (const Error&) {
        return false;
      }
    };
    const auto p = report::write_paper_report(*paper, ours, out, known);
    fmt::print("\n{}", p.text);
    if (!p.files.empty()) fmt::print("\nwritten: {}\n", fmt::join(p.files, ", "));
  });
}

}  // namespace lengen::cli
