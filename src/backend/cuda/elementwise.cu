// Row and elementwise kernels of the CUDA backend (ggml/llm.c style: one thread per element,
// grid-stride loops). Shapes as in backend.h: N tokens, C channels, M rows.
#include <cmath>

#include "backend/cuda/cuda_kernels.h"
#include "backend/cuda/device_math.h"
#include "backend/cuda/launch.h"

namespace lengen::cuda {
namespace {

constexpr int kThreads = 256;

#define LENGEN_GRID_STRIDE(i, n) \
  for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); i += size_t(gridDim.x) * blockDim.x)

// out[n, c] = table[tokens[n], c]  (out [N, C])
__global__ void embedding_forward_kernel(float* out, const int32_t* tokens, const float* table, int N, int C) {
  LENGEN_GRID_STRIDE(i, size_t(N) * C) out[i] = table[size_t(tokens[i / C]) * C + i % C];
}

// dtable[ids[n], c] += d[n, c] for every n in order: one thread per column c (equal ids in
// different rows never race, and the sum's order is the CPU's).
__global__ void rows_accumulate_kernel(float* dtable, const int32_t* ids, const float* d, int N, int C,
                                       int frozen_row) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  for (int n = 0; n < N; ++n) {
    const int id = ids[n];
    if (id != frozen_row) dtable[size_t(id) * C + c] += d[size_t(n) * C + c];
  }
}

// x[n, c] += table[ids[n], c]
__global__ void table_add_kernel(float* x, const float* table, const int32_t* ids, int N, int C) {
  LENGEN_GRID_STRIDE(i, size_t(N) * C) x[i] += table[size_t(ids[i / C]) * C + i % C];
}

__global__ void add_row_kernel(float* x, const float* row, int N, int C) {
  LENGEN_GRID_STRIDE(i, size_t(N) * C) x[i] += row[i % C];
}

__global__ void sum_rows_kernel(float* drow, const float* dx, int N, int C) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  float s = 0.0f;
  for (int n = 0; n < N; ++n) s += dx[size_t(n) * C + c];
  drow[c] += s;
}

__global__ void add_kernel(float* out, const float* a, const float* b, size_t n) {
  LENGEN_GRID_STRIDE(i, n) out[i] = a[i] + b[i];
}

// out[m, c] = scale * in[rows[m], c]  (out [M, C])
__global__ void gather_rows_kernel(float* out, const float* in, const int32_t* rows, int M, int C, float scale) {
  LENGEN_GRID_STRIDE(i, size_t(M) * C) out[i] = in[size_t(rows[i / C]) * C + i % C] * scale;
}

// out[rows[m], c] += scale * in[m, c], m in order (rows may repeat): one thread per column.
__global__ void scatter_add_rows_kernel(float* out, const float* in, const int32_t* rows, int M, int C,
                                        float scale) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  for (int m = 0; m < M; ++m) out[size_t(rows[m]) * C + c] += scale * in[size_t(m) * C + c];
}

// cache[b * capacity + at[b] + q, c] = src[b * Q + q, c]
__global__ void kv_append_kernel(float* cache, const float* src, const int32_t* at, int B, int Q, int C,
                                 int capacity) {
  LENGEN_GRID_STRIDE(i, size_t(B) * Q * C) {
    const size_t c = i % C, row = i / C;
    const int b = int(row / Q), q = int(row % Q);
    cache[(size_t(b) * capacity + size_t(at[b]) + q) * C + c] = src[i];
  }
}

// x[t, h * dh + pair] rotated by sign * angle (t, i); then scaled by uniform_scale. One thread
// per (token, head, pair); the uniform scale of the unrotated values by a second loop.
__global__ void rotate_kernel(float* x, int n, int ld, RotationArgs r, float sign) {
  const size_t total = size_t(n) * r.H * r.half;
  LENGEN_GRID_STRIDE(e, total) {
    const int i = int(e % r.half);
    const size_t th = e / r.half;
    const int h = int(th % r.H);
    const size_t t = th / r.H;
    const size_t at = t * r.half + i;
    const float cs = r.cos[at], si = sign * r.sin[at], s = r.pair_scale ? r.pair_scale[at] : 1.0f;
    float* xh = x + t * ld + size_t(h) * r.dh;
    const int p = r.interleaved ? 2 * i : i, q = r.interleaved ? 2 * i + 1 : i + r.half;
    const float xa = xh[p], xb = xh[q];
    xh[p] = s * (xa * cs - xb * si) * r.uniform_scale;
    xh[q] = s * (xa * si + xb * cs) * r.uniform_scale;
  }
}

// Values of a token outside every rotated pair (partial rotary) only get the uniform scale.
__global__ void scale_unrotated_kernel(float* x, int n, int ld, RotationArgs r) {
  const int width = r.dh - 2 * r.half;
  LENGEN_GRID_STRIDE(e, size_t(n) * r.H * width) {
    const int k = int(e % width);
    const size_t th = e / width;
    const int h = int(th % r.H);
    const size_t t = th / r.H;
    x[t * ld + size_t(h) * r.dh + 2 * r.half + k] *= r.uniform_scale;
  }
}

