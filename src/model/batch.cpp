#include "model/batch.h"

#include <algorithm>

#include "util/error.h"

namespace lengen {

Batch make_batch(const std::vector<std::vector<int32_t>>& rows, int pad_id,
                 const std::vector<int>& loss_from) {
  Batch b;
  b.B = int(rows.size());
  for (const auto& r : rows) b.T = std::max(b.T, int(r.size()));
  if (b.B == 0 || b.T == 0) fail("make_batch: empty batch");
  const size_t N = size_t(b.B) * b.T;
  b.tokens.assign(N, pad_id);
  b.targets.assign(N, pad_id);
  b.weights.assign(N, 0.0f);
  b.pos.resize(N);
  b.lengths.resize(b.B);
  size_t counted = 0;
  for (int r = 0; r < b.B; ++r) {
    const auto& row = rows[r];
    const int from = loss_from.empty() ? 0 : loss_from[r];
    b.lengths[r] = int(row.size());
    for (int t = 0; t < b.T; ++t) {
      const size_t n = size_t(r) * b.T + t;
      b.pos[n] = t;
      if (t < int(row.size())) b.tokens[n] = row[t];
      if (t + 1 < int(row.size())) {
        b.targets[n] = row[t + 1];
        if (t + 1 > from) {
          b.weights[n] = 1.0f;
          ++counted;
        }
      }
    }
  }
  if (counted > 0)
    for (float& w : b.weights) w = w > 0 ? 1.0f / float(counted) : 0.0f;
  return b;
}

}  // namespace lengen
