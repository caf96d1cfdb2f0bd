#include <omp.h>

#include <cmath>
#include <vector>

#include "backend/cpu/kernels.h"

namespace lengen::kernels {

void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* w, int N, int C,
                     float eps) {
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    const float* x = inp + size_t(n) * C;
    float* o = out + size_t(n) * C;
    float ss = 0;
    for (int c = 0; c < C; ++c) ss += x[c] * x[c];
    const float r = 1.0f / std::sqrt(ss / C + eps);
    for (int c = 0; c < C; ++c) o[c] = x[c] * r * w[c];
    rstd[n] = r;
  }
}

// Runs row_fn(n, dw_part, db_part) for every row n, each thread over one contiguous block of
// rows with its own zeroed partial sums of the parameter gradients; the partials are then
// added into dw (and db) in thread order, so results depend only on the thread count. One
// pass over the rows, reading them contiguously (a per-column loop would stride by C).
template <class RowFn>
void rows_with_param_grads(int N, int C, float* dw, float* db, RowFn row_fn) {
  const int nt = omp_get_max_threads();
  std::vector<float> partial(size_t(nt) * 2 * C, 0.0f);
#pragma omp parallel num_threads(nt)
  {
    const int id = omp_get_thread_num(), n_threads = omp_get_num_threads();
    float* pw = partial.data() + size_t(id) * 2 * C;
    const int n0 = int(int64_t(N) * id / n_threads), n1 = int(int64_t(N) * (id + 1) / n_threads);
    for (int n = n0; n < n1; ++n) row_fn(n, pw, pw + C);
  }
  for (int t = 0; t < nt; ++t) {
    const float* pw = partial.data() + size_t(t) * 2 * C;
    for (int c = 0; c < C; ++c) dw[c] += pw[c];
    if (db)
      for (int c = 0; c < C; ++c) db[c] += pw[C + c];
  }
}

void rmsnorm_backward(float* dinp, float* dw, const float* dout, const float* inp, const float* w,
                      const float* rstd, int N, int C) {
  // dx = r (w dy) - x r^3 / C * sum(w dy x);   dw += sum_n dy x r
  rows_with_param_grads(N, C, dw, nullptr, [&](int n, float* pw, float*) {
    const float* x = inp + size_t(n) * C;
    const float* dy = dout + size_t(n) * C;
    float* dx = dinp + size_t(n) * C;
    const float r = rstd[n];
    float dot = 0;
    for (int c = 0; c < C; ++c) dot += w[c] * dy[c] * x[c];
    const float k = dot * r * r * r / C;
    for (int c = 0; c < C; ++c) {
      dx[c] += r * w[c] * dy[c] - k * x[c];
      pw[c] += dy[c] * x[c] * r;
    }
  });
}

void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* w,
                       const float* b, int N, int C, float eps) {
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    const float* x = inp + size_t(n) * C;
    float* o = out + size_t(n) * C;
    float m = 0;
    for (int c = 0; c < C; ++c) m += x[c];
    m /= C;
    float var = 0;
    for (int c = 0; c < C; ++c) var += (x[c] - m) * (x[c] - m);
    const float r = 1.0f / std::sqrt(var / C + eps);
    for (int c = 0; c < C; ++c) o[c] = (x[c] - m) * r * w[c] + b[c];
    mean[n] = m;
    rstd[n] = r;
  }
}

void layernorm_backward(float* dinp, float* dw, float* db, const float* dout, const float* inp,
                        const float* w, const float* mean, const float* rstd, int N, int C) {
  // xhat = (x - m) r;  dxhat = dy w;  dx = r (dxhat - mean(dxhat) - xhat mean(dxhat xhat))
  rows_with_param_grads(N, C, dw, db, [&](int n, float* pw, float* pb) {
    const float* x = inp + size_t(n) * C;
    const float* dy = dout + size_t(n) * C;
    float* dx = dinp + size_t(n) * C;
    const float m = mean[n], r = rstd[n];
    float s1 = 0, s2 = 0;
    for (int c = 0; c < C; ++c) {
      const float g = dy[c] * w[c];
      s1 += g;
      s2 += g * (x[c] - m) * r;
    }
    s1 /= C;
    s2 /= C;
    for (int c = 0; c < C; ++c) {
      const float xhat = (x[c] - m) * r;
      dx[c] += r * (dy[c] * w[c] - s1 - xhat * s2);
      pw[c] += dy[c] * xhat;
      pb[c] += dy[c];
    }
  });
}

}  // namespace lengen::kernels
