#include <cmath>

#include "backend/cpu/kernels.h"
#include "util/rng.h"

namespace lengen::kernels {

void relu_forward(float* out, const float* inp, size_t n) {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) out[i] = inp[i] > 0 ? inp[i] : 0.0f;
}

void relu_backward(float* dinp, const float* dout, const float* inp, size_t n) {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) dinp[i] = inp[i] > 0 ? dout[i] : 0.0f;
}

void gelu_forward(float* out, const float* inp, size_t n) {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) out[i] = 0.5f * inp[i] * (1.0f + std::erf(inp[i] * float(M_SQRT1_2)));
}

void gelu_backward(float* dinp, const float* dout, const float* inp, size_t n) {
  // d/dx x Phi(x) = Phi(x) + x phi(x)
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) {
    const float x = inp[i];
    const float cdf = 0.5f * (1.0f + std::erf(x * float(M_SQRT1_2)));
    const float pdf = std::exp(-0.5f * x * x) * 0.3989422804014327f;
    dinp[i] = dout[i] * (cdf + x * pdf);
  }
}

void swiglu_forward(float* out, const float* gate, const float* up, size_t n) {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) {
    const float g = gate[i];
    out[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate,
                     const float* up, size_t n) {
  // silu(g) = g s(g);  silu'(g) = s(g) (1 + g (1 - s(g)))
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) {
    const float g = gate[i];
    const float s = 1.0f / (1.0f + std::exp(-g));
    dup[i] = dout[i] * g * s;
    dgate[i] = dout[i] * up[i] * s * (1.0f + g * (1.0f - s));
  }
}

namespace {
constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kGeluCubic = 0.044715f;
}  // namespace

void geglu_forward(float* out, const float* gate, const float* up, size_t n) {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) {
    const float g = gate[i];
    const float t = std::tanh(kSqrt2OverPi * (g + kGeluCubic * g * g * g));
    out[i] = 0.5f * g * (1.0f + t) * up[i];
  }
}

void geglu_backward(float* dgate, float* dup, const float* dout, const float* gate,
                    const float* up, size_t n) {
  // gelu_tanh(g) = g (1 + t) / 2 with t = tanh(u), u = c (g + a g^3):
  // d/dg = (1 + t) / 2 + g (1 - t^2) c (1 + 3 a g^2) / 2
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) {
    const float g = gate[i];
    const float t = std::tanh(kSqrt2OverPi * (g + kGeluCubic * g * g * g));
    const float act = 0.5f * g * (1.0f + t);
    const float dact =
        0.5f * (1.0f + t) + 0.5f * g * (1.0f - t * t) * kSqrt2OverPi * (1.0f + 3.0f * kGeluCubic * g * g);
    dup[i] = dout[i] * act;
    dgate[i] = dout[i] * up[i] * dact;
  }
}

bool dropout_keep(uint64_t key, uint64_t i, float p) {
  return uniform01_from_bits(hash_combine(key, i)) >= p;
}

void dropout_forward(float* x, size_t n, float p, uint64_t key) {
  if (p <= 0) return;
  const float scale = 1.0f / (1.0f - p);
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) x[i] = dropout_keep(key, i, p) ? x[i] * scale : 0.0f;
}

void dropout_backward(float* dx, size_t n, float p, uint64_t key) { dropout_forward(dx, n, p, key); }

}  // namespace lengen::kernels
