#include <cmath>
#include <vector>

#include "backend/cpu/kernels.h"

namespace lengen::kernels {

void adamw_update(float* param, const float* grad, float* m, float* v, size_t n,
                  const AdamWStep& p, bool decay) {
  const float bc1 = 1.0f - float(std::pow(double(p.beta1), double(p.step)));
  const float bc2 = 1.0f - float(std::pow(double(p.beta2), double(p.step)));
  const float step_size = p.lr / bc1;
  const float bc2_sqrt = std::sqrt(bc2);
  // PyTorch's order: decay first (param *= 1 - lr wd), then the Adam update.
  const float shrink = decay ? 1.0f - p.lr * p.weight_decay : 1.0f;
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) {
    const float g = grad[i];
    m[i] = p.beta1 * m[i] + (1.0f - p.beta1) * g;
    v[i] = p.beta2 * v[i] + (1.0f - p.beta2) * g * g;
    const float denom = std::sqrt(v[i]) / bc2_sqrt + p.eps;
    param[i] = param[i] * shrink - step_size * m[i] / denom;
  }
}

double sum_squares(const float* x, size_t n) {
  constexpr size_t kChunk = 4096;  // fixed chunking: the sum does not depend on thread count
  const size_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> partial(chunks);
#pragma omp parallel for schedule(static)
  for (size_t c = 0; c < chunks; ++c) {
    double s = 0;
    const size_t end = std::min(n, (c + 1) * kChunk);
    for (size_t i = c * kChunk; i < end; ++i) s += double(x[i]) * x[i];
    partial[c] = s;
  }
  double total = 0;
  for (double s : partial) total += s;
  return total;
}

void scale_inplace(float* x, size_t n, float s) {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) x[i] *= s;
}

}  // namespace lengen::kernels
