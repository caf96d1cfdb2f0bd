// `lengen report`: finding runs, the aggregation math (mean, sample std, mean reciprocal rank)
// on hand-made results, the LM/analysis reader, and the files of the report.
#include <gtest/gtest.h>

#include "file_test_support.h"

#include <cmath>
#include <filesystem>

#include "data/jsonl.h"
#include "io/atomic_file.h"
#include "model/checkpoint.h"
#include "report/extra_results.h"
#include "report/html.h"
#include "report/plot.h"
#include "report/study.h"
#include "report/study_report.h"

namespace fs = std::filesystem;

namespace lengen::report {
namespace {

// results.json of a run as task_run writes it (the fields the report reads).
nlohmann::json results(const std::string& task, const std::string& split, const std::string& pe, int seed, double id,
                       double ood, const std::string& scratchpad = "") {
  nlohmann::json data = {{"task", task}, {"split", split}, {"seed", 0}};
  if (!scratchpad.empty()) data["scratchpad"] = scratchpad;
  return {{"encoding", pe},
          {"data", data},
          {"train_seed", seed},
          {"id_accuracy", id},
          {"ood_accuracy", ood},
          {"validation", {{"per_length", {{"4", {{"accuracy", id}}}, {"8", {{"accuracy", id}}}}}}},
          {"test", {{"per_length", {{"9", {{"accuracy", ood}}}, {"16", {{"accuracy", ood / 2}}}}}}}};
}

RunRecord rec(const std::string& task, const std::string& pe, int seed, double id, double ood) {
  return run_record(results(task, "s", pe, seed, id, ood), task + "/" + pe + "/" + std::to_string(seed));
}

TEST(StudyReport, MeanAndSampleStdOverSeeds) {
  const std::vector<RunRecord> runs = {rec("a", "alibi", 0, 1.0, 0.8), rec("a", "alibi", 1, 0.9, 0.6),
                                       rec("a", "nope", 0, 0.5, 0.1)};
  const auto cells = aggregate(runs);
  const Cell& alibi = cells.at({"a s", "alibi"});
  EXPECT_NEAR(alibi.ood.mean, 0.7, 1e-12);
  EXPECT_NEAR(alibi.ood.std, std::sqrt(0.02), 1e-12);  // ((0.1^2 + 0.1^2) / (2 - 1))^0.5
  EXPECT_NEAR(alibi.id.mean, 0.95, 1e-12);
  EXPECT_EQ(alibi.seeds, (std::vector<uint64_t>{0, 1}));
  const Cell& nope = cells.at({"a s", "nope"});
  EXPECT_EQ(nope.ood.n, 1);
  EXPECT_EQ(nope.ood.std, 0);
  EXPECT_EQ(mean_std_cell(alibi.ood), "70.0 ± 14.1");
  EXPECT_EQ(mean_std_cell(nope.ood), "10.0");
  const auto by_length = accuracy_by_length(runs, "a s", "alibi");
  ASSERT_EQ(by_length.size(), 4u);
  EXPECT_TRUE(by_length.at(8).in_distribution);
  EXPECT_FALSE(by_length.at(16).in_distribution);
  EXPECT_NEAR(by_length.at(16).accuracy.mean, 0.35, 1e-12);
}

TEST(StudyReport, MeanReciprocalRankWithTies) {
  // Query (a, seed 0): alibi and rotary tie for first, nope third. Query (a, seed 1): alibi,
  // rotary, nope. Query (b, seed 0): only nope and rotary.
  const std::vector<RunRecord> runs = {rec("a", "nope", 0, 0, 0.1), rec("a", "alibi", 0, 0, 0.8),
                                       rec("a", "rotary", 0, 0, 0.8), rec("a", "nope", 1, 0, 0.2),
                                       rec("a", "alibi", 1, 0, 0.6), rec("a", "rotary", 1, 0, 0.3),
                                       rec("b", "nope", 0, 0, 0.5), rec("b", "rotary", 0, 0, 0.4)};
  const auto mrr = mean_reciprocal_rank(runs);
  EXPECT_NEAR(mrr.at("alibi").mrr, 1.0, 1e-12);
  EXPECT_EQ(mrr.at("alibi").queries, 2);
  EXPECT_NEAR(mrr.at("rotary").mrr, (1 + 0.5 + 0.5) / 3, 1e-12);
  EXPECT_NEAR(mrr.at("nope").mrr, (1.0 / 3 + 1.0 / 3 + 1) / 3, 1e-12);
  EXPECT_EQ(mrr.at("nope").queries, 3);
  const auto id = mean_reciprocal_rank(runs, false);  // all ID accuracies 0: everyone ties first
  EXPECT_NEAR(id.at("nope").mrr, 1.0, 1e-12);
}

TEST(StudyReport, FindsRunsAndReadsCompareDataDirectories) {
  testing::TempDir tmp;
  tmp.write("sweep/copy/alibi/seed0/results.json", results("copy", "cmc", "alibi", 0, 1, 0.5).dump());
  tmp.write("sweep/copy/alibi/seed0/checkpoint/results.json", results("copy", "x", "alibi", 9, 1, 1).dump());
  tmp.write("sweep/copy/alibi/seed0/eval/test/results.json", R"({"split": "test", "accuracy": 0.5})");
  tmp.write("lm/results.json", R"({"loss": 1.0})");  // not a task run
  // A compare run: data names a dataset directory, whose dataset.json has the task.
  tmp.write("cmp/data/dataset.json", R"({"task": "reverse", "split": "mc_tr20_ts40", "seed": 0})");
  nlohmann::json cmp = results("ignored", "", "nope", 1, 0.5, 0.0);
  cmp["data"] = {{"dir", tmp.file("cmp/data")}};
  tmp.write("cmp/nope/seed1/results.json", cmp.dump());
  const auto runs = find_runs({tmp.file("sweep"), tmp.file("cmp"), tmp.file("lm"), tmp.file("sweep/copy")});
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].task_key(), "reverse mc_tr20_ts40");
  EXPECT_EQ(runs[0].seed, 1u);
  EXPECT_EQ(runs[1].task_key(), "copy cmc");
  const std::string m = testing::error_of([&] { find_runs({tmp.file("missing")}); });
  EXPECT_NE(m.find("missing is not a directory"), std::string::npos) << m;
}

