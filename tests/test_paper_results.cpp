// `lengen report --paper-results`: reading the upstream W&B exports (results/*.jsonl of
// McGill-NLP/length-generalization) into per-split OOD means and the paper's MRR, bad lines,
// and the side-by-side with lengen runs.
#include <gtest/gtest.h>

#include "cli_runner.h"
#include "file_test_support.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "report/paper_results.h"
#include "report/study.h"

namespace lengen::report {
namespace {

// Markdown with runs of spaces collapsed: the expectations need not copy the column padding.
std::string squeezed(const std::string& md) {
  std::string out;
  for (char c : md)
    if (c != ' ' || out.empty() || out.back() != ' ') out += c;
  return out;
}

// One line of an upstream export, with the keys the reader uses.
std::string upstream_run(const std::string& dataset, const std::string& split, const std::string& pe, int seed,
                         double acc, const std::string& job_type = "best_run_seed_exp") {
  nlohmann::json j = {{"run_group", "SW-t5_dec_base_pe_" + pe + "_sweep___data-" + dataset + "-" + split},
                      {"job_type", job_type},
                      {"state", "finished"},
                      {"cfg__dataset.name", dataset},
                      {"cfg__dataset.split", split},
                      {"cfg__model.position_encoding_type", pe},
                      {"cfg__global_vars.seed", seed},
                      {"sum__pred/test_acc_overall", acc},
                      {"sum__pred/test_acc_21", acc}};
  return j.dump() + "\n";
}

// 2 ranked splits x 3 encodings x 2 seeds, plus what the reader leaves out: a search agent, an
// encoding outside the paper's five, a crashed run, a repeated run and the unranked pcfg split.
std::string fixture() {
  std::string s;
  const std::vector<std::tuple<std::string, std::string, std::string, int, double>> runs = {
      {"s2s_copy", "cmc_tr20_ts40", "none", 1, 0.9},       {"s2s_copy", "cmc_tr20_ts40", "none", 2, 0.7},
      {"s2s_copy", "cmc_tr20_ts40", "t5_relative_bias", 1, 0.5}, {"s2s_copy", "cmc_tr20_ts40", "t5_relative_bias", 2, 0.6},
      {"s2s_copy", "cmc_tr20_ts40", "abs_sinusoid", 1, 0.1}, {"s2s_copy", "cmc_tr20_ts40", "abs_sinusoid", 2, 0.0},
      {"scan", "mdlen_tr25_ts48", "none", 1, 0.4},         {"scan", "mdlen_tr25_ts48", "none", 2, 0.4},
      {"scan", "mdlen_tr25_ts48", "t5_relative_bias", 1, 0.8}, {"scan", "mdlen_tr25_ts48", "t5_relative_bias", 2, 0.4},
      {"scan", "mdlen_tr25_ts48", "abs_sinusoid", 1, 0.2}, {"scan", "mdlen_tr25_ts48", "abs_sinusoid", 2, 0.1},
      {"pcfg", "productivity", "none", 1, 0.0},            {"pcfg", "productivity", "abs_sinusoid", 1, 0.3}};
  for (const auto& [ds, split, pe, seed, acc] : runs) s += upstream_run(ds, split, pe, seed, acc);
  s += upstream_run("s2s_copy", "cmc_tr20_ts40", "none", 1, 0.0, "agent");
  s += upstream_run("s2s_copy", "cmc_tr20_ts40", "new_rotary", 1, 1.0);
  s += upstream_run("s2s_copy", "cmc_tr20_ts40", "none", 1, 0.0);  // repeats the first line
  nlohmann::json crashed = nlohmann::json::parse(upstream_run("scan", "mdlen_tr25_ts48", "none", 3, 0));
  crashed.erase("sum__pred/test_acc_overall");
  s += "\n" + crashed.dump() + "\r\n";
  return s;
}

TEST(PaperResults, MeansSeedCountsAndMrr) {
  lengen::testing::TempDir tmp;
  const PaperResults paper = read_paper_results({tmp.write("classic.jsonl", fixture())});
  ASSERT_EQ(paper.runs.size(), 14u);
  const auto cells = aggregate(paper.runs);
  EXPECT_NEAR(cells.at({"copy cmc_tr20_ts40", "nope"}).ood.mean, 0.8, 1e-12);
  EXPECT_NEAR(cells.at({"copy cmc_tr20_ts40", "t5_bias"}).ood.mean, 0.55, 1e-12);
  EXPECT_NEAR(cells.at({"scan mdlen_tr25_ts48", "abs_sin"}).ood.mean, 0.15, 1e-12);
  EXPECT_EQ(cells.at({"scan mdlen_tr25_ts48", "nope"}).seeds, (std::vector<uint64_t>{1, 2}));  // seed 3 crashed
  EXPECT_EQ(cells.at({"pcfg productivity", "nope"}).seeds.size(), 1u);

  // Queries (copy, 1) (copy, 2) (scan, 1) (scan, 2); nope and t5_bias tie on (scan, 2); pcfg
  // productivity is not ranked (the paper ranks md_productivity).
  std::vector<RunRecord> ranked;
  for (const auto& r : paper.runs)
    if (paper_ranks(r)) ranked.push_back(r);
  EXPECT_EQ(ranked.size(), 12u);
  const auto mrr = mean_reciprocal_rank(ranked);
  EXPECT_NEAR(mrr.at("nope").mrr, (1 + 1 + 0.5 + 1) / 4, 1e-12);
  EXPECT_NEAR(mrr.at("t5_bias").mrr, (0.5 + 0.5 + 1 + 1) / 4, 1e-12);
  EXPECT_NEAR(mrr.at("abs_sin").mrr, 1.0 / 3, 1e-12);
  EXPECT_EQ(mrr.at("nope").queries, 4);

  const std::string md = squeezed(paper_table_markdown(paper, [](const std::string& task, const std::string&) {
    return task != "scan";
  }));
  EXPECT_NE(md.find("| copy cmc_tr20_ts40 | 80.0 ± 14.1 (2) | 55.0 ± 7.1 (2) | 5.0 ± 7.1 (2) |"), std::string::npos) << md;
  EXPECT_NE(md.find("| pcfg productivity *"), std::string::npos) << md;
  EXPECT_NE(md.find("| MRR | 0.875 | 0.750 | 0.333 |"), std::string::npos) << md;
  EXPECT_NE(md.find("over the 4 (task split, seed) queries"), std::string::npos) << md;
  EXPECT_NE(md.find("Splits lengen does not generate: scan mdlen_tr25_ts48."), std::string::npos) << md;
  EXPECT_NE(md.find("1 seeded runs without \"sum__pred/test_acc_overall\" left out"), std::string::npos) << md;
  EXPECT_NE(md.find("encoding new_rotary (not one of the paper's five): 1 runs left out"), std::string::npos) << md;
  EXPECT_NE(md.find("1 repeated runs (same task split, encoding and seed) counted once: "), std::string::npos) << md;
}

// Every bad line is an error naming the file, the line and the key; nothing crashes.
TEST(PaperResults, BadInputNamesTheLine) {
  lengen::testing::TempDir tmp;
  const std::string good = upstream_run("scan", "mdlen_tr25_ts48", "none", 1, 0.5);
  const auto line2_error = [&](const std::string& second_line) {
    const std::string path = tmp.write("bad.jsonl", good + second_line + "\n");
    return lengen::testing::error_of([&] { read_paper_results({path}); });
  };
  const std::string where = tmp.file("bad.jsonl") + ":2: ";
  EXPECT_EQ(line2_error("{\"job_type\": \"best_run_seed_exp\", "),
            where + "not valid JSON (expected one W&B run per line, as upstream results/*.jsonl)");
  EXPECT_EQ(line2_error("[1, 2]"), where + "not a JSON object (expected one W&B run per line)");
  EXPECT_EQ(line2_error("{\"id\": 3}"), where + "no \"job_type\" string (not a W&B run export)");
  auto j = nlohmann::json::parse(good);
  j.erase("cfg__dataset.split");
  EXPECT_EQ(line2_error(j.dump()), where + "seeded run without a \"cfg__dataset.split\" string");
  j = nlohmann::json::parse(good);
  j["cfg__global_vars.seed"] = -4;
  EXPECT_EQ(line2_error(j.dump()), where + "seeded run without a non-negative integer \"cfg__global_vars.seed\"");
  j = nlohmann::json::parse(good);
  j["sum__pred/test_acc_overall"] = 1.5;
  EXPECT_EQ(line2_error(j.dump()), where + "\"sum__pred/test_acc_overall\" is 1.5 (expected a fraction in [0, 1])");
  j["sum__pred/test_acc_overall"] = "0.5";
  EXPECT_EQ(line2_error(j.dump()), where + "\"sum__pred/test_acc_overall\" is not a number");

  const std::string agents = tmp.write("agents.jsonl", upstream_run("scan", "x", "none", 1, 0.5, "agent"));
  EXPECT_NE(lengen::testing::error_of([&] { read_paper_results({agents}); })
                .find("no seeded runs (job_type \"best_run_seed_exp\")"),
            std::string::npos);
  EXPECT_NE(lengen::testing::error_of([&] { read_paper_results({tmp.file("absent.jsonl")}); })
                .find("cannot read the paper results " + tmp.file("absent.jsonl")),
            std::string::npos);
}

// results.json of a lengen run, as test_study_report.cpp writes them.
std::string lengen_results(const std::string& pe, int seed, double ood) {
  return nlohmann::json({{"encoding", pe},
                         {"data", {{"task", "copy"}, {"split", "cmc_tr20_ts40"}}},
                         {"train_seed", seed},
                         {"id_accuracy", 1.0},
                         {"ood_accuracy", ood}})
      .dump();
}

TEST(PaperResults, SideBySideWithLengenRuns) {
  lengen::testing::TempDir tmp;
  const std::string file = tmp.write("classic.jsonl", fixture());
  for (int seed : {0, 1}) {
    tmp.write(fmt::format("runs/copy/nope/seed{}/results.json", seed), lengen_results("nope", seed, 0.1));
    tmp.write(fmt::format("runs/copy/t5_bias/seed{}/results.json", seed), lengen_results("t5_bias", seed, 0.6));
    tmp.write(fmt::format("runs/copy/abs_sin/seed{}/results.json", seed), lengen_results("abs_sin", seed, 0.0));
    tmp.write(fmt::format("runs/copy/alibi/seed{}/results.json", seed), lengen_results("alibi", seed, 0.9));
  }
  const auto ours = find_runs({tmp.file("runs")});
  ASSERT_EQ(ours.size(), 8u);
  const PaperReport r = write_paper_report({file}, ours, tmp.file("out"));
  const std::string md = squeezed(r.text);
  // Best among the encodings both ran (alibi is lengen's only): nope vs t5_bias; worst abs_sin.
  EXPECT_NE(md.find("| copy cmc_tr20_ts40 | 80.0 / 10.0 | 55.0 / 60.0 | n/a / 90.0 | 5.0 / 0.0 | nope / t5_bias (differs) "
                    "| abs_sin / abs_sin (same) |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("paper 2 seeds per cell, lengen 2"), std::string::npos) << md;
  EXPECT_NE(md.find("The best encoding agrees on 0 of 1 shared splits, the worst on 1 of 1."), std::string::npos) << md;
  // MRR over the shared split only; lengen's alibi is not in the paper's file, so not ranked.
  EXPECT_NE(md.find("| t5_bias | 0.750 | 0.500 | 1.000 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| alibi | n/a | n/a | n/a |"), std::string::npos) << md;
  EXPECT_NE(md.find("Only in the paper's file: pcfg productivity, scan mdlen_tr25_ts48."), std::string::npos) << md;
  for (const char* name : {"paper_results.md", "paper_results.json", "paper_comparison.md"})
    EXPECT_TRUE(std::filesystem::exists(tmp.file("out") + "/" + name)) << name;
  const auto numbers = nlohmann::json::parse(std::ifstream(tmp.file("out") + "/paper_results.json"));
  EXPECT_NEAR(numbers["mrr"]["nope"]["mrr"].get<double>(), 0.875, 1e-12);
}

// The command line: paper alone (printed, nothing written without --out), with run roots, and
// neither.
TEST(PaperResults, Cli) {
  lengen::testing::TempDir tmp;
  const std::string file = tmp.write("classic.jsonl", fixture());
  tmp.write("runs/copy/nope/seed0/results.json", lengen_results("nope", 0, 0.1));
  auto r = lengen::testing::run_lengen("report --paper-results " + file);
  EXPECT_EQ(r.code, 0) << r.describe();
  EXPECT_NE(r.out.find("| MRR "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("Splits lengen does not generate"), std::string::npos) << r.out;  // it has all three
  r = lengen::testing::run_lengen("report --paper-results " + file + " " + tmp.file("runs"));
  EXPECT_EQ(r.code, 0) << r.describe();
  EXPECT_NE(r.out.find("Paper vs lengen"), std::string::npos) << r.out;
  EXPECT_TRUE(std::filesystem::exists(tmp.file("runs") + "/report/paper_comparison.md"));
  r = lengen::testing::run_lengen("report");
  EXPECT_EQ(r.code, 1) << r.describe();
  EXPECT_NE(r.out.find("give run directories, --paper-results FILE, or both"), std::string::npos) << r.out;
  tmp.write("bad.jsonl", "{oops\n");
  r = lengen::testing::run_lengen("report --paper-results " + tmp.file("bad.jsonl"));
  EXPECT_FALSE(r.crashed()) << r.describe();
  EXPECT_NE(r.out.find(tmp.file("bad.jsonl") + ":1: not valid JSON"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace lengen::report
