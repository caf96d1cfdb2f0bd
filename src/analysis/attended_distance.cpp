#include "analysis/attended_distance.h"

#include <algorithm>

#include "util/error.h"

namespace lengen::analysis {

std::vector<double> attended_distances(const AttentionCapture& c, const CapturedExample& x) {
  std::vector<double> out;
  const TokenRange q = x.regions.answer;
  for (int l = 0; l < c.n_layers; ++l)
    for (int h = 0; h < c.n_heads; ++h)
      for (int i = q.begin; i < q.end; ++i) {
        const auto row = x.row(l, h, c.n_heads, i);
        const long j = std::max_element(row.begin(), row.end()) - row.begin();
        out.push_back(double(i - j) / double(i + 1));
      }
  return out;
}

std::vector<double> histogram_fractions(const std::vector<double>& values, int bins) {
  if (bins < 1) fail("histogram: {} bins; needs at least 1", bins);
  std::vector<double> f(size_t(bins), 0.0);
  if (values.empty()) return f;
  for (double v : values) {
    const int b = std::clamp(int(v * bins), 0, bins - 1);
    f[size_t(b)] += 1.0;
  }
  for (double& x : f) x /= double(values.size());
  return f;
}

}  // namespace lengen::analysis
