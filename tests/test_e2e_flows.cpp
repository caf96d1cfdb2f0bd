// Every command chain of the README run as a user runs it, on tiny budgets (a few training
// steps of a small model, small datasets): compare -> report; train -> eval -> analyze ->
// report; sweep run -> list -> report; lm data -> train -> eval -> report; init -> convert ->
// score; generate; every encoding through train -> eval. Each step must succeed and write what
// the README says; a crash (signal) or an "internal error" fails the flow. Then one test per
// mistake found by hand: results that a later command destroyed, checks that came after the
// training instead of before it, messages that named the wrong file, exit statuses.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "file_test_support.h"
#include "io/atomic_file.h"

namespace fs = std::filesystem;

namespace lengen::testing {
namespace {

// A model and budget that train in well under a second: 4 steps of 4 sequences, D32.
const std::string kTiny =
    " --set model.d_model=32 --set model.d_head=8 --set model.d_ff=64 --set train.steps=4"
    " --set train.batch_size=4 --set train.log_every=2 --set train.checkpoint_every=2"
    " --set data.train_size=200 --set data.test_size=40 --set eval.validation_examples=8"
    " --set eval.max_per_length=2";
// `lengen train` of the README on the copy task, at that budget.
const std::string kTrainCopy = "train --threads 1 --config models/tiny,tasks/copy_cmc_tr20_ts40" + kTiny;

nlohmann::json read_json(const fs::path& p) { return nlohmann::json::parse(io::read_file(p.string())); }

// Every file under `dir` (but the lock file, whose content is the holder's pid) -> its bytes.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file() && e.path().filename() != ".lock")
      files[fs::relative(e.path(), dir).string()] = io::read_file(e.path().string());
  return files;
}

// Names of the files that differ between two snapshots (added, removed or changed).
std::vector<std::string> differences(const std::map<std::string, std::string>& a,
                                     const std::map<std::string, std::string>& b) {
  std::vector<std::string> out;
  for (const auto& [name, bytes] : a)
    if (!b.count(name) || b.at(name) != bytes) out.push_back(name);
  for (const auto& [name, bytes] : b)
    if (!a.count(name)) out.push_back(name);
  return out;
}

// Files left by an interrupted atomic write ("<name>.tmp.<pid>").
std::vector<std::string> temp_files(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.path().filename().string().find(".tmp") != std::string::npos) out.push_back(e.path().string());
  return out;
}

// One scratch directory per test; commands run in it, as a user runs them from a checkout.
class E2e : public ::testing::Test {
 protected:
  CliResult lengen(const std::string& args) const { return run_lengen(args, root_.path().string(), "OMP_NUM_THREADS=1"); }

  // A step of a flow: it must succeed, without a crash or an internal error.
  CliResult step(const std::string& args) const {
    CliResult r = lengen(args);
    EXPECT_FALSE(r.crashed()) << "lengen " << args << "\n" << r.describe();
    EXPECT_EQ(r.code, 0) << "lengen " << args << "\n" << r.describe();
    return r;
  }

  // A user mistake: exit status 1 with "lengen: error: ..." and no crash.
  CliResult mistake(const std::string& args) const {
    CliResult r = lengen(args);
    EXPECT_FALSE(r.crashed()) << "lengen " << args << "\n" << r.describe();
    EXPECT_EQ(r.code, 1) << "lengen " << args << "\n" << r.describe();
    EXPECT_NE(r.out.find("lengen: error: "), std::string::npos) << r.out;
    return r;
  }

  fs::path path(const std::string& rel) const { return root_.path() / rel; }

  void expect_files(const std::string& dir, const std::vector<std::string>& names) const {
    for (const auto& n : names) EXPECT_TRUE(fs::is_regular_file(path(dir) / n)) << dir << "/" << n;
  }

