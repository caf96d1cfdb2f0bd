// Arithmetic shared by the CUDA kernels and the host (compiled by nvcc for the device and by
// the C++ compiler for the host tests): the dropout decision (util/rng.h's counter-based
// stream, itself compiled for both), the score-bias index (backend.h ScoreBias, as the CPU's
// BiasRow), and the fixed-point encoding that makes the bias gradient's accumulation
// order-independent.
#pragma once
#include <cstdint>

#include "backend/backend.h"
#include "util/rng.h"

#if defined(__CUDACC__)
#define LENGEN_HD __host__ __device__ __forceinline__
#else
#define LENGEN_HD inline
#endif

namespace lengen::cuda {

// The CPU's kernels::dropout_keep: element i of stream `key` survives iff its 24-bit uniform
// draw is >= p.
LENGEN_HD bool dropout_keep(uint64_t key, uint64_t i, float p) {
  return uniform01_from_bits(hash_combine(key, i)) >= p;
}

// The dropout stream of attention pair (b, h): the CPU's pair_key.
LENGEN_HD uint64_t attention_pair_key(uint64_t key, int b, int h, int H) {
  return hash_combine(key, uint64_t(b) * uint64_t(H) + uint64_t(h));
}

LENGEN_HD int64_t clamp64(int64_t x, int64_t lo, int64_t hi) { return x < lo ? lo : (x > hi ? hi : x); }

// Entry of s.values read by query `query` (b * Q + a, stream value qp) of head h: the base of
// its row.
LENGEN_HD int64_t bias_row_base(const ScoreBias& s, int h, int32_t qp, int64_t query) {
  int64_t row = 0;
  if (s.row_of) row = s.row_of[clamp64(qp, s.qmin, s.qmax) - s.qmin];
  return int64_t(h) * s.h_stride + row * s.r_stride + query * s.q_stride;
}
// ... and the entry for key stream value kp.
LENGEN_HD int64_t bias_index(const ScoreBias& s, int64_t row_base, int32_t qp, int32_t kp) {
  const int64_t d = clamp64(int64_t(qp) - kp, s.dmin, s.dmax);
  return row_base + int64_t(s.col_of[d - s.dmin]) * s.c_stride;
}

// exp(x) for x <= 0, flushed to 0 below -40 (the CPU's exp_nonpositive).
LENGEN_HD float exp_nonpositive(float x) {
#if defined(__CUDA_ARCH__)
  return x < -40.0f ? 0.0f : expf(x);
#else
  return x < -40.0f ? 0.0f : __builtin_expf(x);
#endif
}

// Bias gradients are summed as 64-bit fixed-point integers (2^-32 resolution, range about
// +-2^31 per entry): integer addition is associative, so the result does not depend on the
// order in which the GPU's threads add their terms (no float atomics). Each term is rounded
// to the nearest multiple of 2^-32 (error <= 1.2e-10 per term).
constexpr double kFixedScale = 4294967296.0;  // 2^32
LENGEN_HD long long to_fixed(float x) {
  const double y = double(x) * kFixedScale;
  const double lim = 9.2e18;  // saturate instead of overflowing the conversion
  const double c = y > lim ? lim : (y < -lim ? -lim : y);
  return (long long)(c < 0 ? c - 0.5 : c + 0.5);
}
LENGEN_HD float from_fixed(long long q) { return float(double(q) / kFixedScale); }

}  // namespace lengen::cuda
