// `lengen compare`, the main job: train the paper's encodings on one task with the same budget
// and seeds, evaluate each on validation (ID) and test (OOD), and write a report: a table
// (text, Markdown, CSV) and a plot of accuracy versus length, one line per encoding.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lengen {

struct CompareOptions {
  std::string task = "copy", split = "cmc_tr20_ts40";
  std::vector<std::string> encodings = {"nope", "t5_bias", "alibi", "rotary", "abs_sin"};
  std::vector<uint64_t> seeds = {0};
  std::string preset = "tiny";     // configs/models/<preset>
  std::string config;              // more config files / presets layered on top
  std::vector<std::string> sets;   // --set overrides, applied to every run
  std::string out = "runs/compare";
  // Runs trained at the same time, the threads shared out between them. Small models use
  // cores better side by side than split across one model (default: one per 2 threads).
  int jobs = 0;  // 0 = automatic
  bool quiet = false;
};

struct CompareReport {
  std::string table_text;        // what the terminal shows
  std::string report_dir;        // <out>/report
  nlohmann::json summary;        // every number of the report
};

CompareReport run_compare(const CompareOptions& options);

// Sets model.pe of a run config to `encoding`, keeping the base config's options of that
// encoding (e.g. a rotary base) and dropping another encoding's.
void set_encoding(nlohmann::json& run_config, const std::string& encoding);

// Rebuilds the report from finished runs (one summary per run: results.json contents).
CompareReport write_compare_report(const std::vector<nlohmann::json>& run_summaries,
                                   const std::string& report_dir, int longest_train_length);

}  // namespace lengen