  // A finished task run: results.json with ID and OOD accuracy and the training figures.
  void expect_finished_run(const std::string& dir) const {
    ASSERT_TRUE(fs::is_regular_file(path(dir) / "results.json")) << dir << ": the run did not finish";
    expect_files(dir, {"config.json", "metrics.jsonl", "results.json", "checkpoint/model.safetensors",
                       "checkpoint/vocab.json", "best/model.safetensors", "eval/validation/results.json",
                       "eval/validation/predictions.jsonl", "eval/test/results.json",
                       "eval/test/predictions.jsonl"});
    const auto r = read_json(path(dir) / "results.json");
    EXPECT_TRUE(r.contains("id_accuracy") && r.contains("ood_accuracy")) << r.dump(2);
    EXPECT_GT(r["training"]["final_loss"].get<double>(), 0.0) << r.dump(2);
    EXPECT_GT(r["training"]["tokens_per_second"].get<double>(), 0.0) << r.dump(2);
    // per-token accuracy beside exact match, overall and per length
    const auto test = read_json(path(dir) / "eval/test/results.json");
    for (const auto* score : {&test, &test["per_length"].begin().value()}) {
      ASSERT_TRUE(score->contains("token_accuracy")) << test.dump(2);
      EXPECT_GE((*score)["token_accuracy"].get<double>(), 0.0);
      EXPECT_LE((*score)["token_accuracy"].get<double>(), 1.0);
    }
  }

  TempDir root_;
};

// ---------------------------------------------------------------------------------------------
// The README's flows

// The main job and its report: `lengen compare`, then `lengen report` on its output, on one
// encoding's directory and on one run; rerunning the finished compare changes no run.
TEST_F(E2e, CompareThenReport) {
  step("compare --pe nope,alibi --seeds 0 --jobs 2 --threads 2 --out runs/compare" + kTiny);
  expect_files("runs/compare/report", {"results.md", "results.csv", "summary.json"});
  for (const char* run : {"runs/compare/nope/seed0", "runs/compare/alibi/seed0"}) expect_finished_run(run);
  const auto runs = snapshot(path("runs/compare/alibi/seed0"));

  CliResult r = step("report runs/compare");
  EXPECT_NE(r.out.find("2 runs"), std::string::npos) << r.out;
  expect_files("runs/compare/report", {"index.html", "main_table.csv", "main_table.md", "mrr.csv", "runs.csv",
                                       "report.json", "accuracy_by_length.csv"});
  const std::string table = io::read_file(path("runs/compare/report/main_table.md").string());
  EXPECT_NE(table.find("copy rdc_tr20_ts40"), std::string::npos) << table;  // task read from the data
  EXPECT_NE(table.find("alibi"), std::string::npos) << table;
  step("report runs/compare/alibi");
  expect_files("runs/compare/alibi/report", {"index.html", "main_table.csv"});
  step("report runs/compare/alibi/seed0 --out reports/one_run");
  expect_files("reports/one_run", {"index.html", "main_table.csv"});

  step("compare --pe nope,alibi --seeds 0 --jobs 2 --threads 2 --out runs/compare" + kTiny);
  EXPECT_EQ(differences(runs, snapshot(path("runs/compare/alibi/seed0"))), std::vector<std::string>{});
}

// train (a NoPE reference and an ALiBi run) -> eval -> analyze attention, distance, attended,
// heatmap -> report of the runs and the analyses.
TEST_F(E2e, TrainEvalAnalyzeReport) {
  step(kTrainCopy + " --set model.pe=nope --out runs/nope");
  CliResult r = step(kTrainCopy + " --set model.pe=alibi --out runs/alibi");
  EXPECT_NE(r.out.find("details in runs/alibi/results.json"), std::string::npos) << r.out;
  expect_finished_run("runs/nope");
  expect_finished_run("runs/alibi");
  if (HasFatalFailure()) return;
  const auto trained = read_json(path("runs/alibi/results.json"));

  r = step("eval --run runs/alibi --threads 1");
  const auto summary = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  EXPECT_EQ(summary["id_accuracy"], trained["id_accuracy"]);
  EXPECT_EQ(summary["test"]["per_length"], trained["test"]["per_length"]);
  EXPECT_EQ(read_json(path("runs/alibi/results.json"))["training"], trained["training"]);

  step("analyze attention --run runs/alibi --per-length 1");
  expect_files("runs/alibi/analysis/attention/test", {"attention.safetensors", "attention.json"});
  step("analyze distance --runs runs/nope,runs/alibi --reference runs/nope --per-length 1 --out analysis/distance");
  expect_files("analysis/distance", {"distance.csv", "distance_summary.md", "distance_summary.csv"});
  step("analyze attended --runs runs/nope,runs/alibi --per-length 1 --out analysis/attended");
  expect_files("analysis/attended", {"attended_distance.csv", "attended_distance_summary.csv"});
  r = step("analyze heatmap --run runs/alibi --per-length 1 --examples 0 --layers 0 --heads 1 --format svg");
  EXPECT_NE(r.out.find("runs/alibi/analysis/heatmaps/attention_ex0_len21_l0_h1.svg"), std::string::npos) << r.out;

  r = step("report runs analysis --out report");
  EXPECT_NE(r.out.find("2 runs, 2 LM/analysis result folders"), std::string::npos) << r.out;
  const std::string page = io::read_file(path("report/index.html").string());
  EXPECT_NE(page.find("Attention analysis"), std::string::npos);
  EXPECT_NE(page.find("attended_distance.csv"), std::string::npos);
}