// A compare run's data directory as `lengen compare` writes it: its dataset.json has
// "scratchpad": null (no scratchpad), which the report read as a string and stopped with an
// internal error. Fields of unexpected types in a results.json are left out, never fatal.
TEST(StudyReport, ReadsDatasetJsonAsWrittenAndToleratesOddFields) {
  testing::TempDir tmp;
  data::DatasetInfo info;
  info.task = "copy";
  info.split = "cmc_tr20_ts40";
  tmp.write("cmp/data/dataset.json", info.to_json().dump());
  ASSERT_TRUE(info.to_json()["scratchpad"].is_null());  // what made the report fail
  nlohmann::json cmp = results("ignored", "", "alibi", 0, 0.5, 0.25);
  cmp["data"] = {{"dir", tmp.file("cmp/data")}};
  tmp.write("cmp/alibi/seed0/results.json", cmp.dump());
  nlohmann::json odd = results("copy", "cmc_tr20_ts40", "nope", 0, 0.5, 0.25);
  odd["data"]["scratchpad"] = nullptr;
  odd["train_seed"] = "zero";
  odd["validation"]["per_length"]["x"] = {{"accuracy", 1.0}};
  odd["validation"]["per_length"]["12"] = {{"accuracy", "high"}};
  tmp.write("cmp/odd/results.json", odd.dump());
  const auto runs = find_runs({tmp.file("cmp")});
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].task_key(), "copy cmc_tr20_ts40");
  EXPECT_EQ(runs[0].encoding, "alibi");
  EXPECT_EQ(runs[1].task_key(), "copy cmc_tr20_ts40");
  EXPECT_EQ(runs[1].seed, 0u);
  EXPECT_EQ(runs[1].id_by_length.size(), 2u);  // "4" and "8"; "x" and "12" left out
  EXPECT_NO_THROW(write_study_report({tmp.file("cmp")}, tmp.file("report")));
}

TEST(StudyReport, CsvReaderAndExtraResults) {
  testing::TempDir tmp;
  tmp.write("lm/lm_perplexity.csv", "encoding,length,perplexity\r\nalibi,512,\"3,5\"\r\n\"ro\"\"pe\",1024,4.0\n");
  tmp.write("lm/ppl.svg", "<svg xmlns='http://www.w3.org/2000/svg'/>");
  tmp.write("analysis/distance.csv", "head,distance\n0,1.5\n");
  tmp.write("other/notes.csv", "a\n1\n");
  const Table t = read_csv_table(tmp.file("lm/lm_perplexity.csv"));
  EXPECT_EQ(t.header, (std::vector<std::string>{"encoding", "length", "perplexity"}));
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0][2], "3,5");
  EXPECT_EQ(t.rows[1][0], "ro\"pe");
  const auto extras = find_extra_results({tmp.path().string()});
  ASSERT_EQ(extras.size(), 2u);
  EXPECT_EQ(extras[0].kind, "attention");
  EXPECT_EQ(extras[1].kind, "lm");
  ASSERT_EQ(extras[1].images.size(), 1u);
  tmp.write("bad.csv", "a,b\n\"open,1\n");
  std::string m = testing::error_of([&] { read_csv_table(tmp.file("bad.csv")); });
  EXPECT_NE(m.find("bad.csv:2: unterminated quoted field"), std::string::npos) << m;
  tmp.write("wide.csv", "a\n1,2\n");
  m = testing::error_of([&] { read_csv_table(tmp.file("wide.csv")); });
  EXPECT_NE(m.find("wide.csv: row 2 has 2 fields but the header has 1"), std::string::npos) << m;
}

