#include "kernels/cpu/attention_cached.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>

namespace lengen::kernels {

void attention_cached_forward(float* out, const float* q, const float* k, const float* v,
                              const float* bias, int Q, int past, int dh, int ld, float scale,
                              float* scratch) {
  const int n = past + Q;
  float* S = scratch;  // [Q, n]
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Q, n, dh, scale, q, ld, k, ld, 0.0f, S, n);
  for (int a = 0; a < Q; ++a) {
    float* row = S + size_t(a) * n;
    const int last = past + a;  // causal: keys 0..last
    if (bias)
      for (int j = 0; j <= last; ++j) row[j] += bias[size_t(a) * n + j];
    float mx = row[0];
    for (int j = 1; j <= last; ++j) mx = std::max(mx, row[j]);
    float sum = 0;
    for (int j = 0; j <= last; ++j) sum += (row[j] = std::exp(row[j] - mx));
    const float inv = 1.0f / sum;
    for (int j = 0; j <= last; ++j) row[j] *= inv;
    for (int j = last + 1; j < n; ++j) row[j] = 0.0f;
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Q, dh, n, 1.0f, S, n, v, ld, 0.0f, out,
              ld);
}

}  // namespace lengen::kernels