__device__ __forceinline__ float gelu_cdf(float x) { return 0.5f * (1.0f + erff(x * 0.70710678118654752f)); }

__global__ void activation_forward_kernel(bool relu, float* out, const float* inp, size_t n) {
  LENGEN_GRID_STRIDE(i, n) {
    const float x = inp[i];
    out[i] = relu ? (x > 0 ? x : 0.0f) : x * gelu_cdf(x);
  }
}

__global__ void activation_backward_kernel(bool relu, float* dinp, const float* dout, const float* inp,
                                           size_t n) {
  LENGEN_GRID_STRIDE(i, n) {
    const float x = inp[i];
    if (relu) {
      dinp[i] = x > 0 ? dout[i] : 0.0f;
    } else {  // d/dx x Phi(x) = Phi(x) + x phi(x)
      const float pdf = expf(-0.5f * x * x) * 0.3989422804014327f;
      dinp[i] = dout[i] * (gelu_cdf(x) + x * pdf);
    }
  }
}

__global__ void swiglu_forward_kernel(float* out, const float* gate, const float* up, size_t n) {
  LENGEN_GRID_STRIDE(i, n) {
    const float g = gate[i];
    out[i] = g / (1.0f + expf(-g)) * up[i];
  }
}

__global__ void swiglu_backward_kernel(float* dgate, float* dup, const float* dout, const float* gate,
                                       const float* up, size_t n) {
  LENGEN_GRID_STRIDE(i, n) {  // silu'(g) = s(g) (1 + g (1 - s(g)))
    const float g = gate[i], s = 1.0f / (1.0f + expf(-g));
    dup[i] = dout[i] * g * s;
    dgate[i] = dout[i] * up[i] * s * (1.0f + g * (1.0f - s));
  }
}

// T5's gated-gelu: gelu_tanh(g) = g (1 + t) / 2, t = tanh(c (g + a g^3)) (the CPU kernel's math).
__device__ inline float gelu_tanh_inner(float g) { return 0.7978845608028654f * (g + 0.044715f * g * g * g); }

__global__ void geglu_forward_kernel(float* out, const float* gate, const float* up, size_t n) {
  LENGEN_GRID_STRIDE(i, n) {
    const float g = gate[i], t = tanhf(gelu_tanh_inner(g));
    out[i] = 0.5f * g * (1.0f + t) * up[i];
  }
}

__global__ void geglu_backward_kernel(float* dgate, float* dup, const float* dout, const float* gate,
                                      const float* up, size_t n) {
  LENGEN_GRID_STRIDE(i, n) {
    const float g = gate[i], t = tanhf(gelu_tanh_inner(g));
    const float dact = 0.5f * (1.0f + t) +
                       0.5f * g * (1.0f - t * t) * 0.7978845608028654f * (1.0f + 3.0f * 0.044715f * g * g);
    dup[i] = dout[i] * 0.5f * g * (1.0f + t);
    dgate[i] = dout[i] * up[i] * dact;
  }
}

__global__ void dropout_kernel(float* x, size_t n, float p, float keep_scale, uint64_t key) {
  LENGEN_GRID_STRIDE(i, n) x[i] = dropout_keep(key, i, p) ? x[i] * keep_scale : 0.0f;
}

// AdamW with decoupled decay (PyTorch's order), the CPU's float arithmetic.
__global__ void adamw_kernel(float* param, const float* grad, float* m, float* v, size_t n, float beta1,
                             float beta2, float eps, float step_size, float bc2_sqrt, float shrink) {
  LENGEN_GRID_STRIDE(i, n) {
    const float g = grad[i];
    const float mi = beta1 * m[i] + (1.0f - beta1) * g;
    const float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
    m[i] = mi, v[i] = vi;
    const float denom = sqrtf(vi) / bc2_sqrt + eps;
    param[i] = param[i] * shrink - step_size * mi / denom;
  }
}

__global__ void scale_kernel(float* x, size_t n, float s) {
  LENGEN_GRID_STRIDE(i, n) x[i] *= s;
}

int blocks(size_t n) { return elementwise_blocks(n, kThreads); }
int column_blocks(int C) { return (C + kThreads - 1) / kThreads; }

}  // namespace

void embedding_forward(cudaStream_t s, float* out, const int32_t* tokens, const float* table, int N, int C) {
  embedding_forward_kernel<<<blocks(size_t(N) * C), kThreads, 0, s>>>(out, tokens, table, N, C);
}

void rows_accumulate(cudaStream_t s, float* dtable, const int32_t* ids, const float* d, int N, int C,
                     int frozen_row) {
  if (C > 0) rows_accumulate_kernel<<<column_blocks(C), kThreads, 0, s>>>(dtable, ids, d, N, C, frozen_row);
}

