// The analyses over run directories, as the CLI runs them (`lengen analyze ...`): each run's
// attention capture is reused from <run>/analysis/attention/<split> when it matches, else made.
#pragma once
#include <string>
#include <vector>

#include "analysis/analysis_report.h"

namespace lengen::analysis {

struct CaptureSelection {
  std::string split = "test";
  int per_length = 10;
  std::string checkpoint;  // "" = best, else checkpoint
  bool quiet = false;
  CaptureRequest request(const std::string& run_dir) const {
    return {run_dir, split, per_length, checkpoint, quiet};
  }
};

// Distance of each run's attention to the reference's (SPEC 5(a)); the reference itself is
// skipped if listed. Writes write_distance_report's files into out_dir.
ReportFiles analyze_distance(const std::vector<std::string>& runs, const std::string& reference,
                             const CaptureSelection& selection, QueryRows rows,
                             const std::string& out_dir);

// Attended-distance histograms per run (SPEC 5(b)) into out_dir.
ReportFiles analyze_attended(const std::vector<std::string>& runs, const CaptureSelection& selection,
                             int bins, const std::string& out_dir);

}  // namespace lengen::analysis
