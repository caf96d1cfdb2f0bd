// The task pipeline end to end: configs, batching, train -> evaluate -> compare, resumption,
// and bad input.
#include <gtest/gtest.h>
#include <omp.h>

#include "file_test_support.h"

#include <filesystem>
#include <fstream>
#include <set>

#include "data/jsonl.h"
#include "io/atomic_file.h"
#include "model/checkpoint.h"
#include "pipeline/compare.h"
#include "pipeline/make_dataset.h"
#include "pipeline/run_config.h"
#include "pipeline/task_data.h"
#include "pipeline/task_run.h"
#include "util/error.h"

namespace fs = std::filesystem;

namespace lengen {
namespace {

nlohmann::json small_run_json(const std::string& pe, int steps) {
  nlohmann::json j = load_run_config_json("models/tiny,tasks/copy_cmc_tr20_ts40", {});
  j["model"]["pe"] = pe;
  j["model"]["d_model"] = 64;
  j["model"]["d_head"] = 16;
  j["model"]["d_ff"] = 128;
  j["data"]["train_size"] = 2000;
  j["data"]["test_size"] = 200;
  j["train"]["steps"] = steps;
  j["train"]["batch_size"] = 8;
  j["train"]["eval_every"] = steps / 2;
  j["train"]["checkpoint_every"] = steps / 4;
  j["train"]["log_every"] = 5;
  j["eval"]["validation_examples"] = 32;
  j["eval"]["max_per_length"] = 4;
  return j;
}

// The error of evaluating `run` on the dataset directory `data` (`lengen eval --data`).
std::string eval_error(const std::string& run, const std::string& data) {
  EvalRequest r;
  r.run_dir = run;
  r.data_dir = data;
  r.quiet = true;
  return testing::error_of([&] { evaluate_run(r); });
}

TEST(PipelineConfig, PresetsLayerAndOverride) {
  const auto j = load_run_config_json("models/tiny,tasks/reverse_mc_tr20_ts40",
                                      {"train.steps=7", "model.pe.type=alibi"});
  const RunConfig c = RunConfig::from_json(j, "test");
  EXPECT_EQ(c.data.task, "reverse");
  EXPECT_EQ(c.data.split, "mc_tr20_ts40");
  EXPECT_EQ(c.train.steps, 7);
  EXPECT_EQ(c.model["pe"]["type"], "alibi");
  EXPECT_EQ(c.model["n_layers"], 2);
  // Every shipped task preset names a real task and split.
  int tasks = 0;
  for (const auto& name : preset_names())
    if (name.rfind("tasks/", 0) == 0) {
      const RunConfig t = RunConfig::from_json(load_run_config_json(name, {}), name);
      EXPECT_EQ(resolve_split({t.data.task, t.data.split, "", 0, 0, 0}), t.data.split) << name;
      ++tasks;
    }
  EXPECT_EQ(tasks, 56);  // the paper suite (20) and 15 + 3 Chomsky tasks x 2 splits
  const RunConfig paper = RunConfig::from_json(load_run_config_json("models/paper,tasks/sum_len_tr8_ts16", {}), "p");
  EXPECT_EQ(paper.model["d_model"], 768);
  EXPECT_FLOAT_EQ(paper.train.optim.lr, 3e-5f);
  EXPECT_EQ(paper.train.steps, 40000);
}

TEST(PipelineConfig, BadConfigsAreNamed) {
  std::string m = testing::error_of([] { load_run_config_json("models/huge", {}); });
  EXPECT_NE(m.find("neither a file nor a preset"), std::string::npos) << m;
  EXPECT_NE(m.find("models/tiny"), std::string::npos) << m;
  m = testing::error_of([] { RunConfig::from_json({{"data", {{"task", "copy"}, {"splt", "x"}}}}, "c.json"); });
  EXPECT_NE(m.find("c.json: data: unknown key 'splt'"), std::string::npos) << m;
  m = testing::error_of([] { RunConfig::from_json({{"data", nlohmann::json::object()}}, "c.json"); });
  EXPECT_NE(m.find("either 'task'"), std::string::npos) << m;
}

TEST(LengthBatching, DeterministicLittlePaddingEveryExampleOncePerEpoch) {
  std::vector<EncodedExample> ex(640);
  for (size_t i = 0; i < ex.size(); ++i) {
    ex[i].prompt.assign(2 + i % 37, 5);
    ex[i].answer.assign(1 + (i * 7) % 23, 6);
  }
  LengthBatcher a(ex, 16, 3), b(ex, 16, 3);
  std::multiset<size_t> seen;
  size_t padded = 0, real = 0;
  for (int64_t step = 1; step <= a.batches_per_epoch(); ++step) {
    const Batch x = a.batch(step), y = b.batch(step);
    EXPECT_EQ(x.tokens, y.tokens);
    for (int r = 0; r < x.B; ++r) {
      real += x.lengths[r];
      padded += x.T - x.lengths[r];
    }
  }
  // Random batches of these lengths would pad ~40%; sorted windows pad a few percent.
  EXPECT_LT(double(padded) / double(real + padded), 0.05);
  // Resuming at any step gives the same batch as an uninterrupted pass.
  LengthBatcher c(ex, 16, 3);
  EXPECT_EQ(c.batch(57).tokens, a.batch(57).tokens);
  EXPECT_NE(a.batch(1).tokens, LengthBatcher(ex, 16, 4).batch(1).tokens);
}

// An honest learning test: a tiny model learns to copy (lengths 2..20 of 100 symbols) to
// >= 95% in-distribution exact match, and the run directory has its stable layout.
// One thread: the run is then the same on every machine (100% ID at 1300 steps of 16, 80% at
// 1000), and it takes one core, so ctest -j2 beside it does not stall its OpenMP barriers.
TEST(PipelineEndToEnd, TrainEvaluateCopyReachesHighInDistributionAccuracy) {
  const std::string dir = testing::scratch_dir("learn");
  struct OneThread {
    const int before = omp_get_max_threads();
    OneThread() { omp_set_num_threads(1); }
    ~OneThread() { omp_set_num_threads(before); }
  } one_thread;
  nlohmann::json j = load_run_config_json("models/tiny,tasks/copy_cmc_tr20_ts40", {});
  j["model"]["pe"] = "rotary";
  j["data"]["train_size"] = 20000;
  j["data"]["test_size"] = 400;
  j["train"]["batch_size"] = 16;
  j["train"]["steps"] = 1300;
  j["train"]["eval_every"] = 650;
  j["eval"]["validation_examples"] = 128;
  j["eval"]["max_per_length"] = 10;
  TaskRunOptions o;
  o.quiet = true;
  const nlohmann::json s = run_task(dir, RunConfig::from_json(j, "test"), o);
  EXPECT_GE(s["id_accuracy"].get<double>(), 0.95) << s.dump(2);
  for (const char* f : {"config.json", "metrics.jsonl", "results.json", "data/train.jsonl",
                        "checkpoint/model.safetensors", "checkpoint/vocab.json",
                        "best/model.safetensors", "best/vocab.json", "eval/validation/results.json",
                        "eval/validation/predictions.jsonl", "eval/test/results.json",
                        "eval/test/predictions.jsonl"})
    EXPECT_TRUE(fs::exists(dir + "/" + f)) << f;
  const auto results = read_json_file(dir + "/results.json");
  EXPECT_EQ(results["encoding"], "rotary");
  EXPECT_EQ(results["validation"]["per_length"].size(), 19u);  // lengths 2..20
  EXPECT_EQ(results["test"]["per_length"].size(), 20u);        // lengths 21..40
  std::ifstream preds(dir + "/eval/test/predictions.jsonl");
  std::string line;
  int n = 0;
  while (std::getline(preds, line)) {
    const auto p = nlohmann::json::parse(line);
    EXPECT_TRUE(p.contains("gold") && p.contains("prediction") && p.contains("correct"));
    ++n;
  }
  EXPECT_EQ(n, 200);
  fs::remove_all(dir);
}

// eval.test_examples: the OOD curve. Every evaluation during training also decodes that many
// test examples and logs test_accuracy beside validation_accuracy; the checkpoint is still
// chosen by validation alone, and a run without the key records no such key.
TEST(PipelineEndToEnd, TestExamplesLogTheOodCurveWithoutChoosingTheCheckpoint) {
  const std::string dir = testing::scratch_dir("ood_curve");
  nlohmann::json j = small_run_json("alibi", 8);
  j["eval"]["test_examples"] = 12;
  TaskRunOptions o;
  o.quiet = true;
  run_task(dir, RunConfig::from_json(j, "test"), o);
  std::ifstream metrics(dir + "/metrics.jsonl");
  std::string line;
  int evaluations = 0;
  while (std::getline(metrics, line)) {
    const auto j = nlohmann::json::parse(line);
    if (!j.contains("eval")) continue;
    const auto& m = j["eval"];
    ++evaluations;
    ASSERT_TRUE(m.contains("test_accuracy")) << line;
    EXPECT_EQ(m["test_examples"], 12) << line;
    EXPECT_GE(m["test_accuracy"].get<double>(), 0.0);
    EXPECT_LE(m["test_accuracy"].get<double>(), 1.0);
    EXPECT_EQ(m["score"], m["validation_accuracy"]) << line;  // selection stays validation's
  }
  EXPECT_EQ(evaluations, 2);  // at step 4 and at the end
  EXPECT_EQ(read_json_file(dir + "/config.json")["eval"]["test_examples"], 12);
  nlohmann::json plain = small_run_json("alibi", 8);
  EXPECT_FALSE(RunConfig::from_json(plain, "test").to_json()["eval"].contains("test_examples"));
  plain["eval"]["test_examples"] = -1;
  EXPECT_THROW(RunConfig::from_json(plain, "test"), Error);
  fs::remove_all(dir);
}

// Bilevel encodings in task runs: the encoding derives its segments from the tokens in
// training, validation decoding, the final evaluation and a later `eval`, so nothing in the
// pipeline knows it is bilevel (this once ended in a null segment stream).
TEST(PipelineEndToEnd, BilevelEncodingsTrainAndEvaluateInTaskRuns) {
  for (const std::string pe : {"bipe_rope", "bipe_alibi"}) {
    const std::string dir = testing::scratch_dir("bilevel_" + pe);
    nlohmann::json j = small_run_json(pe, 8);
    j["model"]["pe"] = {{"type", pe}, {"delimiters", {3}}};
    TaskRunOptions o;
    o.quiet = true;
    const nlohmann::json s = run_task(dir, RunConfig::from_json(j, "test"), o);
    ASSERT_TRUE(s.contains("id_accuracy")) << pe << ": " << s.dump();
    EXPECT_EQ(s["encoding"], pe);
    EXPECT_EQ(read_json_file(dir + "/results.json")["test"]["per_length"].size(), 20u) << pe;
    EvalRequest e;
    e.run_dir = dir;
    e.splits = {"test"};
    e.quiet = true;
    const nlohmann::json again = evaluate_run(e);
    EXPECT_EQ(again["test"]["per_length"], s["test"]["per_length"]) << pe;
    fs::remove_all(dir);
  }
}

TEST(PipelineEndToEnd, InterruptedTrainingResumesToTheSameWeights) {
  const std::string a = testing::scratch_dir("straight"), b = testing::scratch_dir("resumed");
  const RunConfig c = RunConfig::from_json(small_run_json("t5_bias", 24), "test");
  TaskRunOptions o;
  o.quiet = true;
  o.evaluate = false;
  run_task(a, c, o);
  TaskRunOptions stop = o;
  stop.stop_at_step = 10;
  run_task(b, c, stop);
  run_task(b, c, o);
  EXPECT_EQ(io::read_file(a + "/checkpoint/model.safetensors"),
            io::read_file(b + "/checkpoint/model.safetensors"));
  EXPECT_EQ(io::read_file(a + "/best/model.safetensors"), io::read_file(b + "/best/model.safetensors"));
  fs::remove_all(a);
  fs::remove_all(b);
}

TEST(PipelineEndToEnd, CompareWritesTablePlotAndSummary) {
  const std::string dir = testing::scratch_dir("compare");
  CompareOptions o;
  o.encodings = {"nope", "alibi"};
  o.seeds = {0, 1};
  o.out = dir;
  o.quiet = true;
  o.sets = {"model.d_model=32", "model.d_head=8", "model.d_ff=64", "train.steps=6",
            "train.batch_size=4", "train.eval_every=3", "data.train_size=300", "data.test_size=60",
            "eval.validation_examples=8", "eval.max_per_length=2", "eval.test_examples=6"};
  const CompareReport r = run_compare(o);
  for (const char* f : {"report/results.md", "report/results.csv", "report/summary.json",
                        "report/accuracy_vs_length.png", "report/accuracy_vs_length.svg",
                        "report/accuracy_vs_steps.md", "report/accuracy_vs_steps.csv",
                        "report/accuracy_vs_steps.png", "nope/seed0/results.json", "alibi/seed1/results.json"})
    EXPECT_TRUE(fs::exists(dir + "/" + f)) << f;
  // The curves: one row per encoding, a column per evaluation (steps 3 and 6).
  EXPECT_NE(r.curves_text.find("step 3"), std::string::npos) << r.curves_text;
  EXPECT_NE(r.curves_text.find("step 6"), std::string::npos) << r.curves_text;
  EXPECT_NE(io::read_file(dir + "/report/accuracy_vs_steps.md").find("| alibi"), std::string::npos);
  EXPECT_TRUE(r.budget_note.empty()) << "only the built-in defaults get the budget note";
  const auto summary = read_json_file(dir + "/report/summary.json");
  ASSERT_EQ(summary["encodings"].size(), 2u);
  EXPECT_EQ(summary["encodings"][0]["runs"], 2);
  const std::string md = io::read_file(dir + "/report/results.md");
  EXPECT_NE(md.find("| nope"), std::string::npos) << md;
  EXPECT_NE(md.find("OOD acc"), std::string::npos) << md;
  const std::string png = io::read_file(dir + "/report/accuracy_vs_length.png");
  EXPECT_EQ(png.substr(1, 3), "PNG");
  fs::remove_all(dir);
}

// The budget note sorts the encodings by what the summary shows, and the step curves come from
// metrics.jsonl (a line cut by a kill is skipped; runs without test accuracy give no table).
TEST(PipelineEndToEnd, BudgetNoteAndStepCurvesFollowTheNumbers) {
  auto entry = [](const char* pe, double id, double ood) {
    return nlohmann::json{{"encoding", pe}, {"id_accuracy", {{"mean", id}}}, {"ood_accuracy", {{"mean", ood}}}};
  };
  const std::string note = budget_note(nlohmann::json::array(
      {entry("nope", 0.58, 0.30), entry("t5_bias", 0.99, 0.48), entry("alibi", 0.99, 0.03),
       entry("rotary", 1.0, 0.01), entry("abs_sin", 0.2, 0.0)}));
  EXPECT_NE(note.find("t5_bias 48% > nope 30% > alibi 3% > rotary 1% > abs_sin 0%;"), std::string::npos) << note;
  EXPECT_NE(note.find("nope 96.7% > t5_bias 93.9%"), std::string::npos) << note;
  EXPECT_NE(note.find("this budget shows: NoPE extrapolates; does not show: NoPE generalizes best; "
                      "alibi, rotary, abs_sin learn the training lengths but fail beyond them"),
            std::string::npos)
      << note;
  EXPECT_NE(note.find("not yet learned in distribution: abs_sin (ID 20%)"), std::string::npos) << note;
  const std::string paper_like = budget_note(nlohmann::json::array(
      {entry("nope", 0.99, 0.9), entry("t5_bias", 0.99, 0.8), entry("alibi", 0.99, 0.1),
       entry("rotary", 1.0, 0.01), entry("abs_sin", 0.9, 0.0)}));
  EXPECT_NE(paper_like.find("shows: NoPE extrapolates; NoPE generalizes best; alibi, rotary, abs_sin learn the "
                            "training lengths but fail beyond them; does not show: none."),
            std::string::npos)
      << paper_like;
  EXPECT_EQ(paper_like.find("not yet learned"), std::string::npos) << paper_like;

  const std::string dir = testing::scratch_dir("curves");
  fs::create_directories(dir + "/a");
  fs::create_directories(dir + "/b");
  io::write_file_atomic(dir + "/a/metrics.jsonl",
                        "{\"step\":5,\"loss\":1.0}\n"
                        "{\"step\":10,\"eval\":{\"validation_accuracy\":0.5,\"test_accuracy\":0.25}}\n"
                        "{\"step\":20,\"eval\":{\"validation_accuracy\":1.0,\"test_ac");
  io::write_file_atomic(dir + "/b/metrics.jsonl",
                        "{\"step\":10,\"eval\":{\"validation_accuracy\":0.5}}\n");
  EXPECT_EQ(write_step_curves({{"nope", dir + "/b"}}, dir + "/report"), "");
  EXPECT_FALSE(fs::exists(dir + "/report/accuracy_vs_steps.md"));
  const std::string t = write_step_curves({{"nope", dir + "/a"}, {"alibi", dir + "/b"}}, dir + "/report");
  EXPECT_NE(t.find("50.0 / 25.0"), std::string::npos) << t;
  EXPECT_EQ(t.find("step 20"), std::string::npos) << t;
  EXPECT_EQ(t.find("alibi"), std::string::npos) << t;
  fs::remove_all(dir);
}

TEST(PipelineErrors, MissingDataDirectory) {
  nlohmann::json j = small_run_json("nope", 4);
  j["data"] = {{"dir", "/nonexistent/data"}};
  TaskRunOptions o;
  o.quiet = true;
  const std::string m =
      testing::error_of([&] { run_task(testing::scratch_dir("nodata"), RunConfig::from_json(j, "t"), o); });
  EXPECT_NE(m.find("/nonexistent/data"), std::string::npos) << m;
}

TEST(PipelineErrors, VocabularyMismatchBetweenDataAndCheckpoint) {
  const std::string dir = testing::scratch_dir("vocab"), other = testing::scratch_dir("vocab_other");
  TaskRunOptions o;
  o.quiet = true;
  o.evaluate = false;
  run_task(dir, RunConfig::from_json(small_run_json("nope", 2), "t"), o);
  make_dataset_dir({"addition", "", "", 0, 200, 50}, other);
  const std::string m = eval_error(dir, other);
  EXPECT_NE(m.find("lacks"), std::string::npos) << m;
  EXPECT_NE(m.find(other), std::string::npos) << m;
  fs::remove_all(dir);
  fs::remove_all(other);
}

// A learned table too short for the data is refused before anything is trained, naming what
// the data need (it used to train to the end and fail at the evaluation).
TEST(PipelineErrors, LearnedTableTooShortForTheDataIsRefusedBeforeTraining) {
  const std::string dir = testing::scratch_dir("table_short");
  nlohmann::json j = small_run_json("abs_learned", 2);
  // Training sequences (<= 2 * 20 + 5 tokens) and validation ones fit; test ones (up to 85 +
  // the decoding budget) do not.
  j["model"]["pe"] = {{"type", "abs_learned"}, {"max_positions", 70}};
  TaskRunOptions o;
  o.quiet = true;
  const std::string m = testing::error_of([&] { run_task(dir, RunConfig::from_json(j, "t"), o); });
  EXPECT_NE(m.find("test examples of length 40 need up to 101 positions"), std::string::npos) << m;
  EXPECT_NE(m.find("70 positions"), std::string::npos) << m;
  EXPECT_NE(m.find("model.pe.max_positions >= 101"), std::string::npos) << m;
  EXPECT_FALSE(fs::exists(dir + "/checkpoint"));
  EXPECT_FALSE(fs::exists(dir + "/metrics.jsonl"));
  fs::remove_all(dir);
}

// `lengen eval --data` with sequences beyond the table: the evaluation stops at that split,
// names it, and keeps the splits already written; the run's own results stay as they were.
TEST(PipelineErrors, EvaluationBeyondALearnedTableStopsAndKeepsValidation) {
  const std::string dir = testing::scratch_dir("table"), longer = testing::scratch_dir("table_data");
  nlohmann::json j = small_run_json("abs_learned", 2);
  j["model"]["pe"] = {{"type", "abs_learned"}, {"max_positions", 110}};  // the run's data fit
  TaskRunOptions o;
  o.quiet = true;
  run_task(dir, RunConfig::from_json(j, "t"), o);
  const std::string results = io::read_file(dir + "/results.json");
  // Other data: the run's validation examples, and a test example three times as long.
  fs::create_directories(longer);
  fs::copy_file(dir + "/data/validation.jsonl", longer + "/validation.jsonl");
  tasks::Example e = data::read_jsonl(dir + "/data/test.jsonl").back();
  e.source = e.source + " " + e.target + " " + e.target;
  e.target = e.target + " " + e.target + " " + e.target;
  e.length *= 3;
  data::write_jsonl(longer + "/test.jsonl", {e});
  const std::string m = eval_error(dir, longer);
  EXPECT_NE(m.find("cannot evaluate test examples of length"), std::string::npos) << m;
  EXPECT_NE(m.find("110 positions"), std::string::npos) << m;
  const std::string name = fs::path(longer).filename().string();
  EXPECT_TRUE(fs::exists(dir + "/eval/validation@data=" + name + "/results.json"));
  EXPECT_FALSE(fs::exists(dir + "/eval/test@data=" + name));
  EXPECT_EQ(io::read_file(dir + "/results.json"), results);
  fs::remove_all(dir);
  fs::remove_all(longer);
}

TEST(PipelineErrors, DivergingLossStopsAndKeepsTheLastCheckpoint) {
  const std::string dir = testing::scratch_dir("nan");
  nlohmann::json j = small_run_json("nope", 40);
  j["train"]["lr"] = 1e30;  // weights overflow to inf within a few steps
  j["train"]["checkpoint_every"] = 1;
  j["train"]["grad_clip"] = 0.0;
  TaskRunOptions o;
  o.quiet = true;
  const std::string m = testing::error_of([&] { run_task(dir, RunConfig::from_json(j, "t"), o); });
  EXPECT_NE(m.find("diverged"), std::string::npos) << m;
  EXPECT_TRUE(fs::exists(dir + "/checkpoint/model.safetensors")) << m;
  EXPECT_NO_THROW(load_model(dir + "/checkpoint"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace lengen