TEST(StudyReport, HtmlBuildingBlocks) {
  EXPECT_EQ(html::escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
  EXPECT_EQ(html::base64(""), "");
  EXPECT_EQ(html::base64("f"), "Zg==");
  EXPECT_EQ(html::base64("fo"), "Zm8=");
  EXPECT_EQ(html::base64("foo"), "Zm9v");
  EXPECT_EQ(html::base64("foobar"), "Zm9vYmFy");
  Table t{{"x", "y"}, {{"1", "<b>"}}};
  EXPECT_EQ(html::table(t, {{0, 1}}), "<table>\n<thead><tr><th>x</th><th>y</th></tr></thead>\n<tbody>\n"
                                      "<tr><td>1</td><td class=\"best\">&lt;b&gt;</td></tr>\n</tbody>\n</table>\n");
}

TEST(StudyReport, WritesPageTablesAndNumbers) {
  testing::TempDir tmp;
  for (int seed : {0, 1}) {
    tmp.write(fmt::format("runs/copy/alibi/seed{}/results.json", seed),
              results("copy", "cmc", "alibi", seed, 1.0, 0.8 - 0.2 * seed).dump());
    tmp.write(fmt::format("runs/copy/rotary/seed{}/results.json", seed),
              results("copy", "cmc", "rotary", seed, 0.9, 0.1).dump());
    tmp.write(fmt::format("runs/sum/sp/alibi/seed{}/results.json", seed),
              results("sum", "len", "alibi", seed, 0.9, 0.5, "i1_c1_o1_v1_r1").dump());
    tmp.write(fmt::format("runs/sum/none/alibi/seed{}/results.json", seed),
              results("sum", "len", "alibi", seed, 0.7, 0.2).dump());
  }
  tmp.write("runs/lm/lm_perplexity.csv", "encoding,length,perplexity\nalibi,512,3.5\n");
  const std::string out = tmp.file("runs/report");
  const StudyReport r = write_study_report({tmp.file("runs")}, out);
  EXPECT_EQ(r.runs, 8u);
  EXPECT_EQ(r.extras, 1u);
  for (const char* f : {"index.html", "main_table.csv", "main_table.md", "mrr.csv", "accuracy_by_length.csv",
                        "scratchpad.csv", "runs.csv", "report.json"})
    EXPECT_TRUE(fs::exists(out + "/" + f)) << f;
  const std::string csv = io::read_file(out + "/main_table.csv");
  EXPECT_NE(csv.find("copy,cmc,,alibi,2,1,0,0.7,0.141421"), std::string::npos) << csv;
  const std::string html = io::read_file(out + "/index.html");
  EXPECT_NE(html.find("<th>task split</th><th>alibi</th><th>rotary</th>"), std::string::npos);
  EXPECT_NE(html.find("<td>copy cmc</td><td class=\"best\">70.0 ± 14.1</td><td>10.0 ± 0.0</td>"), std::string::npos);
  EXPECT_NE(html.find("Scratchpad formats"), std::string::npos);
  EXPECT_NE(html.find("lm_perplexity.csv"), std::string::npos);
  const auto numbers = read_json_file(out + "/report.json");
  EXPECT_NEAR(numbers["mrr"]["alibi"]["ood"].get<double>(), 1.0, 1e-12);
  EXPECT_NEAR(numbers["mrr"]["rotary"]["ood"].get<double>(), 0.5, 1e-12);
  if (plotting_available()) {
    EXPECT_TRUE(fs::exists(out + "/accuracy_copy_cmc.png"));
    EXPECT_NE(html.find("data:image/png;base64,iVBORw0KGgo"), std::string::npos);  // PNG signature
  }
  // A second report over the same directory does not read its own output as results.
  EXPECT_EQ(write_study_report({tmp.file("runs")}, out).runs, 8u);
  const std::string m = testing::error_of([&] { write_study_report({tmp.file("runs/lm/none")}, out); });
  EXPECT_NE(m.find("not a directory"), std::string::npos) << m;
}

// Runs with randomized positions form an encoding of their own, not more seeds of the plain one.
TEST(StudyReport, RandomizedPositionsAreTheirOwnEncoding) {
  nlohmann::json randomized = results("parity_check", "len_tr40_ts100", "rotary", 0, 1.0, 0.9);
  randomized["data"]["random_positions"] = 1024;
  EXPECT_EQ(run_record(randomized, "a").encoding, "rotary+random1024");
  EXPECT_EQ(run_record(results("parity_check", "len_tr40_ts100", "rotary", 0, 1.0, 0.5), "b").encoding, "rotary");
  randomized["data"]["random_positions"] = 0;
  EXPECT_EQ(run_record(randomized, "c").encoding, "rotary");
}

// The Chomsky papers' metric: per-token accuracy averaged over the test lengths, pooled over
// seeds, as a table of its own (results without it leave it out).
TEST(StudyReport, PerTokenAccuracyIsTheMeanOverTestLengths) {
  testing::TempDir tmp;
  for (int seed : {0, 1}) {
    nlohmann::json r = results("reverse_string", "len_tr40_ts100", "alibi", seed, 1.0, 0.0);
    r["test"]["per_length"] = {{"41", {{"accuracy", 0.0}, {"token_accuracy", 0.5 + 0.1 * seed}}},
                               {"42", {{"accuracy", 0.0}, {"token_accuracy", 0.7 + 0.1 * seed}}}};
    tmp.write(fmt::format("runs/rs/alibi/seed{}/results.json", seed), r.dump());
  }
  const nlohmann::json one = nlohmann::json::parse(io::read_file(tmp.file("runs/rs/alibi/seed0/results.json")));
  const RunRecord rec = run_record(one, "x");
  ASSERT_TRUE(rec.has_ood_tokens);
  EXPECT_NEAR(rec.ood_tokens, 0.6, 1e-12);
  EXPECT_FALSE(run_record(results("copy", "cmc", "fire", 0, 1.0, 0.5), "y").has_ood_tokens);
  const std::string out = tmp.file("runs/report");
  write_study_report({tmp.file("runs")}, out);
  const std::string md = io::read_file(out + "/main_table.md");
  EXPECT_NE(md.find("OOD per-token accuracy"), std::string::npos) << md;
  EXPECT_NE(md.find("65.0 ± 7.1"), std::string::npos) << md;  // seeds 60% and 70%
  EXPECT_NE(io::read_file(out + "/main_table.csv").find(",0.65,0.0707107"), std::string::npos);
}

// Two-operand arithmetic labels its test examples "a-by-b": the report pools each cell over
// seeds into a grid (CSV, report.json, and a heat map when gnuplot is there).
TEST(StudyReport, OperandGridOfTwoOperandArithmetic) {
  testing::TempDir tmp;
  for (int seed : {0, 1}) {
    nlohmann::json r = results("add", "grid_tr10_ts40", "fire", seed, 1.0, 0.5);
    r["test"]["per_category"] = {{"11-by-3", {{"accuracy", 0.25 * (seed + 1)}, {"total", 4}}},
                                 {"2-by-12", {{"accuracy", 1.0}, {"total", 4}}},
                                 {"odd", {{"accuracy", 1.0}}}};  // not a grid label: left out
    tmp.write(fmt::format("runs/add/fire/seed{}/results.json", seed), r.dump());
  }
  tmp.write("runs/copy/fire/seed0/results.json", results("copy", "cmc", "fire", 0, 1.0, 0.5).dump());  // no grid
  const std::string out = tmp.file("runs/report");
  write_study_report({tmp.file("runs")}, out);
  const std::string csv = io::read_file(out + "/accuracy_grid.csv");
  EXPECT_NE(csv.find("add grid_tr10_ts40,fire,11,3,0.375,0.176777,2"), std::string::npos) << csv;
  EXPECT_NE(csv.find("add grid_tr10_ts40,fire,2,12,1,0,2"), std::string::npos) << csv;
  EXPECT_EQ(csv.find("copy"), std::string::npos) << csv;
  const auto numbers = read_json_file(out + "/report.json");
  EXPECT_EQ(numbers["accuracy_grid"]["add grid_tr10_ts40"]["fire"].size(), 2u);
  EXPECT_NE(io::read_file(out + "/index.html").find("OOD exact match per operand lengths"), std::string::npos);
  if (plotting_available()) EXPECT_TRUE(fs::exists(out + "/grid_add_grid_tr10_ts40_fire.png"));
}

}  // namespace
}  // namespace lengen::report