void table_add_forward(cudaStream_t s, float* x, const float* table, const int32_t* ids, int N, int C) {
  table_add_kernel<<<blocks(size_t(N) * C), kThreads, 0, s>>>(x, table, ids, N, C);
}

void add_row_forward(cudaStream_t s, float* x, const float* row, int N, int C) {
  add_row_kernel<<<blocks(size_t(N) * C), kThreads, 0, s>>>(x, row, N, C);
}

void add_row_backward(cudaStream_t s, float* drow, const float* dx, int N, int C) {
  if (C > 0) sum_rows_kernel<<<column_blocks(C), kThreads, 0, s>>>(drow, dx, N, C);
}

void add(cudaStream_t s, float* out, const float* a, const float* b, size_t n) {
  add_kernel<<<blocks(n), kThreads, 0, s>>>(out, a, b, n);
}

void gather_rows(cudaStream_t s, float* out, const float* in, const int32_t* rows, int M, int C, float scale) {
  gather_rows_kernel<<<blocks(size_t(M) * C), kThreads, 0, s>>>(out, in, rows, M, C, scale);
}

void scatter_add_rows(cudaStream_t s, float* out, const float* in, const int32_t* rows, int M, int C,
                      float scale) {
  if (C > 0) scatter_add_rows_kernel<<<column_blocks(C), kThreads, 0, s>>>(out, in, rows, M, C, scale);
}

void kv_append(cudaStream_t s, float* cache, const float* src, const int32_t* at, int B, int Q, int C,
               int capacity) {
  kv_append_kernel<<<blocks(size_t(B) * Q * C), kThreads, 0, s>>>(cache, src, at, B, Q, C, capacity);
}

void rotate(cudaStream_t s, float* x, int n, int ld, const RotationArgs& r, float sign) {
  if (n <= 0) return;
  if (r.half > 0) rotate_kernel<<<blocks(size_t(n) * r.H * r.half), kThreads, 0, s>>>(x, n, ld, r, sign);
  if (r.uniform_scale != 1.0f && r.dh > 2 * r.half)
    scale_unrotated_kernel<<<blocks(size_t(n) * r.H * (r.dh - 2 * r.half)), kThreads, 0, s>>>(x, n, ld, r);
}

void activation_forward(cudaStream_t s, ActivationKind kind, float* out, const float* inp, size_t n) {
  activation_forward_kernel<<<blocks(n), kThreads, 0, s>>>(kind == ActivationKind::Relu, out, inp, n);
}

void activation_backward(cudaStream_t s, ActivationKind kind, float* dinp, const float* dout,
                         const float* inp, size_t n) {
  activation_backward_kernel<<<blocks(n), kThreads, 0, s>>>(kind == ActivationKind::Relu, dinp, dout, inp, n);
}

void swiglu_forward(cudaStream_t s, float* out, const float* gate, const float* up, size_t n) {
  swiglu_forward_kernel<<<blocks(n), kThreads, 0, s>>>(out, gate, up, n);
}

void swiglu_backward(cudaStream_t s, float* dgate, float* dup, const float* dout, const float* gate,
                     const float* up, size_t n) {
  swiglu_backward_kernel<<<blocks(n), kThreads, 0, s>>>(dgate, dup, dout, gate, up, n);
}

void geglu_forward(cudaStream_t s, float* out, const float* gate, const float* up, size_t n) {
  geglu_forward_kernel<<<blocks(n), kThreads, 0, s>>>(out, gate, up, n);
}

void geglu_backward(cudaStream_t s, float* dgate, float* dup, const float* dout, const float* gate,
                    const float* up, size_t n) {
  geglu_backward_kernel<<<blocks(n), kThreads, 0, s>>>(dgate, dup, dout, gate, up, n);
}

void dropout(cudaStream_t s, float* x, size_t n, float p, uint64_t key) {
  if (p <= 0 || n == 0) return;
  dropout_kernel<<<blocks(n), kThreads, 0, s>>>(x, n, p, 1.0f / (1.0f - p), key);
}

void adamw_update(cudaStream_t s, float* param, const float* grad, float* m, float* v, size_t n,
                  const AdamWStep& p, bool decay) {
  if (n == 0) return;
  // The scalars exactly as the CPU computes them (cpu/optim.cpp).
  const float bc1 = 1.0f - float(std::pow(double(p.beta1), double(p.step)));
  const float bc2 = 1.0f - float(std::pow(double(p.beta2), double(p.step)));
  const float shrink = decay ? 1.0f - p.lr * p.weight_decay : 1.0f;
  adamw_kernel<<<blocks(n), kThreads, 0, s>>>(param, grad, m, v, n, p.beta1, p.beta2, p.eps, p.lr / bc1,
                                              std::sqrt(bc2), shrink);
}

void scale(cudaStream_t s, float* x, size_t n, float factor) {
  if (n) scale_kernel<<<blocks(n), kThreads, 0, s>>>(x, n, factor);
}

}  // namespace lengen::cuda
