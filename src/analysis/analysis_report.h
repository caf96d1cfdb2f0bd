// Files of the attention analyses and the efficiency measurement: CSV and Markdown tables and
// gnuplot figures (PNG and SVG; the figures are skipped with a note when gnuplot is missing).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "analysis/attention_capture.h"
#include "analysis/distance.h"
#include "analysis/efficiency.h"

namespace lengen::analysis {

// What a report command wrote, and what it prints.
struct ReportFiles {
  std::vector<std::string> files;
  std::string table_text;  // the main table, as text for the terminal
};

struct RunDistance {
  std::string encoding, run;
  std::vector<LengthDistance> lengths;
};
// distance.csv (encoding, run, length, layer or "mean", sym_kl, js, examples),
// distance_summary.{md,csv} (per encoding, over all lengths: mean over layers, and per layer),
// distance_per_layer_{js,kl}.{png,svg} (one line per encoding, averaged over lengths),
// distance_vs_length_js.{png,svg}.
ReportFiles write_distance_report(const std::vector<RunDistance>& runs,
                                  const std::string& reference_encoding, const std::string& dir);

struct RunAttended {
  std::string encoding, run;
  std::map<int, std::vector<double>> by_length;  // attended distances of each length's examples
};
// attended_distance.csv (encoding, length, bin_low, bin_high, fraction),
// attended_distance_summary.{md,csv} (mean per encoding and length),
// attended_distance_hist.{png,svg} (all lengths pooled, one line per encoding),
// attended_distance_mean.{png,svg} (mean vs length).
ReportFiles write_attended_report(const std::vector<RunAttended>& runs, int bins,
                                  const std::string& dir);

struct HeatmapRequest {
  std::vector<int> examples = {0};  // indices into the capture's examples
  std::vector<int> layers, heads;   // empty = all
  std::string format = "png";       // png | svg
  int max_labelled_tokens = 48;     // longer sequences get index ticks instead of words
};
// attention_ex<k>_len<n>_l<layer>_h<head>.<format>: query rows top to bottom, keys left to
// right, the region boundaries named in the title.
ReportFiles write_attention_heatmaps(const AttentionCapture& capture, const HeatmapRequest& request,
                                     const std::string& dir);

// efficiency.csv and .md (times in ms, memory in MiB), efficiency_{train_step,forward,generate,
// memory}.{png,svg}: one line per encoding against L.
ReportFiles write_efficiency_report(const std::vector<EfficiencyPoint>& points,
                                    const std::string& shape, const std::string& dir);

}  // namespace lengen::analysis
