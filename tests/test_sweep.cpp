// Sweeps: grid expansion, stable run names, the run config of each grid point, skip / resume /
// failure isolation of the local runner, and the Slurm array script.
#include <gtest/gtest.h>

#include "file_test_support.h"

#include <filesystem>

#include "io/atomic_file.h"
#include "model/checkpoint.h"
#include "pipeline/job_runner.h"
#include "pipeline/run_config.h"
#include "sweep/grid.h"
#include "sweep/runner.h"
#include "sweep/slurm.h"

namespace fs = std::filesystem;

namespace lengen::sweep {
namespace {

std::vector<std::string> names(const std::vector<GridRun>& runs) {
  std::vector<std::string> out;
  for (const auto& r : runs) out.push_back(r.name);
  return out;
}

TEST(SweepGrid, CartesianProductInNameOrder) {
  // Axis keys in the file's (alphabetical) order; names put task, scratchpad, pe, other keys, seed.
  const SweepFile s = parse_sweep(
      {{"base", "models/tiny"},
       {"axes", {{"seed", {0, 1}}, {"pe", {"nope", "alibi"}}, {"task", {"copy_cmc_tr20_ts40", "sum_len_tr8_ts16"}},
                 {"train.lr", {0.001}}}}},
      "grid.json");
  EXPECT_EQ(s.name, "grid");
  EXPECT_EQ(s.out, "runs/sweeps/grid");
  const auto runs = expand_grid(s);
  ASSERT_EQ(runs.size(), 8u);
  EXPECT_EQ(runs[0].name, "copy_cmc_tr20_ts40/nope/train.lr=0.001/seed0");
  EXPECT_EQ(runs[1].name, "copy_cmc_tr20_ts40/nope/train.lr=0.001/seed1");
  EXPECT_EQ(runs[2].name, "copy_cmc_tr20_ts40/alibi/train.lr=0.001/seed0");
  EXPECT_EQ(runs[7].name, "sum_len_tr8_ts16/alibi/train.lr=0.001/seed1");
  for (size_t i = 0; i < runs.size(); ++i) EXPECT_EQ(runs[i].index, i);
  EXPECT_EQ(runs[5].settings["pe"], "nope");
  EXPECT_EQ(runs[5].settings["seed"], 1);
}

TEST(SweepGrid, NamesDependOnlyOnTheRunsOwnSettings) {
  const auto a = expand_grid(parse_sweep({{"axes", {{"pe", {"nope", "alibi"}}, {"seed", {0, 1}}}}}, "a.json"));
  // Other value order, an extra value, an extra scratchpad axis value: the same runs keep their names.
  const auto b = expand_grid(parse_sweep({{"axes", {{"pe", {"rotary", "alibi", "nope"}}, {"seed", {2, 1, 0}}}}}, "b.json"));
  for (const auto& name : names(a)) EXPECT_NE(std::find(names(b).begin(), names(b).end(), name), names(b).end()) << name;
  EXPECT_EQ(names(a), names(expand_grid(parse_sweep({{"axes", {{"pe", {"nope", "alibi"}}, {"seed", {0, 1}}}}}, "a.json"))));
  const auto sp = expand_grid(parse_sweep({{"axes", {{"scratchpad", {"", "i1_c1_o1_v1_r1"}}, {"pe", {"nope"}}}}}, "s.json"));
  EXPECT_EQ(names(sp), (std::vector<std::string>{"sp-none/nope", "sp-i1_c1_o1_v1_r1/nope"}));
}

TEST(SweepGrid, StructuredValuesNeedLabelsAndNamesMustDiffer) {
  const auto runs = expand_grid(parse_sweep(
      {{"axes", {{"pe", {{{"type", "alibi"}}, {{"label", "rope_b500"}, {"value", {{"type", "rotary"}, {"base", 500}}}}}}}}},
      "l.json"));
  EXPECT_EQ(names(runs), (std::vector<std::string>{"alibi", "rope_b500"}));
  EXPECT_EQ(runs[1].settings["pe"]["base"], 500);
  std::string m = testing::error_of([] {
    parse_sweep({{"axes", {{"pe", {{{"type", "rotary"}, {"base", 500}}}}}}}, "x.json");
  });
  EXPECT_NE(m.find("x.json: axes.pe[0]"), std::string::npos) << m;
  EXPECT_NE(m.find("label"), std::string::npos) << m;
  m = testing::error_of([] {
    expand_grid(parse_sweep({{"axes", {{"model.pe", {"a/b", "a_b"}}}}}, "d.json"));
  });
  EXPECT_NE(m.find("same name model.pe=a_b"), std::string::npos) << m;
  m = testing::error_of([] { parse_sweep({{"axes", {{"pe", nlohmann::json::array()}}}}, "e.json"); });
  EXPECT_NE(m.find("e.json: axes.pe: expected a non-empty list"), std::string::npos) << m;
  m = testing::error_of([] { parse_sweep({{"axis", {{"pe", {"nope"}}}}}, "k.json"); });
  EXPECT_NE(m.find("k.json: unknown key 'axis'"), std::string::npos) << m;
  m = testing::error_of([] { parse_sweep({{"axes", {{"seed", {-1}}}}}, "s.json"); });
  EXPECT_NE(m.find("s.json: axes.seed[0]: a seed must be a non-negative integer"), std::string::npos) << m;
}

TEST(SweepGrid, RunConfigLayersBaseTaskConfigAndAxes) {
  const SweepFile s = parse_sweep({{"base", {"models/tiny"}},
                                   {"config", {{"train", {{"steps", 7}}}, {"model", {{"pe", {{"type", "rotary"}, {"base", 500}}}}}}},
                                   {"axes", {{"task", {"reverse_mc_tr20_ts40"}}, {"pe", {"rotary", "alibi"}}, {"seed", {3}},
                                             {"scratchpad", {""}}, {"eval.max_per_length", {5}}}}},
                                  "c.json");
  const auto runs = expand_grid(s);
  const nlohmann::json rotary = run_config_json(s, runs[0]), alibi = run_config_json(s, runs[1]);
  EXPECT_EQ(rotary["data"]["task"], "reverse");
  EXPECT_EQ(rotary["data"]["split"], "mc_tr20_ts40");
  EXPECT_EQ(rotary["model"]["n_layers"], 2);  // from models/tiny
  EXPECT_EQ(rotary["train"]["steps"], 7);
  EXPECT_EQ(rotary["train"]["seed"], 3);
  EXPECT_EQ(rotary["eval"]["max_per_length"], 5);
  EXPECT_EQ(rotary["model"]["pe"]["base"], 500);  // the base config's options of that encoding stay
  EXPECT_EQ(alibi["model"]["pe"], nlohmann::json({{"type", "alibi"}}));
  EXPECT_FALSE(alibi["data"].contains("scratchpad"));
  RunConfig::from_json(alibi, "alibi");  // valid
}

// A grid small enough to train in seconds.
SweepFile tiny_sweep(const std::vector<std::string>& encodings) {
  return parse_sweep(
      {{"name", "t"},
       {"base", "models/tiny,tasks/copy_cmc_tr20_ts40"},
       {"config",
        {{"model", {{"d_model", 32}, {"d_head", 8}, {"d_ff", 64}}},
         {"data", {{"train_size", 300}, {"test_size", 60}}},
         {"train", {{"steps", 8}, {"batch_size", 4}, {"eval_every", 4}, {"checkpoint_every", 2}, {"log_every", 2}}},
         {"eval", {{"validation_examples", 8}, {"max_per_length", 2}}}}},
       {"axes", {{"pe", encodings}, {"seed", {0}}}}},
      "t.json");
}

SweepRunOptions quiet_run(const testing::TempDir& tmp, int jobs) {
  SweepRunOptions o;
  o.out = tmp.file("out");
  o.quiet = true;
  o.jobs = jobs;
  return o;
}

TEST(SweepRunner, InterruptedRunsResumeAndCompleteRunsAreSkipped) {
  testing::TempDir tmp;
  const SweepFile s = tiny_sweep({"nope", "alibi"});
  const auto runs = expand_grid(s);
  SweepRunOptions o = quiet_run(tmp, 2);
  o.stop_at_step = 4;  // "killed" after the checkpoint of step 4
  SweepRunSummary first = run_sweep(s, runs, o);
  EXPECT_EQ(first.succeeded, 0u);
  for (const auto& r : runs) EXPECT_EQ(run_state(o.out, s, r), RunState::interrupted) << r.name;

  o.stop_at_step = 0;
  const SweepRunSummary second = run_sweep(s, runs, o);
  EXPECT_EQ(second.succeeded, 2u);
  EXPECT_EQ(second.skipped, 0u);
  for (const auto& r : runs) {
    EXPECT_EQ(run_state(o.out, s, r), RunState::complete) << r.name;
    const auto results = read_json_file(run_dir(o.out, r) + "/results.json");
    EXPECT_EQ(results["training"]["resumed_from"], 4) << r.name;
    EXPECT_EQ(read_json_file(run_dir(o.out, r) + "/sweep_run.json")["index"], r.index);
  }
  const std::string before = io::read_file(run_dir(o.out, runs[1]) + "/results.json");
  const auto mtime = fs::last_write_time(run_dir(o.out, runs[1]) + "/results.json");

  const SweepRunSummary third = run_sweep(s, runs, o);
  EXPECT_EQ(third.skipped, 2u);
  EXPECT_EQ(third.succeeded, 0u);
  EXPECT_EQ(io::read_file(run_dir(o.out, runs[1]) + "/results.json"), before);
  EXPECT_EQ(fs::last_write_time(run_dir(o.out, runs[1]) + "/results.json"), mtime);
  const auto status = read_json_file(o.out + "/sweep_status.json");
  EXPECT_EQ(status["counts"]["complete"], 2);

  // Changed settings under the same name: the finished run is stale, not silently reused.
  SweepFile changed = s;
  changed.config["train"]["steps"] = 9;
  EXPECT_EQ(run_state(o.out, changed, runs[0]), RunState::stale);
  const SweepRunSummary stale = run_sweep(changed, runs, o);
  EXPECT_EQ(stale.failed, 2u);
  EXPECT_NE(stale.failures[0].find("holds the results of other settings"), std::string::npos) << stale.failures[0];
  EXPECT_EQ(io::read_file(run_dir(o.out, runs[1]) + "/results.json"), before);
}

TEST(SweepRunner, AFailingRunIsRecordedAndTheOthersFinish) {
  testing::TempDir tmp;
  const SweepFile s = tiny_sweep({"no_such_encoding", "alibi"});
  const auto runs = expand_grid(s);
  const SweepRunOptions o = quiet_run(tmp, 1);
  const SweepRunSummary r = run_sweep(s, runs, o);
  EXPECT_EQ(r.failed, 1u);
  EXPECT_EQ(r.succeeded, 1u);
  ASSERT_EQ(r.failures.size(), 1u);
  EXPECT_NE(r.failures[0].find("no_such_encoding"), std::string::npos) << r.failures[0];
  EXPECT_EQ(run_state(o.out, s, runs[0]), RunState::failed);
  EXPECT_EQ(run_state(o.out, s, runs[1]), RunState::complete);
  const auto failure = read_json_file(run_dir(o.out, runs[0]) + "/failure.json");
  EXPECT_NE(failure["error"].get<std::string>().find("no_such_encoding"), std::string::npos);
  const auto status = read_json_file(o.out + "/sweep_status.json");
  EXPECT_EQ(status["counts"]["failed"], 1);
  EXPECT_EQ(status["counts"]["complete"], 1);
  // A rerun retries only the failed run.
  const SweepRunSummary again = run_sweep(s, runs, o);
  EXPECT_EQ(again.skipped, 1u);
  EXPECT_EQ(again.failed, 1u);
}

TEST(SweepRunner, ThreadsAreSharedBetweenJobs) {
  auto share = [](int threads, int jobs, size_t runs) {
    const ThreadShare s = share_threads(threads, jobs, runs);
    return std::make_pair(s.workers, s.threads_per_worker);
  };
  EXPECT_EQ(share(2, 0, 30), std::make_pair(2, 1));   // default: one run per thread
  EXPECT_EQ(share(16, 4, 30), std::make_pair(4, 4));
  EXPECT_EQ(share(8, 0, 3), std::make_pair(3, 2));    // never more workers than runs
  EXPECT_EQ(share(2, 5, 30), std::make_pair(5, 1));   // at least one thread each
  EXPECT_EQ(share(7, 2, 30), std::make_pair(2, 3));
  EXPECT_EQ(format_duration(42), "42s");
  EXPECT_EQ(format_duration(185), "3m05s");
  EXPECT_EQ(format_duration(3720), "1h02m");
}

TEST(SweepSlurm, ArrayScriptRunsOneGridIndexPerTask) {
  SweepFile s = parse_sweep({{"name", "paper"},
                             {"axes", {{"pe", {"nope", "alibi", "rotary"}}, {"seed", {0, 1}}}},
                             {"slurm", {{"partition", "gpu"}, {"cpus_per_task", 8}, {"time", "12:00:00"},
                                        {"setup", {"module load gcc"}}, {"max_parallel", 4}}}},
                            "/abs/paper.jsonnet");
  SlurmScriptRequest r{"/opt/lengen/bin/lengen", "/abs/paper.jsonnet", "/scratch/runs/paper", "/home/me/it's", {}};
  r.overrides = {{"time", "24:00:00"}, {"gres", "gpu:1"}};
  const std::string script = slurm_script(s, expand_grid(s).size(), r);
  for (const char* line :
       {"#!/bin/bash\n", "#SBATCH --array=0-5%4\n", "#SBATCH --cpus-per-task=8\n", "#SBATCH --time=24:00:00\n",
        "#SBATCH --partition=gpu\n", "#SBATCH --gres=gpu:1\n", "#SBATCH --mem=8G\n", "#SBATCH --job-name=lengen-paper\n",
        "#SBATCH --output=/scratch/runs/paper/slurm/%A_%a.out\n", "cd '/home/me/it'\\''s'\n", "module load gcc\n",
        "exec '/opt/lengen/bin/lengen' sweep run-one '/abs/paper.jsonnet' \"$SLURM_ARRAY_TASK_ID\" --out "
        "'/scratch/runs/paper' --threads \"$threads\"\n"})
    EXPECT_NE(script.find(line), std::string::npos) << line << "\n--- in ---\n" << script;
  EXPECT_EQ(script.find("--account"), std::string::npos);
  // The setup runs before the command; the #SBATCH lines come before any command.
  EXPECT_LT(script.find("module load gcc"), script.find("exec "));
  EXPECT_LT(script.rfind("#SBATCH"), script.find("set -euo"));
  r.overrides = {{"walltime", "1:00:00"}};
  std::string m = testing::error_of([&] { slurm_script(s, 6, r); });
  EXPECT_NE(m.find("unknown key slurm.walltime"), std::string::npos) << m;
  r.overrides = {{"cpus_per_task", "many"}};
  m = testing::error_of([&] { slurm_script(s, 6, r); });
  EXPECT_NE(m.find("cpus_per_task must be a positive integer"), std::string::npos) << m;
}

TEST(SweepFiles, ShippedSweepsExpand) {
  for (const char* name : {"cpu", "cpu_quick", "paper", "chomsky", "chomsky_cpu"}) {
    const SweepFile s = load_sweep_file(config_dir() + "/sweeps/" + name + ".jsonnet");
    const auto runs = expand_grid(s);
    EXPECT_GE(runs.size(), 18u) << name;
    for (const auto& r : runs) RunConfig::from_json(run_config_json(s, r), r.name);  // every run's config is valid
  }
}

}  // namespace
}  // namespace lengen::sweep
