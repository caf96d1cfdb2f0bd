// The lengen executable end to end: init, score, train-lm (with kill -9 and resume), errors.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "io/atomic_file.h"
#include "test_paths.h"
#include "util/rng.h"

namespace fs = std::filesystem;

namespace {

using Result = lengen::testing::CliResult;

Result run(const std::string& args) { return lengen::testing::run_lengen(args); }

std::string temp_dir(const std::string& name) {
  const auto p = fs::temp_directory_path() / ("lengen_cli_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

// OpenMP waits passively unless the user chose a policy (src/startup/openmp_wait_policy.cpp):
// libgomp reports what it read at start-up (OMP_DISPLAY_ENV; its default spins 300000 times,
// passive waiting 0), and the program runs once.
TEST(Cli, OpenMpWaitsPassivelyUnlessTheUserChoseAPolicy) {
  const std::string clean = "-u OMP_WAIT_POLICY -u GOMP_SPINCOUNT OMP_DISPLAY_ENV=verbose";
  Result r = lengen::testing::run_lengen("--version", "", clean);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("OMP_WAIT_POLICY = 'PASSIVE'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("GOMP_SPINCOUNT = '0'"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(LENGEN_VERSION), r.out.rfind(LENGEN_VERSION)) << "ran twice:\n" << r.out;
  r = lengen::testing::run_lengen("--version", "", clean + " OMP_WAIT_POLICY=ACTIVE");
  EXPECT_NE(r.out.find("OMP_WAIT_POLICY = 'ACTIVE'"), std::string::npos) << r.out;
  r = lengen::testing::run_lengen("--version", "", clean + " GOMP_SPINCOUNT=1234");
  EXPECT_NE(r.out.find("GOMP_SPINCOUNT = '1234'"), std::string::npos) << r.out;
}

TEST(Cli, InitThenScoreGivesNormalisedLogProbs) {
  const std::string dir = temp_dir("score");
  Result r = run("init --preset tiny --set pe.type=t5_bias --set vocab_size=20 --out " + dir + "/m");
  ASSERT_EQ(r.code, 0) << r.out;
  r = run("score --checkpoint " + dir + "/m --tokens 3,17,5,9");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["logprobs"].size(), 3u);
  for (const auto& lp : j["logprobs"]) EXPECT_LT(lp.get<double>(), 0.0);
  // Several sequences from a file; the first matches the single-sequence call.
  std::ofstream(dir + "/seqs.txt") << "3 17 5 9\n1,2\n\n4 4 4 4 4 4\n";
  Result many = run("score --checkpoint " + dir + "/m --tokens-file " + dir + "/seqs.txt");
  ASSERT_EQ(many.code, 0) << many.out;
  const auto jm = nlohmann::json::parse(many.out);
  ASSERT_EQ(jm.size(), 3u);
  // Same values up to fp32 rounding (the padded batch changes the GEMM shapes).
  for (size_t t = 0; t < 3; ++t)
    EXPECT_NEAR(jm[0]["logprobs"][t].get<double>(), j["logprobs"][t].get<double>(), 1e-5);
  fs::remove_all(dir);
}

TEST(Cli, BadInputGivesAClearErrorAndExitCodeOne) {
  const std::string dir = temp_dir("errors");
  Result r = run("init --preset tiny --set pe.type=rope --out " + dir + "/m");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("allowed values: abacus, abs_learned, abs_sin"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir + "/m"));
  ASSERT_EQ(run("init --preset tiny --set vocab_size=10 --out " + dir + "/m").code, 0);
  r = run("score --checkpoint " + dir + "/m --tokens 3,99");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("outside the vocabulary"), std::string::npos) << r.out;
  r = run("score --checkpoint " + dir + "/m --tokens 3,x");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("column 3"), std::string::npos) << r.out;
  std::ofstream(dir + "/bad.json") << "{\"model\": {\"d_model\": 16,}}";
  r = run("init --config " + dir + "/bad.json --out " + dir + "/m2");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("bad.json: invalid JSON"), std::string::npos) << r.out;
  fs::remove_all(dir);
}

