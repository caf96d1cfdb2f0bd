// out[N,O] = inp[N,I] W[O,I]^T for a few rows (decoding: one token per sequence). sgemm with
// M <= 8 packs the weights on every call and runs at a fraction of the memory bandwidth; this
// kernel reads each weight row once, straight from memory, and keeps the N input rows in
// cache. Two outputs per pass share the input loads. Each output is one thread's fixed-order
// sum (16 lane partial sums, then a fixed pairwise reduction), so the result is independent of
// the thread count and of which thread ran it; chunks are handed out dynamically, so a thread
// slowed by a busy core does not hold up the others.
#include <algorithm>

#include "backend/cpu/kernels.h"

namespace lengen::kernels {
namespace {

constexpr int kLanes = 16;  // one AVX-512 register of floats; narrower units split it
constexpr int kOutputsPerChunk = 32;

float lane_sum(const float* a) {
  float t[8];
  for (int l = 0; l < 8; ++l) t[l] = a[l] + a[l + 8];
  for (int l = 0; l < 4; ++l) t[l] += t[l + 4];
  return (t[0] + t[2]) + (t[1] + t[3]);
}

// Outputs o0..o1-1 of R rows.
template <int R>
void few_rows_block(float* out, const float* inp, const float* W, int I, int O, int o0, int o1) {
  const int full = I / kLanes * kLanes;
  for (int o = o0; o < o1; o += 2) {
    const bool pair = o + 1 < o1;
    const float* w0 = W + size_t(o) * size_t(I);
    const float* w1 = W + size_t(o + pair) * size_t(I);
    alignas(64) float a0[R][kLanes] = {}, a1[R][kLanes] = {};
    for (int i = 0; i < full; i += kLanes)
      for (int r = 0; r < R; ++r) {
        const float* x = inp + size_t(r) * size_t(I) + i;
#pragma omp simd
        for (int l = 0; l < kLanes; ++l) {
          a0[r][l] += x[l] * w0[i + l];
          a1[r][l] += x[l] * w1[i + l];
        }
      }
    for (int i = full; i < I; ++i)
      for (int r = 0; r < R; ++r) {
        const float x = inp[size_t(r) * size_t(I) + i];
        a0[r][i - full] += x * w0[i];
        a1[r][i - full] += x * w1[i];
      }
    for (int r = 0; r < R; ++r) {
      out[size_t(r) * size_t(O) + o] = lane_sum(a0[r]);
      if (pair) out[size_t(r) * size_t(O) + o + 1] = lane_sum(a1[r]);
    }
  }
}

template <int R>
void few_rows_all(float* out, const float* inp, const float* W, int I, int O) {
  const int chunks = (O + kOutputsPerChunk - 1) / kOutputsPerChunk;
#pragma omp parallel for schedule(dynamic, 1)
  for (int c = 0; c < chunks; ++c)
    few_rows_block<R>(out, inp, W, I, O, c * kOutputsPerChunk,
                      std::min(O, (c + 1) * kOutputsPerChunk));
}

}  // namespace

void linear_forward_few_rows(float* out, const float* inp, const float* W, int N, int I, int O) {
  switch (N) {
    case 1: return few_rows_all<1>(out, inp, W, I, O);
    case 2: return few_rows_all<2>(out, inp, W, I, O);
    case 3: return few_rows_all<3>(out, inp, W, I, O);
    case 4: return few_rows_all<4>(out, inp, W, I, O);
    case 5: return few_rows_all<5>(out, inp, W, I, O);
    case 6: return few_rows_all<6>(out, inp, W, I, O);
    case 7: return few_rows_all<7>(out, inp, W, I, O);
    case 8: return few_rows_all<8>(out, inp, W, I, O);
    default: break;
  }
  // More rows: blocks of 8 (callers use sgemm there; kept total for direct use and tests).
  for (int r = 0; r < N; r += kFewRows)
    linear_forward_few_rows(out + size_t(r) * size_t(O), inp + size_t(r) * size_t(I), W,
                            std::min(kFewRows, N - r), I, O);
}

}  // namespace lengen::kernels
