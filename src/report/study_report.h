// `lengen report DIR...`: the paper's tables and figures from finished runs (sweeps, compare,
// single train runs), as one static HTML page that works offline plus CSV/JSON of every number.
// Output directory:
//   index.html               the page (tables, embedded figures)
//   main_table.csv           per task split and encoding: seeds, ID/OOD mean and std (fractions)
//   main_table.md            the same as Markdown tables (OOD, then ID), in percent
//   mrr.csv                  mean reciprocal rank of each encoding (OOD and ID)
//   accuracy_by_length.csv   per task split, encoding and length: mean, std, runs
//   scratchpad.csv           per task split, encoding and scratchpad format (when several)
//   runs.csv                 every run found: directory, settings, ID and OOD accuracy
//   report.json              all of the above
//   accuracy_<task>.png/.svg accuracy versus length, one line per encoding, seed spread shaded
// LM perplexity and attention-analysis results found under the same directories are shown too
// (report/extra_results.h).
#pragma once
#include <string>
#include <vector>

namespace lengen::report {

struct StudyReport {
  std::string out_dir;
  std::string text;  // the main table and the MRR for the terminal
  size_t runs = 0, extras = 0;
};

StudyReport write_study_report(const std::vector<std::string>& roots, const std::string& out_dir);

}  // namespace lengen::report