// sweep run -> sweep list -> report; a second `sweep run` skips the complete runs.
TEST_F(E2e, SweepRunListReport) {
  root_.write("grid.json", R"({"name": "e2e", "out": "runs/sweeps/e2e", "base": ["models/tiny"],
    "config": {"model": {"d_model": 32, "d_head": 8, "d_ff": 64},
               "train": {"steps": 4, "batch_size": 4, "log_every": 2, "checkpoint_every": 2},
               "data": {"train_size": 200, "test_size": 40},
               "eval": {"validation_examples": 8, "max_per_length": 2}},
    "axes": {"task": ["copy_cmc_tr20_ts40"], "pe": ["nope", "alibi"], "seed": [0]}})");
  CliResult r = step("sweep run grid.json --jobs 2 --threads 2");
  EXPECT_NE(r.out.find("2 finished now, 0 failed"), std::string::npos) << r.out;
  expect_finished_run("runs/sweeps/e2e/copy_cmc_tr20_ts40/alibi/seed0");
  r = step("sweep list grid.json");
  EXPECT_NE(r.out.find("   1  complete     copy_cmc_tr20_ts40/alibi/seed0"), std::string::npos) << r.out;
  r = step("report runs/sweeps/e2e");
  EXPECT_NE(r.out.find("2 runs"), std::string::npos) << r.out;
  expect_files("runs/sweeps/e2e/report", {"index.html", "main_table.csv", "mrr.csv"});
  r = step("sweep run grid.json");
  EXPECT_NE(r.out.find("2 already complete, 0 finished now"), std::string::npos) << r.out;
}

// lm data -> lm train (BiPE-RoPE and RoPE) -> lm eval -> report.
TEST_F(E2e, LmDataTrainEvalReport) {
  {  // a small corpus, one document per JSONL line (BiPE's delimiters: the newline pieces)
    std::ofstream corpus(path("corpus.jsonl"));
    const std::vector<std::string> words = {"the", "cat", "dog", "sat", "ran", "on", "under", "mat", "red", "big"};
    uint32_t x = 7;
    for (int doc = 0; doc < 120; ++doc) {
      std::string text;
      for (int line = 0; line < 12; ++line) {
        for (int w = 0; w < 8; ++w) {
          x = x * 1103515245u + 12345u;
          text += words[(x >> 16) % words.size()] + " ";
        }
        text += ".\n";
      }
      corpus << nlohmann::json{{"text", text}}.dump() << "\n";
    }
  }
  step("lm data --out lm/data --corpus corpus.jsonl --vocab-size 300");
  expect_files("lm/data", {"tokenizer.model", "train.bin", "valid.bin", "data.json"});
  const std::string budget =
      " --threads 1 --set train.steps=4 --set train.batch_size=2 --set train.seq_len=16 --set train.eval_every=2"
      " --set train.log_every=2 --set train.checkpoint_every=2 --set model.d_model=32 --set model.d_head=8"
      " --set model.d_ff=64";
  for (const char* pe : {"bipe_rope", "rotary"}) {
    step(std::string("lm train --data lm/data --out lm/runs/") + pe + " --pe " + pe + budget);
    expect_files(std::string("lm/runs/") + pe, {"config.json", "metrics.jsonl", "best/model.safetensors",
                                                "best/tokenizer.model", "checkpoint/model.safetensors"});
  }
  step("lm eval --model lm/runs/bipe_rope,lm/runs/rotary --data lm/data --out lm/eval --lengths 1,2 --max-tokens 256 --threads 1");
  expect_files("lm/eval", {"perplexity.md", "perplexity.csv", "perplexity.json"});
  const CliResult r = step("report lm/eval");
  EXPECT_NE(r.out.find("1 LM/analysis result folders"), std::string::npos) << r.out;
  EXPECT_NE(io::read_file(path("lm/eval/report/index.html").string()).find("Language modelling"), std::string::npos);
}

