// Row operations of the engine: residual adds, table rows added to tokens (input encodings),
// the head's row gather/scatter, KV-cache appends, and the rotation of query/key pairs.
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "backend/cpu/kernels.h"

namespace lengen::kernels {

void table_add_forward(float* x, const float* table, const int32_t* ids, int N, int C) {
#pragma omp parallel for schedule(static)
  for (int t = 0; t < N; ++t) {
    const float* row = table + size_t(ids[t]) * C;
    float* out = x + size_t(t) * C;
    for (int c = 0; c < C; ++c) out[c] += row[c];
  }
}

void table_add_backward(float* dtable, const int32_t* ids, const float* dx, int N, int C,
                        int frozen_row) {
  // Parallel over columns: tokens with equal ids never race.
#pragma omp parallel for schedule(static)
  for (int c = 0; c < C; ++c)
    for (int t = 0; t < N; ++t)
      if (ids[t] != frozen_row) dtable[size_t(ids[t]) * C + c] += dx[size_t(t) * C + c];
}

void add_row_forward(float* x, const float* row, int N, int C) {
#pragma omp parallel for schedule(static)
  for (int t = 0; t < N; ++t)
    for (int c = 0; c < C; ++c) x[size_t(t) * C + c] += row[c];
}

void add_row_backward(float* drow, const float* dx, int N, int C) {
#pragma omp parallel for schedule(static)
  for (int c = 0; c < C; ++c) {
    float s = 0.0f;  // tokens in order: independent of the thread count
    for (int t = 0; t < N; ++t) s += dx[size_t(t) * C + c];
    drow[c] += s;
  }
}

void add(float* out, const float* a, const float* b, size_t n) {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

void gather_rows(float* out, const float* in, const int32_t* rows, int M, int C, float scale) {
#pragma omp parallel for schedule(static)
  for (int m = 0; m < M; ++m) {
    const float* src = in + size_t(rows[m]) * C;
    float* dst = out + size_t(m) * C;
    for (int c = 0; c < C; ++c) dst[c] = src[c] * scale;
  }
}

void scatter_add_rows(float* out, const float* in, const int32_t* rows, int M, int C,
                      float scale) {
  // Sequential over m: rows may repeat, and the order of the sums stays fixed.
  for (int m = 0; m < M; ++m) {
    float* dst = out + size_t(rows[m]) * C;
    const float* src = in + size_t(m) * C;
    for (int c = 0; c < C; ++c) dst[c] += scale * src[c];
  }
}

void kv_append(float* cache, const float* src, const int32_t* at, int B, int Q, int C,
               int capacity) {
  for (int b = 0; b < B; ++b)
    std::memcpy(cache + (size_t(b) * capacity + size_t(at[b])) * C, src + size_t(b) * Q * C,
                sizeof(float) * size_t(Q) * C);
}

void rotate(float* x, int n, int ld, const RotationArgs& r, float sign) {
  const int half = r.half;
#pragma omp parallel for schedule(static)
  for (int t = 0; t < n; ++t) {
    const float* cs = r.cos + size_t(t) * half;
    const float* sn = r.sin + size_t(t) * half;
    const float* scale = r.pair_scale ? r.pair_scale + size_t(t) * half : nullptr;
    float* v = x + size_t(t) * ld;
    for (int h = 0; h < r.H; ++h) {
      float* xh = v + size_t(h) * r.dh;
      for (int i = 0; i < half; ++i) {
        const int p = r.interleaved ? 2 * i : i;
        const int q = r.interleaved ? 2 * i + 1 : i + half;
        const float s = scale ? scale[i] : 1.0f, si = sign * sn[i];
        const float xa = xh[p], xb = xh[q];
        xh[p] = s * (xa * cs[i] - xb * si);
        xh[q] = s * (xa * si + xb * cs[i]);
      }
    }
    if (r.uniform_scale != 1.0f)
      for (int d = 0; d < r.H * r.dh; ++d) v[d] *= r.uniform_scale;
  }
}

}  // namespace lengen::kernels
