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
  // Copy rdc_tr20_ts40 by default: the copy split on which the paper's NoPE generalizes (96.7% OOD)
  // and on which that shows soonest at a CPU budget (README "Results").
  std::string task = "copy", split = "rdc_tr20_ts40";
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
  // The training curves (accuracy_vs_steps.md): ID and OOD exact match on the probe subsets at
  // every evaluation during training; empty when no run logged test accuracy.
  std::string curves_text;
  // With the built-in defaults only: one line on which of the paper's findings this budget
  // shows (computed from the results) and which need the paper preset.
  std::string budget_note;
};

CompareReport run_compare(const CompareOptions& options);

// One paragraph on what a compare at the CPU default budget shows of the paper's findings on the
// default split, from its summary: the OOD ranking beside the paper's, and which of the paper's
// findings (NoPE extrapolates, NoPE first, ALiBi/RoPE/APE fail past the training lengths) hold.
std::string budget_note(const nlohmann::json& summary);

// OOD (and ID) exact match at every evaluation during training, from each run's metrics.jsonl
// (eval.test_examples): accuracy_vs_steps.md/.csv/.png in report_dir. `runs` = (encoding, run
// directory). Returns the Markdown table, or "" when no run logged test accuracy.
std::string write_step_curves(const std::vector<std::pair<std::string, std::string>>& runs,
                              const std::string& report_dir);

// Sets model.pe of a run config to `encoding`, keeping the base config's options of that
// encoding (e.g. a rotary base) and dropping another encoding's.
void set_encoding(nlohmann::json& run_config, const std::string& encoding);

// Rebuilds the report from finished runs (one summary per run: results.json contents).
CompareReport write_compare_report(const std::vector<nlohmann::json>& run_summaries,
                                   const std::string& report_dir, int longest_train_length);

}  // namespace lengen
