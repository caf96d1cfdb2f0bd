#include "analysis/analyze.h"

#include <filesystem>

#include "analysis/attended_distance.h"
#include "util/error.h"

namespace fs = std::filesystem;

namespace lengen::analysis {

ReportFiles analyze_distance(const std::vector<std::string>& runs, const std::string& reference,
                             const CaptureSelection& s, QueryRows rows, const std::string& out_dir) {
  if (runs.empty()) fail("analyze distance: no --runs given");
  const AttentionCapture ref = capture_or_load(s.request(reference));
  std::vector<RunDistance> results;
  for (const std::string& run : runs) {
    std::error_code ec;
    if (fs::equivalent(run, reference, ec)) continue;
    const AttentionCapture c = capture_or_load(s.request(run));
    results.push_back({c.encoding(), run, attention_distance(c, ref, rows)});
  }
  if (results.empty()) fail("analyze distance: --runs holds only the reference {}", reference);
  return write_distance_report(results, ref.encoding(), out_dir);
}

ReportFiles analyze_attended(const std::vector<std::string>& runs, const CaptureSelection& s,
                             int bins, const std::string& out_dir) {
  if (runs.empty()) fail("analyze attended: no --runs given");
  std::vector<RunAttended> results;
  for (const std::string& run : runs) {
    const AttentionCapture c = capture_or_load(s.request(run));
    RunAttended r{c.encoding(), run, {}};
    for (const CapturedExample& x : c.examples) {
      const auto v = attended_distances(c, x);
      auto& dst = r.by_length[x.length];
      dst.insert(dst.end(), v.begin(), v.end());
    }
    results.push_back(std::move(r));
  }
  return write_attended_report(results, bins, out_dir);
}

}  // namespace lengen::analysis
