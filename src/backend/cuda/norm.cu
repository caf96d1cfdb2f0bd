// Row reductions of the CUDA backend: RMSNorm/LayerNorm, the fused softmax cross-entropy,
// log-softmax and sums of squares. One block per row; every sum has a fixed shape (per-thread
// strided sums, then a shuffle butterfly and the warps in order), so results are deterministic.
#include <cfloat>

#include "backend/cuda/cuda_kernels.h"
#include "backend/cuda/launch.h"

namespace lengen::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;

// Sum (or max) over the block; every thread gets the same value. `shared`: kWarps entries.
template <typename T, bool kMax = false>
__device__ T block_reduce(T v, T* shared) {
  for (int o = 16; o > 0; o >>= 1) {
    const T other = __shfl_xor_sync(0xffffffffu, v, o);
    v = kMax ? (other > v ? other : v) : v + other;
  }
  if (threadIdx.x % 32 == 0) shared[threadIdx.x / 32] = v;
  __syncthreads();
  T total = shared[0];
  for (int w = 1; w < kWarps; ++w) total = kMax ? (shared[w] > total ? shared[w] : total) : total + shared[w];
  __syncthreads();  // shared is reused by the next reduction
  return total;
}

// out[n] = inp[n] * rstd * w (rstd = 1 / sqrt(mean(x^2) + eps)), one block per row
__global__ void rmsnorm_forward_kernel(float* out, float* rstd, const float* inp, const float* w, int C,
                                       float eps) {
  __shared__ float red[kWarps];
  const float* x = inp + size_t(blockIdx.x) * C;
  float* o = out + size_t(blockIdx.x) * C;
  float ss = 0;
  for (int c = threadIdx.x; c < C; c += kThreads) ss += x[c] * x[c];
  const float r = 1.0f / sqrtf(block_reduce(ss, red) / C + eps);
  for (int c = threadIdx.x; c < C; c += kThreads) o[c] = x[c] * r * w[c];
  if (threadIdx.x == 0) rstd[blockIdx.x] = r;
}

// out[n] = (inp[n] - mean) * rstd * w + b
__global__ void layernorm_forward_kernel(float* out, float* mean, float* rstd, const float* inp,
                                         const float* w, const float* b, int C, float eps) {
  __shared__ float red[kWarps];
  const float* x = inp + size_t(blockIdx.x) * C;
  float* o = out + size_t(blockIdx.x) * C;
  float s = 0;
  for (int c = threadIdx.x; c < C; c += kThreads) s += x[c];
  const float m = block_reduce(s, red) / C;
  float var = 0;
  for (int c = threadIdx.x; c < C; c += kThreads) var += (x[c] - m) * (x[c] - m);
  const float r = 1.0f / sqrtf(block_reduce(var, red) / C + eps);
  for (int c = threadIdx.x; c < C; c += kThreads) o[c] = (x[c] - m) * r * w[c] + b[c];
  if (threadIdx.x == 0) mean[blockIdx.x] = m, rstd[blockIdx.x] = r;
}

// dinp[n] += the input gradient of row n (cpu/norm.cpp's formulas); mean null: RMSNorm.
__global__ void norm_dinp_kernel(float* dinp, const float* dout, const float* inp, const float* w,
                                 const float* mean, const float* rstd, int C) {
  __shared__ float red[kWarps];
  const size_t row = size_t(blockIdx.x) * C;
  const float *x = inp + row, *dy = dout + row;
  float* dx = dinp + row;
  const float r = rstd[blockIdx.x];
  if (!mean) {  // dx = r (w dy) - x r^3 / C * sum(w dy x)
    float dot = 0;
    for (int c = threadIdx.x; c < C; c += kThreads) dot += w[c] * dy[c] * x[c];
    const float k = block_reduce(dot, red) * r * r * r / C;
    for (int c = threadIdx.x; c < C; c += kThreads) dx[c] += r * w[c] * dy[c] - k * x[c];
    return;
  }
  // dx = r (dxhat - mean(dxhat) - xhat mean(dxhat xhat)),  dxhat = dy w
  const float m = mean[blockIdx.x];
  float s1 = 0, s2 = 0;
  for (int c = threadIdx.x; c < C; c += kThreads) {
    const float g = dy[c] * w[c];
    s1 += g;
    s2 += g * (x[c] - m) * r;
  }
  s1 = block_reduce(s1, red) / C;
  s2 = block_reduce(s2, red) / C;
  for (int c = threadIdx.x; c < C; c += kThreads) {
    const float xhat = (x[c] - m) * r;
    dx[c] += r * (dy[c] * w[c] - s1 - xhat * s2);
  }
}

// partials[k, c] = sum over rows of chunk k of dy * xhat; partials[chunks + k, c] = sum of dy.
__global__ void norm_param_partials_kernel(float* partials, const float* dout, const float* inp,
                                           const float* mean, const float* rstd, int N, int C, int chunks) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x, k = blockIdx.y;
  if (c >= C) return;
  const int n0 = k * kNormChunk, n1 = min(N, n0 + kNormChunk);
  float pw = 0, pb = 0;
  for (int n = n0; n < n1; ++n) {
    const float x = inp[size_t(n) * C + c], dy = dout[size_t(n) * C + c], r = rstd[n];
    pw += mean ? dy * ((x - mean[n]) * r) : dy * x * r;
    pb += dy;
  }
  partials[size_t(k) * C + c] = pw;
  partials[size_t(chunks + k) * C + c] = pb;
}

