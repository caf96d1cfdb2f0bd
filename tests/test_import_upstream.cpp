// `lengen data make --from DIR`: the paper's SCAN and PCFG SET files imported as the split the
// paper used (pipeline/import_upstream.h), with provenance in dataset.json and errors that
// name the file and line. Fixtures in the upstream formats are written in each test.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "cli_runner.h"
#include "data/jsonl.h"
#include "file_test_support.h"
#include "io/atomic_file.h"
#include "pipeline/import_upstream.h"
#include "pipeline/make_dataset.h"
#include "pipeline/run_config.h"
#include "tasks/pcfg.h"
#include "tasks/scan.h"
#include "util/sha256.h"

namespace lengen {
namespace {

using testing::error_of;
using testing::TempDir;

// `count` PCFG programs with `functions` functions each as .src / .tgt text.
void pcfg_lines(uint64_t seed, int functions, int count, std::string& src, std::string& tgt) {
  tasks::symbolic::Rng rng(seed);
  for (int i = 0; i < count; ++i) {
    const std::string program = tasks::pcfg_sample_program(rng, functions);
    src += program + "\n";
    tgt += tasks::pcfg_evaluate(program) + "\n";
  }
}

// The productivity files: 20 training programs (1..2 functions), 3 test programs (9).
void write_pcfg_fixture(const TempDir& dir, const std::string& sub = "") {
  std::string train_src, train_tgt, test_src, test_tgt;
  pcfg_lines(1, 1, 10, train_src, train_tgt);
  pcfg_lines(2, 2, 10, train_src, train_tgt);
  pcfg_lines(3, 9, 3, test_src, test_tgt);
  dir.write(sub + "train.src", train_src);
  dir.write(sub + "train.tgt", train_tgt);
  dir.write(sub + "test.src", test_src);
  dir.write(sub + "test.tgt", test_tgt);
}

std::string scan_line(const std::string& command) {
  std::string raw = tasks::scan_interpret(command);
  for (const auto& [ours, theirs] : {std::pair<std::string, std::string>{"Walk", "I_WALK"},
                                     {"Run", "I_RUN"},
                                     {"Jump", "I_JUMP"},
                                     {"Look", "I_LOOK"},
                                     {"Left", "I_TURN_LEFT"},
                                     {"Right", "I_TURN_RIGHT"}})
    for (size_t at; (at = raw.find(ours)) != std::string::npos;) raw.replace(at, ours.size(), theirs);
  return "IN: " + command + " OUT: " + raw + "\n";
}

DatasetRequest request(const std::string& task, const std::string& split, const std::string& from,
                       uint64_t seed = 0) {
  DatasetRequest r;
  r.task = task;
  r.split = split;
  r.seed = seed;
  r.from = from;
  return r;
}

TEST(ImportUpstream, PcfgProductivityFilesWithTheValidationCarveOut) {
  TempDir src, out;
  write_pcfg_fixture(src);
  const data::DatasetInfo info =
      make_dataset_dir(request("pcfg", "md_productivity", src.path().string(), 5), out.file("d"));
  EXPECT_EQ(info.train, 18);  // 20 - floor(20 / 10)
  EXPECT_EQ(info.validation, 2);
  EXPECT_EQ(info.test, 3);
  const auto loaded = data::load_dataset_dir(out.file("d"));
  ASSERT_TRUE(loaded.info.has_value());
  std::set<std::string> pool;
  for (const auto* part : {&loaded.data.train, &loaded.data.validation})
    for (const auto& e : *part) {
      EXPECT_EQ(e.source.rfind("Solve: ", 0), 0u) << e.source;
      EXPECT_TRUE(e.length == 1 || e.length == 2) << e.source;
      EXPECT_EQ(e.category, std::to_string(e.length));
      EXPECT_EQ(e.target, tasks::pcfg_evaluate(e.source.substr(7)));
      pool.insert(e.source);
    }
  EXPECT_EQ(pool.size(), 20u);  // every training program, once
  for (const auto& e : loaded.data.test) EXPECT_EQ(e.length, 9);

  // Provenance: where, what format, every file with its count and sha256.
  const nlohmann::json& p = loaded.info->imported;
  EXPECT_EQ(p["format"], "text");
  EXPECT_EQ(p["from"], std::filesystem::absolute(src.path()).lexically_normal().string());
  ASSERT_EQ(p["files"].size(), 4u);
  EXPECT_EQ(p["files"][0]["name"], "train.src");
  EXPECT_EQ(p["files"][0]["examples"], 20);
  EXPECT_EQ(p["files"][3]["name"], "test.tgt");
  EXPECT_EQ(p["files"][3]["examples"], 3);
  EXPECT_EQ(p["files"][2]["sha256"], sha256_file(src.file("test.src")));

  // The carve-out follows the seed: the same seed gives the same validation set.
  const auto again =
      make_dataset_dir(request("pcfg", "md_productivity", src.path().string(), 5), out.file("e"));
  EXPECT_EQ(data::read_jsonl(out.file("d/validation.jsonl"))[0].source,
            data::read_jsonl(out.file("e/validation.jsonl"))[0].source);
  EXPECT_EQ(again.validation, 2);
}

TEST(ImportUpstream, ScanLengthSplitIsPooledAndResplitAt25Actions) {
  TempDir src, out;
  // 32 actions in the train file goes to test; 2 actions in the test file to the pool.
  src.write("length_split/tasks_train_length.txt",
            scan_line("walk") + scan_line("jump twice after walk") + scan_line("run left") +
                scan_line("look thrice") + scan_line("turn around right") +
                scan_line("jump around left thrice and walk around left") + "\n");
  src.write("length_split/tasks_test_length.txt",
            scan_line("walk twice") + scan_line("look around left thrice and run around right thrice"));
  // DIR may be the repository root: length_split/ is found.
  const data::DatasetInfo info =
      make_dataset_dir(request("scan", "mdlen_tr25_ts48", src.path().string()), out.file("d"));
  EXPECT_EQ(info.train + info.validation, 6);
  EXPECT_EQ(info.validation, 0);  // floor(6 / 10)
  EXPECT_EQ(info.test, 2);
  const auto loaded = data::load_dataset_dir(out.file("d"));
  for (const auto& e : loaded.data.test) EXPECT_GT(e.length, 25) << e.source;
  for (const auto& e : loaded.data.train) {
    EXPECT_LE(e.length, 25);
    EXPECT_EQ(e.source.rfind("Solve: ", 0), 0u);
    EXPECT_EQ(e.target, tasks::scan_interpret(e.source.substr(7)));  // Walk ..., not I_WALK
  }
  EXPECT_EQ(loaded.info->imported["files"][1]["name"], "tasks_test_length.txt");
  EXPECT_EQ(loaded.info->imported["from"],
            (std::filesystem::absolute(src.path()) / "length_split").lexically_normal().string());
}

TEST(ImportUpstream, BuilderJsonlIsKeptAsTheExactSplit) {
  TempDir src, out;
  // make_scan_dataset.py output: raw actions, integer categories.
  src.write("train.jsonl",
            "{\"source\": \"walk\", \"target\": \"I_WALK\", \"category\": 1}\n"
            "{\"source\": \"run left\", \"target\": \"I_TURN_LEFT I_RUN\", \"category\": 2}\n\n");
  src.write("validation.jsonl", "{\"source\": \"Solve: jump\", \"target\": \"Jump\", \"category\": 1}\n");
  src.write("test.jsonl", "{\"source\": \"look twice\", \"target\": \"I_LOOK I_LOOK\", \"category\": 2}\n");
  const auto up = import_upstream("scan", "mdlen_tr25_ts48", src.path().string(), 0);
  ASSERT_EQ(up.data.train.size(), 2u);
  ASSERT_EQ(up.data.validation.size(), 1u);
  ASSERT_EQ(up.data.test.size(), 1u);
  EXPECT_EQ(up.data.train[1].source, "Solve: run left");
  EXPECT_EQ(up.data.train[1].target, "Left Run");
  EXPECT_EQ(up.data.validation[0].source, "Solve: jump");  // the prefix is not doubled
  EXPECT_EQ(up.data.test[0].length, 2);
  EXPECT_EQ(up.provenance["format"], "jsonl");
  EXPECT_EQ(up.provenance["files"][0]["examples"], 2);
  // Without the md variant, no prefix.
  src.write("validation.jsonl", "{\"source\": \"jump\", \"target\": \"Jump\"}\n");
  EXPECT_EQ(import_upstream("scan", "len_tr25_ts48", src.path().string(), 0).data.train[0].source, "walk");
}

TEST(ImportUpstream, ErrorsNameTheFileAndLine) {
  TempDir src, out;
  write_pcfg_fixture(src);
  // A corrupt target: found by lengen's interpreter.
  std::string tgt = io::read_file(src.file("test.tgt"));
  tgt.replace(0, tgt.find(' '), "Z99");
  src.write("test.tgt", tgt);
  std::string m = error_of([&] { import_upstream("pcfg", "productivity", src.path().string(), 0); });
  EXPECT_NE(m.find(src.file("test.tgt") + ":1: target differs"), std::string::npos) << m;

  // A malformed JSONL line.
  TempDir js;
  js.write("train.jsonl", "{\"source\": \"walk\", \"target\": \"I_WALK\"}\n");
  js.write("validation.jsonl", "{\"source\": \"walk\", \"target\": \"I_WALK\"}\n\n{\"source\": 3}\n");
  js.write("test.jsonl", "{\"source\": \"walk\", \"target\": \"I_WALK\"\n");
  m = error_of([&] { import_upstream("scan", "len_tr25_ts48", js.path().string(), 0); });
  EXPECT_NE(m.find(js.file("validation.jsonl") + ":3: key 'source'"), std::string::npos) << m;
  js.write("validation.jsonl", "{\"source\": \"walk\", \"target\": \"I_WALK\"}\n");
  m = error_of([&] { import_upstream("scan", "len_tr25_ts48", js.path().string(), 0); });
  EXPECT_NE(m.find(js.file("test.jsonl") + ":1: not a JSON object"), std::string::npos) << m;
  js.write("test.jsonl", "{\"source\": \"walk left\", \"target\": \"I_WALK\"}\n");
  m = error_of([&] { import_upstream("scan", "len_tr25_ts48", js.path().string(), 0); });
  EXPECT_NE(m.find(js.file("test.jsonl") + ":1: actions differ"), std::string::npos) << m;

  // Missing files: what DIR should hold.
  TempDir empty;
  empty.write("tasks_train_length.txt", scan_line("walk"));
  m = error_of([&] { import_upstream("scan", "len_tr25_ts48", empty.path().string(), 0); });
  EXPECT_NE(m.find("missing: tasks_test_length.txt"), std::string::npos) << m;
  EXPECT_NE(m.find("brendenlake/SCAN"), std::string::npos) << m;
  m = error_of([&] { import_upstream("pcfg", "productivity", empty.path().string(), 0); });
  EXPECT_NE(m.find("train.src, train.tgt, test.src, test.tgt"), std::string::npos) << m;
  m = error_of([&] { import_upstream("scan", "len_tr25_ts48", empty.file("nope"), 0); });
  EXPECT_NE(m.find("not a directory"), std::string::npos) << m;

  // Options that do not apply to imported data.
  m = error_of([&] { make_dataset_dir(request("addition", "", src.path().string()), out.file("a")); });
  EXPECT_NE(m.find("only scan and pcfg"), std::string::npos) << m;
  DatasetRequest sized = request("scan", "len_tr25_ts48", src.path().string());
  sized.train_size = 10;
  m = error_of([&] { make_dataset_dir(sized, out.file("b")); });
  EXPECT_NE(m.find("--train-size"), std::string::npos) << m;
  EXPECT_FALSE(std::filesystem::exists(out.file("b")));
}

TEST(ImportUpstream, RunConfigKeyFrom) {
  const RunConfig c = RunConfig::from_json(
      {{"data", {{"task", "scan"}, {"split", "len_tr25_ts48"}, {"from", "/up/SCAN"}}}}, "c.json");
  EXPECT_EQ(c.data.from, "/up/SCAN");
  EXPECT_EQ(c.to_json()["data"]["from"], "/up/SCAN");
  const std::string m = error_of(
      [] { RunConfig::from_json({{"data", {{"dir", "d"}, {"from", "/up/SCAN"}}}}, "c.json"); });
  EXPECT_NE(m.find("'from'"), std::string::npos) << m;
}

TEST(ImportUpstream, ThroughTheCli) {
  TempDir src, out;
  write_pcfg_fixture(src, "data/pcfgset/productivity/");
  auto r = testing::run_lengen("data make --task pcfg --split md_productivity --from '" +
                               src.path().string() + "' --seed 3 --out '" + out.file("d") + "'");
  ASSERT_EQ(r.code, 0) << r.describe();
  EXPECT_NE(r.out.find("imported from"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("train 18, validation 2, test 3"), std::string::npos) << r.out;
  r = testing::run_lengen("data show '" + out.file("d") + "' --examples 1");
  ASSERT_EQ(r.code, 0) << r.describe();
  EXPECT_NE(r.out.find("imported:"), std::string::npos) << r.out;

  src.write("data/pcfgset/productivity/test.src", "copy A1\nfly A1\n");
  src.write("data/pcfgset/productivity/test.tgt", "A1\nA1\n");
  r = testing::run_lengen("data make --task pcfg --split productivity --from '" + src.path().string() +
                          "' --out '" + out.file("e") + "'");
  EXPECT_EQ(r.code, 1) << r.describe();
  EXPECT_FALSE(r.crashed()) << r.describe();
  EXPECT_NE(r.out.find("test.src:2"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace lengen