// generate prints max-new tokens per prompt (no EOS given) and rejects a bad --max-new; debug
// step writes its three files, its log-probs match score's and its loss is their mean.
// (The PyTorch parity suite in tests/python checks both commands' numbers in depth.)
TEST(Cli, GenerateAndDebugStep) {
  const std::string dir = temp_dir("generate");
  ASSERT_EQ(run("init --preset tiny --set pe.type=alibi --set vocab_size=12 --out " + dir + "/m").code, 0);
  std::ofstream(dir + "/prompts.txt") << "3 4 5\n7\n";
  Result r = run("generate --checkpoint " + dir + "/m --prompts " + dir + "/prompts.txt --max-new 4");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto outputs = nlohmann::json::parse(r.out)["outputs"];
  ASSERT_EQ(outputs.size(), 2u);
  EXPECT_EQ(outputs[0].size(), 4u);
  EXPECT_EQ(outputs[1].size(), 4u);
  r = run("generate --checkpoint " + dir + "/m --prompts " + dir + "/prompts.txt --max-new 0");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("--max-new"), std::string::npos) << r.out;

  std::ofstream(dir + "/batch.json") << R"({"rows": [[3, 4, 5, 6], [7, 1]], "adamw": {"lr": 0.01}})";
  r = run("debug step --checkpoint " + dir + "/m --batch " + dir + "/batch.json --out " + dir + "/o");
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* f : {"result.json", "grads.safetensors", "updated.safetensors"})
    EXPECT_TRUE(fs::exists(dir + "/o/" + f)) << f;
  std::ifstream in(dir + "/o/result.json");
  const auto res = nlohmann::json::parse(in);
  const auto score = nlohmann::json::parse(run("score --checkpoint " + dir + "/m --tokens 3,4,5,6").out);
  ASSERT_EQ(res["logprobs"][0].size(), 3u);
  double mean = 0;
  for (int t = 0; t < 3; ++t) {
    EXPECT_NEAR(res["logprobs"][0][t].get<double>(), score["logprobs"][t].get<double>(), 1e-5);
    mean -= res["logprobs"][0][t].get<double>();
  }
  mean = (mean - res["logprobs"][1][0].get<double>()) / 4;
  EXPECT_NEAR(res["loss"].get<double>(), mean, 1e-5);
  fs::remove_all(dir);
}

// Train on a token file; kill -9 the process while it runs; rerun the same command: the final
// checkpoint is byte-identical to an uninterrupted run's.
TEST(Cli, TrainLmKilledAndResumedEqualsUninterrupted) {
  const std::string dir = temp_dir("kill");
  {
    std::ofstream tokens(dir + "/tokens.txt");
    lengen::Rng rng(5);
    for (int i = 0; i < 4000; ++i) tokens << (i % 7 == 0 ? 1 : 2 + rng.below(10)) << (i % 50 == 49 ? "\n" : " ");
    std::ofstream(dir + "/config.json") << R"({
      "model": {"family": "llama", "vocab_size": 12, "d_model": 32, "n_layers": 2, "n_heads": 2,
                "d_head": 16, "d_ff": 64, "pe": {"type": "rotary"}},
      "train": {"steps": 1500, "batch_size": 4, "seq_len": 32, "lr": 0.003, "checkpoint_every": 10,
                "log_every": 10, "warmup_steps": 20, "weight_decay": 0.01}
    })";
  }
  const std::string args = "train-lm --threads 1 --config " + dir + "/config.json --tokens " + dir + "/tokens.txt --out ";
  ASSERT_EQ(run(args + dir + "/straight").code, 0);

  // Start the same run, kill -9 it once it has written a checkpoint, then resume.
  const pid_t pid = fork();
  if (pid == 0) {
    const std::string cmd = std::string(lengen::testing::lengen_binary()) + " " + args + dir + "/killed >/dev/null 2>&1";
    execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), (char*)nullptr);
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!fs::exists(dir + "/killed/checkpoint") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  const bool was_killed = WIFSIGNALED(status);
  const Result resumed = run(args + dir + "/killed");
  ASSERT_EQ(resumed.code, 0) << resumed.out;
  // The kill must land mid-run (the run takes seconds; a checkpoint appears every 10 steps).
  ASSERT_TRUE(was_killed) << "the training process ended before it could be killed";
  EXPECT_NE(resumed.out.find("resuming"), std::string::npos) << resumed.out;
  EXPECT_EQ(lengen::io::read_file(dir + "/straight/checkpoint/model.safetensors"),
            lengen::io::read_file(dir + "/killed/checkpoint/model.safetensors"));
  EXPECT_EQ(lengen::io::read_file(dir + "/straight/checkpoint/optimizer.safetensors"),
            lengen::io::read_file(dir + "/killed/checkpoint/optimizer.safetensors"));
  // The metrics log has each step once, in order, even after the resume.
  std::ifstream metrics(dir + "/killed/metrics.jsonl");
  std::string line;
  int64_t last = 0;
  while (std::getline(metrics, line)) {
    const auto j = nlohmann::json::parse(line);
    if (j.contains("eval")) continue;
    EXPECT_GT(j["step"].get<int64_t>(), last);
    last = j["step"];
  }
  EXPECT_EQ(last, 1500);
  fs::remove_all(dir);
}