// dw[c] += sum_k partials[k, c] (and db) in chunk order
__global__ void norm_param_finish_kernel(float* dw, float* db, const float* partials, int C, int chunks) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  float sw = 0, sb = 0;
  for (int k = 0; k < chunks; ++k) {
    sw += partials[size_t(k) * C + c];
    sb += partials[size_t(chunks + k) * C + c];
  }
  dw[c] += sw;
  if (db) db[c] += sb;
}

// Row maximum and log-sum-exp (sum in double, as the CPU's logsumexp).
__device__ double row_logsumexp(const float* z, int V, float* fred, double* dred) {
  float mx = -FLT_MAX;
  for (int v = threadIdx.x; v < V; v += kThreads) mx = fmaxf(mx, z[v]);
  mx = block_reduce<float, true>(mx, fred);
  double sum = 0;
  for (int v = threadIdx.x; v < V; v += kThreads) sum += exp(double(z[v] - mx));
  return double(mx) + log(block_reduce(sum, dred));
}

// logits[m] -> weights[m] * (softmax - onehot(target)); row_loss[m] = lse - z[target]
__global__ void softmax_xent_kernel(float* logits, const int32_t* targets, const float* weights, int V,
                                    double* row_loss) {
  __shared__ float fred[kWarps];
  __shared__ double dred[kWarps];
  float* z = logits + size_t(blockIdx.x) * V;
  const double lse = row_logsumexp(z, V, fred, dred);
  const int t = targets[blockIdx.x];
  const float zt = z[t];
  __syncthreads();  // every thread has read z[t] before it is overwritten
  const float w = weights[blockIdx.x];
  for (int v = threadIdx.x; v < V; v += kThreads) {
    float g = w * float(exp(double(z[v]) - lse));
    if (v == t) g -= w;
    z[v] = g;
  }
  if (threadIdx.x == 0) row_loss[blockIdx.x] = lse - zt;
}

__global__ void log_softmax_kernel(float* logits, int V) {
  __shared__ float fred[kWarps];
  __shared__ double dred[kWarps];
  float* z = logits + size_t(blockIdx.x) * V;
  const float lse = float(row_logsumexp(z, V, fred, dred));
  for (int v = threadIdx.x; v < V; v += kThreads) z[v] -= lse;
}

// partial[k] = sum of x^2 over chunk k (kSumChunk values), in double
__global__ void sum_squares_kernel(const float* x, size_t n, double* partial) {
  __shared__ double red[kWarps];
  const size_t k0 = size_t(blockIdx.x) * kSumChunk, k1 = min(n, k0 + kSumChunk);
  double s = 0;
  for (size_t i = k0 + threadIdx.x; i < k1; i += kThreads) s += double(x[i]) * x[i];
  s = block_reduce(s, red);
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

int column_blocks(int C) { return (C + kThreads - 1) / kThreads; }

}  // namespace

void rmsnorm_forward(cudaStream_t s, float* out, float* rstd, const float* inp, const float* w, int N,
                     int C, float eps) {
  if (N > 0) rmsnorm_forward_kernel<<<N, kThreads, 0, s>>>(out, rstd, inp, w, C, eps);
}

void layernorm_forward(cudaStream_t s, float* out, float* mean, float* rstd, const float* inp,
                       const float* w, const float* b, int N, int C, float eps) {
  if (N > 0) layernorm_forward_kernel<<<N, kThreads, 0, s>>>(out, mean, rstd, inp, w, b, C, eps);
}

void norm_backward(cudaStream_t s, float* dinp, float* dw, float* db, const float* dout,
                   const float* inp, const float* w, const float* mean, const float* rstd, int N,
                   int C, float* partials) {
  if (N <= 0 || C <= 0) return;
  norm_dinp_kernel<<<N, kThreads, 0, s>>>(dinp, dout, inp, w, mean, rstd, C);
  const int chunks = norm_row_chunks(N);
  norm_param_partials_kernel<<<dim3(column_blocks(C), chunks), kThreads, 0, s>>>(partials, dout, inp, mean,
                                                                                 rstd, N, C, chunks);
  norm_param_finish_kernel<<<column_blocks(C), kThreads, 0, s>>>(dw, db, partials, C, chunks);
}

void softmax_xent(cudaStream_t s, float* logits, const int32_t* targets, const float* weights, int M,
                  int V, double* row_loss) {
  if (M > 0) softmax_xent_kernel<<<M, kThreads, 0, s>>>(logits, targets, weights, V, row_loss);
}

void log_softmax(cudaStream_t s, float* logits, int M, int V) {
  if (M > 0) log_softmax_kernel<<<M, kThreads, 0, s>>>(logits, V);
}

void sum_squares(cudaStream_t s, const float* x, size_t n, double* partial) {
  const size_t chunks = sum_chunks(n);
  if (chunks) sum_squares_kernel<<<unsigned(chunks), kThreads, 0, s>>>(x, n, partial);
}

}  // namespace lengen::cuda