// init -> convert to each reference layout and back -> score: the round trip is bit-identical
// and scores the same; a model a layout cannot express is refused with the reason.
TEST_F(E2e, InitConvertEachLayoutAndBackThenScore) {
  step("init --preset tiny --set pe.type=t5_bias --set vocab_size=40 --seed 1 --out models/t5");
  step("init --preset tiny --set family=llama --set pe.type=rotary --set vocab_size=40 --seed 1 --out models/llama");
  for (const std::string layout : {"t5", "llama"}) {
    const std::string native = "models/" + layout, there = native + "_" + layout, back = native + "_back";
    step("convert --from native --to " + layout + " " + native + " " + there);
    expect_files(there, {"config.json", "model.safetensors"});
    step("convert --from " + layout + " --to native " + there + " " + back);
    EXPECT_EQ(io::read_file(path(native + "/model.safetensors").string()),
              io::read_file(path(back + "/model.safetensors").string()))
        << layout;
    const CliResult a = step("score --checkpoint " + native + " --tokens 3,17,5,9");
    const CliResult b = step("score --checkpoint " + back + " --tokens 3,17,5,9");
    EXPECT_EQ(a.out, b.out) << layout;
    EXPECT_EQ(nlohmann::json::parse(a.out)["logprobs"].size(), 3u) << a.out;
  }
  const CliResult r = mistake("convert --from native --to llama models/t5 models/t5_llama");
  EXPECT_NE(r.out.find("cannot be expressed in LlamaConfig"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(path("models/t5_llama")));
}

// init -> generate (with and without EOS); a prompt outside the vocabulary is an error.
TEST_F(E2e, Generate) {
  step("init --preset tiny --set pe.type=alibi --set vocab_size=30 --out m");
  root_.write("prompts.json", "[[3, 4, 5], [7]]");
  CliResult r = step("generate --checkpoint m --prompts prompts.json --max-new 4");
  const auto outputs = nlohmann::json::parse(r.out)["outputs"];
  ASSERT_EQ(outputs.size(), 2u) << r.out;
  EXPECT_EQ(outputs[0].size(), 4u);
  const int first = outputs[0][0];
  r = step("generate --checkpoint m --prompts prompts.json --max-new 4 --eos " + std::to_string(first));
  EXPECT_EQ(nlohmann::json::parse(r.out)["outputs"][0], nlohmann::json::array({first})) << r.out;
  root_.write("bad.json", "[[3, 99]]");
  mistake("generate --checkpoint m --prompts bad.json --max-new 4");
  mistake("generate --checkpoint missing --prompts prompts.json --max-new 4");
}

// Every encoding through train -> eval, the bilevel ones (with delimiters) included.
struct EncodingCase {
  std::string name, pe, config;
  friend void PrintTo(const EncodingCase& c, std::ostream* os) { *os << c.name; }
};

class E2eEncoding : public E2e, public ::testing::WithParamInterface<EncodingCase> {};

TEST_P(E2eEncoding, TrainThenEval) {
  const EncodingCase& c = GetParam();
  const std::string dir = "runs/" + c.name;
  step("train --threads 1 --config " + c.config + kTiny + " --set 'model.pe=" + c.pe + "' --out " + dir);
  expect_finished_run(dir);
  if (HasFatalFailure()) return;
  const CliResult r = step("eval --run " + dir + " --threads 1");
  EXPECT_NE(r.out.find("\"ood_accuracy\""), std::string::npos) << r.out;
}

const std::string kCopy = "models/tiny,tasks/copy_cmc_tr20_ts40";
INSTANTIATE_TEST_SUITE_P(
    Flows, E2eEncoding,
    ::testing::Values(EncodingCase{"nope", "nope", kCopy}, EncodingCase{"abs_sin", "abs_sin", kCopy},
                      EncodingCase{"abs_learned", "abs_learned", kCopy}, EncodingCase{"t5_bias", "t5_bias", kCopy},
                      EncodingCase{"alibi", "alibi", kCopy}, EncodingCase{"alibi_learned", "alibi_learned", kCopy},
                      EncodingCase{"rotary", "rotary", kCopy}, EncodingCase{"fire", "fire", kCopy},
                      EncodingCase{"rotary_randomized_eval", "rotary",
                                   kCopy + " --set data.random_positions=256 --set data.random_eval_positions=true"},
                      EncodingCase{"kerple", "kerple", kCopy}, EncodingCase{"xpos", "xpos", kCopy},
                      EncodingCase{"transformer_xl", "transformer_xl", kCopy},
                      EncodingCase{"rotary_yarn",
                                   R"({"type":"rotary","scaling":"yarn","scaling_factor":2,"original_max_positions":64})",
                                   kCopy},
                      EncodingCase{"abacus", "abacus", "models/tiny --set data.task=add --set data.split=len_tr10_ts40"},
                      EncodingCase{"coupled_fire", "fire",
                                   "models/tiny --set data.task=add --set data.split=len_tr10_ts40 --set data.positions=coupled"},
                      EncodingCase{"bipe_rope", R"({"type":"bipe_rope","delimiters":[3]})", kCopy},
                      EncodingCase{"bipe_alibi", R"({"type":"bipe_alibi","delimiters":[3]})", kCopy}),
    [](const ::testing::TestParamInfo<EncodingCase>& info) { return info.param.name; });

// ---------------------------------------------------------------------------------------------
// The mistakes found by hand (issue 16), one test each

// The issue's command: a task run with a bilevel encoding died of SIGSEGV (null segment
// streams reached BilevelEncoding::check_positions).
TEST_F(E2e, TaskRunWithABilevelEncodingDoesNotCrash) {
  step(kTrainCopy + R"( --set 'model.pe={"type":"bipe_rope","delimiters":[3]}' --out runs/bipe)");
  expect_finished_run("runs/bipe");
  // compare: the bilevel encoding takes its options from the model config, the others run bare.
  step(R"(compare --pe nope,bipe_alibi --set 'model.pe={"type":"bipe_alibi","delimiters":[3]}')"
       " --seeds 0 --jobs 1 --threads 1 --out runs/cmp" + kTiny);
  expect_finished_run("runs/cmp/bipe_alibi/seed0");
  const std::string table = io::read_file(path("runs/cmp/report/results.md").string());
  EXPECT_NE(table.find("bipe_alibi"), std::string::npos) << table;
  // Without delimiters the error says how to give them.
  const CliResult r = mistake("compare --pe bipe_rope --seeds 0 --out runs/cmp2" + kTiny);
  EXPECT_NE(r.out.find(R"(--set model.pe='{"type":"bipe_rope","delimiters":[3]}')"), std::string::npos) << r.out;
}

// `eval --data OTHER` wrote over the run's results.json and eval/; now it writes
// eval/<split>@data=<name>/ and the run's own results stay byte for byte.
TEST_F(E2e, EvalOnOtherDataKeepsTheRunsResults) {
  step(kTrainCopy + " --set model.pe=alibi --out runs/a");
  step(kTrainCopy + " --set model.pe=alibi --set data.seed=5 --out runs/b");  // other data, same words
  const auto before = snapshot(path("runs/a"));
  const CliResult r = step("eval --run runs/a --data runs/b/data --threads 1");
  EXPECT_NE(r.out.find("runs/a/eval/test@data=b-data"), std::string::npos) << r.out;
  expect_files("runs/a/eval/test@data=b-data", {"results.json", "predictions.jsonl"});
  expect_files("runs/a/eval/validation@data=b-data", {"results.json", "predictions.jsonl"});
  const auto evaluated = read_json(path("runs/a/eval/test@data=b-data/results.json"))["evaluated"];
  EXPECT_EQ(evaluated["data_dir"], fs::canonical(path("runs/b/data")).string());
  // Other checkpoints and caps get their own directories too.
  step("eval --run runs/a --checkpoint checkpoint --split test --threads 1");
  expect_files("runs/a/eval/test@checkpoint=checkpoint", {"results.json"});
  step("eval --run runs/a --max-per-length 1 --split test --threads 1");
  expect_files("runs/a/eval/test@max_per_length=1", {"results.json"});
  const auto after = snapshot(path("runs/a"));
  for (const auto& name : differences(before, after))
    EXPECT_NE(name.find('@'), std::string::npos) << name << " changed";
  // The run's own evaluation of one split updates that split and keeps the other.
  step("eval --run runs/a --split test --threads 1");
  EXPECT_EQ(io::read_file(path("runs/a/results.json").string()), before.at("results.json"));
}

// `eval --data` on a dataset without examples exited 0 and erased the run's ID/OOD results.
TEST_F(E2e, EvalOnAnEmptyDatasetIsAnErrorAndWritesNothing) {
  step(kTrainCopy + " --set model.pe=nope --out runs/a");
  root_.write("empty/validation.jsonl", "");
  root_.write("empty/test.jsonl", "");
  const auto before = snapshot(path("runs/a"));
  const CliResult r = mistake("eval --run runs/a --data empty");
  EXPECT_NE(r.out.find("no examples to evaluate"), std::string::npos) << r.out;
  EXPECT_EQ(differences(before, snapshot(path("runs/a"))), std::vector<std::string>{});
}

// Rerunning a finished run rewrote results.json with final_loss and tokens_per_second 0.
TEST_F(E2e, RerunOfAFinishedRunChangesNothing) {
  step(kTrainCopy + " --set model.pe=rotary --out runs/a");
  const auto before = snapshot(path("runs/a"));
  step(kTrainCopy + " --set model.pe=rotary --out runs/a");
  EXPECT_EQ(differences(before, snapshot(path("runs/a"))), std::vector<std::string>{});
  EXPECT_EQ(temp_files(path("runs/a")), std::vector<std::string>{});
}

// Killed during the final evaluation (the last checkpoint written, results.json not yet, an
// atomic write of the predictions cut short) and rerun: the training figures were 0.0 and the
// predictions' temporary file stayed. The state such a kill leaves is made here by hand, so
// the test does not depend on when a signal lands.
TEST_F(E2e, RerunAfterAKillDuringTheFinalEvaluationKeepsTheTrainingFigures) {
  step(kTrainCopy + " --set model.pe=alibi --out runs/a");
  const auto finished = read_json(path("runs/a/results.json"));
  fs::remove(path("runs/a/results.json"));
  fs::remove_all(path("runs/a/eval/test"));
  root_.write("runs/a/eval/test/predictions.jsonl.tmp.999999999", "{\"source\": \"cut sh");  // no such pid
  step(kTrainCopy + " --set model.pe=alibi --out runs/a");
  const auto rerun = read_json(path("runs/a/results.json"));
  EXPECT_EQ(rerun["training"]["final_loss"], finished["training"]["final_loss"]) << rerun.dump(2);
  EXPECT_EQ(rerun["training"]["tokens_per_second"], finished["training"]["tokens_per_second"]) << rerun.dump(2);
  EXPECT_EQ(rerun["test"], finished["test"]);
  EXPECT_EQ(temp_files(path("runs/a")), std::vector<std::string>{});
}

// A learned table shorter than the validation sequences trained to the end, then failed at
// the end-of-training validation (no best/), and a rerun did the same: now nothing is trained.
TEST_F(E2e, LearnedTableTooShortForTheValidationIsRefusedBeforeTraining) {
  // Training sequences are at most 45 tokens; validation ones (lengths up to 13..16 in the
  // small validation split) with the decoding budget of 16 tokens need more than 46.
  const std::string cmd = kTrainCopy + R"( --set 'model.pe={"type":"abs_learned","max_positions":46}' --out runs/a)";
  for (int attempt = 0; attempt < 2; ++attempt) {
    const CliResult r = mistake(cmd);
    EXPECT_NE(r.out.find("validation examples of length "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("Checked before training: give the encoding more positions (e.g. model.pe.max_positions >= "),
              std::string::npos)
        << r.out;
    EXPECT_FALSE(fs::exists(path("runs/a/checkpoint")));
    EXPECT_FALSE(fs::exists(path("runs/a/metrics.jsonl")));
  }
}

// A model-key mistake was reported after the data were generated, naming <out>/config.json,
// which did not exist yet.
TEST_F(E2e, ModelKeyMistakeIsReportedBeforeAnythingIsWritten) {
  const CliResult r = mistake(kTrainCopy + " --set model.pe=rope --out runs/a");
  EXPECT_NE(r.out.find("--config models/tiny,tasks/copy_cmc_tr20_ts40 and --set: model: key 'pe.type' has value "
                       "\"rope\"; allowed values: abacus"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("config.json"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("generating"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(path("runs/a")));
  // The same in compare (an encoding name) and in a sweep (the run fails before its data
  // exist, the sweep names it).
  const CliResult c = mistake("compare --pe nope,rope --out runs/cmp" + kTiny);
  EXPECT_NE(c.out.find("encoding rope: model: key 'pe.type' has value \"rope\""), std::string::npos) << c.out;
  EXPECT_FALSE(fs::exists(path("runs/cmp")));
  root_.write("grid.json", R"({"base": ["models/tiny"], "out": "runs/sweep", "config": {"model": {"pe": {"type": "alibi", "slopes": 2}}},
    "axes": {"task": ["copy_cmc_tr20_ts40"]}})");
  const CliResult s = mistake("sweep run grid.json");
  EXPECT_NE(s.out.find("unknown key"), std::string::npos) << s.out;
  for (const auto& e : fs::recursive_directory_iterator(path("runs/sweep")))
    EXPECT_NE(e.path().filename(), "data") << e.path();
}

// Empty validation or test files gave exit 0, no warning and no ID/OOD figures.
TEST_F(E2e, EmptyValidationOrTestFileIsAnError) {
  step("data make --task copy --split cmc_tr20_ts40 --train-size 200 --test-size 40 --out data");
  for (const std::string split : {"validation", "test"}) {
    fs::remove_all(path("d_" + split));
    fs::copy(path("data"), path("d_" + split));
    root_.write("d_" + split + "/" + split + ".jsonl", "");
    const std::string run = "runs/" + split, file = "d_" + split + "/" + split + ".jsonl";
    // Training on the dataset fails naming the file with `message`, and writes no checkpoint.
    auto refused_with = [&](const std::string& message) {
      const CliResult r = mistake("train --threads 1 --config models/tiny --set data.dir=d_" + split +
                                  kTiny + " --out " + run);
      EXPECT_NE(r.out.find(file + ": " + message), std::string::npos) << r.out;
      EXPECT_FALSE(fs::exists(path(run + "/checkpoint")));
    };
    // dataset.json records the split's size, so the count check names the file first; without
    // dataset.json the empty-file check does.
    refused_with("0 examples, but dataset.json records");
    fs::remove(path("d_" + split + "/dataset.json"));
    refused_with("no examples (the file is empty)");
  }
}

// A missing required option exited with CLI11's 106 instead of the documented 1; --help is 0.
TEST_F(E2e, CommandLineMistakesExitWithOne) {
  CliResult r = mistake("train --config models/tiny");
  EXPECT_NE(r.out.find("lengen: error: --out is required"), std::string::npos) << r.out;
  mistake("eval");
  mistake("report");
  mistake("train --config models/tiny --out x --no-such-flag");
  mistake("analyze heatmap --run x --per-length many");
  r = lengen("train --help");
  EXPECT_EQ(r.code, 0) << r.describe();
  EXPECT_NE(r.out.find("--config"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace lengen::testing