TEST(Cli, SweepListSlurmAndErrors) {
  const std::string dir = temp_dir("sweep");
  const std::string file = dir + "/grid.json";
  lengen::io::write_file_atomic(file, R"({"base": "models/tiny,tasks/copy_cmc_tr20_ts40",
    "axes": {"pe": ["nope", "alibi"], "seed": [0, 1]}, "slurm": {"cpus_per_task": 2}})");
  Result r = run("sweep list " + file + " --out " + dir + "/runs");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("   3  pending      alibi/seed1"), std::string::npos) << r.out;
  r = run("sweep slurm " + file + " --out " + dir + "/runs --set time=02:00:00");
  EXPECT_EQ(r.code, 0) << r.out;
  const std::string script = lengen::io::read_file(dir + "/runs/grid.slurm");
  EXPECT_NE(script.find("#SBATCH --array=0-3\n"), std::string::npos) << script;
  EXPECT_NE(script.find("#SBATCH --time=02:00:00\n"), std::string::npos) << script;
  EXPECT_NE(script.find("#SBATCH --cpus-per-task=2\n"), std::string::npos) << script;
  EXPECT_NE(script.find(std::string("exec '") + fs::canonical(lengen::testing::lengen_binary()).string() +
                        "' sweep run-one '" + file + "' \"$SLURM_ARRAY_TASK_ID\""),
            std::string::npos)
      << script;
  EXPECT_TRUE(fs::is_directory(dir + "/runs/slurm"));  // Slurm does not create the log folder
  r = run("sweep run-one " + file + " 4 --out " + dir + "/runs");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("index 4 is out of range; the grid has 4 runs (0..3)"), std::string::npos) << r.out;
  r = run("report " + dir + "/runs");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("no finished runs"), std::string::npos) << r.out;
  fs::remove_all(dir);
}

}  // namespace

namespace {

std::vector<nlohmann::json> json_lines(const std::string& out) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] == '{') lines.push_back(nlohmann::json::parse(line));
  return lines;
}

}  // namespace

TEST(Cli, BenchReportsThroughputFlopsAndMemoryAsJson) {
  const Result train = run("bench train --preset tiny --batch 2 --seq 8 --pe nope,t5_bias --reps 1 "
                           "--warmup 0 --threads 1 --json");
  ASSERT_EQ(train.code, 0) << train.out;
  const auto t = json_lines(train.out);
  ASSERT_EQ(t.size(), 2u) << train.out;
  EXPECT_EQ(t[1]["pe"], "t5_bias");
  for (const auto& r : t) {
    EXPECT_GT(r["tokens_per_s"].get<double>(), 0);
    EXPECT_GT(r["gflops"].get<double>(), 0);
    EXPECT_GT(r["needed_mib"].get<double>(), 0);
    EXPECT_GE(r["peak_rss_mib"].get<double>(), r["base_rss_mib"].get<double>());
  }
  const Result decode = run("bench decode --preset tiny --batch 3 --prompt 4 --new-tokens 5 "
                            "--pe rotary --reps 1 --warmup 0 --threads 1 --json");
  ASSERT_EQ(decode.code, 0) << decode.out;
  const auto d = json_lines(decode.out);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0]["new_tokens"], 5);
  EXPECT_GT(d[0]["tokens_per_s"].get<double>(), 0);
  const Result gemm = run("bench gemm --sizes 16,32 --reps 1 --warmup 0 --json");
  ASSERT_EQ(gemm.code, 0) << gemm.out;
  const auto g = json_lines(gemm.out);
  ASSERT_EQ(g.size(), 3u);
  EXPECT_EQ(g[2]["bench"], "gemm_peak");
  EXPECT_DOUBLE_EQ(g[2]["gflops"].get<double>(),
                   std::max(g[0]["gflops"].get<double>(), g[1]["gflops"].get<double>()));
  EXPECT_NE(run("bench decode --preset tiny --new-tokens 0").code, 0);
  EXPECT_EQ(t[0]["precision"], "fp32");
  const Result bad = run("--precision fp16 bench gemm --sizes 16");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.out.find("unknown precision 'fp16'; valid: fp32, bf16"), std::string::npos) << bad.out;
  // bf16 runs where oneDNN and AVX512-BF16 are, and says which is missing elsewhere
  const Result bf16 = run("--precision bf16 bench train --preset tiny --batch 2 --seq 8 --pe nope "
                          "--reps 1 --warmup 0 --threads 1 --json");
  if (bf16.code == 0)
    EXPECT_EQ(json_lines(bf16.out)[0]["precision"], "bf16");
  else
    EXPECT_NE(bf16.out.find("--precision bf16: this"), std::string::npos) << bf16.out;
}
