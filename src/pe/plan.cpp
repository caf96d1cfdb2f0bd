#include "pe/plan.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "pe/plan_util.h"
#include "util/error.h"

namespace lengen {

const char* stream_name(Stream s) {
  switch (s) {
    case Stream::Position: return "position";
    case Stream::DigitPlace: return "digit-place";
    case Stream::Segment: return "segment";
    case Stream::IntraSegment: return "intra-segment";
  }
  return "?";
}

StreamRange stream_range(const PositionView& v, Stream s) {
  // Exact over the causal pairs: query t of a row sees keys 0..t, so its distances run from
  // its value minus the largest key value so far to its value minus the smallest.
  int64_t dmin = std::numeric_limits<int64_t>::max(), dmax = std::numeric_limits<int64_t>::min();
  int64_t qmin = dmin, qmax = dmax;
  for (int b = 0; b < v.B; ++b) {
    const int past = v.past_of(b);
    int64_t kmin = std::numeric_limits<int64_t>::max(), kmax = std::numeric_limits<int64_t>::min();
    for (int t = 0; t < past + v.Q; ++t) {
      const int64_t x = v.key(s, b, t);
      kmin = std::min(kmin, x), kmax = std::max(kmax, x);
      if (t < past) continue;
      dmin = std::min(dmin, x - kmax), dmax = std::max(dmax, x - kmin);
      qmin = std::min(qmin, x), qmax = std::max(qmax, x);
    }
  }
  if (dmax < dmin) return {};  // no tokens
  constexpr int64_t kLimit = int64_t(1) << 30;  // stream values are checked to lie within it
  if (dmin < -kLimit || dmax > kLimit) fail("{} distances beyond +-2^30", stream_name(s));
  return {int(dmin), int(dmax), int(qmin), int(qmax)};
}

void plan_input_rows(const PositionView& v, Stream s, InputPlan& out) {
  out.active = true;
  out.ids.resize(size_t(v.B) * v.Q);
  for (int b = 0; b < v.B; ++b)
    for (int a = 0; a < v.Q; ++a) out.ids[size_t(b) * v.Q + a] = v.query(s, b, a);
}

void plan_rotation(const PositionView& v, Stream s, const std::vector<float>& inv_freq,
                   bool interleaved, RotationPlan& out) {
  const int half = int(inv_freq.size());
  out.active = true;
  out.half = half;
  out.interleaved = interleaved;
  out.cos.resize(size_t(v.B) * v.Q * half);
  out.sin.resize(out.cos.size());
  for (int b = 0; b < v.B; ++b)
    for (int a = 0; a < v.Q; ++a) {
      const size_t o = (size_t(b) * v.Q + a) * half;
      const float p = float(v.query(s, b, a));
      for (int i = 0; i < half; ++i) {
        // float32 angle, as HF computes it; cos/sin evaluated in double.
        const float angle = p * inv_freq[i];
        out.cos[o + i] = float(std::cos(double(angle)));
        out.sin[o + i] = float(std::sin(double(angle)));
      }
    }
}

int plan_distance_columns(const PositionView& v, Stream s, int H, BiasPlan& out) {
  const StreamRange r = stream_range(v, s);
  const int cols = r.dmax - r.dmin + 1;
  out.active = true;
  out.stream = s;
  out.dmin = r.dmin, out.dmax = r.dmax;
  out.col_of.resize(size_t(cols));
  for (int c = 0; c < cols; ++c) out.col_of[size_t(c)] = c;
  out.h_stride = cols, out.r_stride = 0, out.c_stride = 1;
  out.extent = int64_t(H) * cols;
  out.values.assign(size_t(out.extent), 0.0f);
  return cols;
}

}  // namespace lengen
