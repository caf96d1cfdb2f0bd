#include <cmath>

#include "kernels/cpu/kernels.h"

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

void rmsnorm_backward(float* dinp, float* dw, const float* dout, const float* inp, const float* w,
                      const float* rstd, int N, int C) {
  // dx = r (w dy) - x r^3 / C * sum(w dy x);   dw += sum_n dy x r
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    const float* x = inp + size_t(n) * C;
    const float* dy = dout + size_t(n) * C;
    float* dx = dinp + size_t(n) * C;
    const float r = rstd[n];
    float dot = 0;
    for (int c = 0; c < C; ++c) dot += w[c] * dy[c] * x[c];
    const float k = dot * r * r * r / C;
    for (int c = 0; c < C; ++c) dx[c] += r * w[c] * dy[c] - k * x[c];
  }
#pragma omp parallel for schedule(static)
  for (int c = 0; c < C; ++c) {
    float acc = 0;
    for (int n = 0; n < N; ++n) acc += dout[size_t(n) * C + c] * inp[size_t(n) * C + c] * rstd[n];
    dw[c] += acc;
  }
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
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
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
    }
  }
#pragma omp parallel for schedule(static)
  for (int c = 0; c < C; ++c) {
    float aw = 0, ab = 0;
    for (int n = 0; n < N; ++n) {
      const float g = dout[size_t(n) * C + c];
      aw += g * (inp[size_t(n) * C + c] - mean[n]) * rstd[n];
      ab += g;
    }
    dw[c] += aw;
    db[c] += ab;
  }
}

}  // namespace lengen::kernels
