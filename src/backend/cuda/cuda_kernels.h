// Launchers of the CUDA backend's kernels (*.cu of this folder): plain kernels over raw device
// buffers, one small function per op, each enqueued on the given stream. Semantics, shapes and
// accumulate-vs-overwrite rules are those of backend.h and the CPU kernels (cpu/kernels.h).
// Every gradient is accumulated in a fixed order (no float atomics), so results are
// bit-identical from run to run. Only the backend (cuda_backend.cpp) includes this.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "backend/backend.h"

namespace lengen::cuda {

// ---- rows (elementwise.cu) ----
void embedding_forward(cudaStream_t s, float* out, const int32_t* tokens, const float* table, int N, int C);
// dtable[tokens[n]] += dout[n] (ids[n] == frozen_row skipped; -1: none): one thread per column
// adds the rows in token order, as the CPU does.
void rows_accumulate(cudaStream_t s, float* dtable, const int32_t* ids, const float* d, int N, int C,
                     int frozen_row);
void table_add_forward(cudaStream_t s, float* x, const float* table, const int32_t* ids, int N, int C);
void add(cudaStream_t s, float* out, const float* a, const float* b, size_t n);
// x[N,C] += row[C];  drow[C] += sum_n dx[n] (one thread per column, tokens in order)
void add_row_forward(cudaStream_t s, float* x, const float* row, int N, int C);
void add_row_backward(cudaStream_t s, float* drow, const float* dx, int N, int C);
void gather_rows(cudaStream_t s, float* out, const float* in, const int32_t* rows, int M, int C, float scale);
void scatter_add_rows(cudaStream_t s, float* out, const float* in, const int32_t* rows, int M, int C,
                      float scale);
void kv_append(cudaStream_t s, float* cache, const float* src, const int32_t* at, int B, int Q, int C,
               int capacity);
void rotate(cudaStream_t s, float* x, int n, int ld, const RotationArgs& r, float sign);

// ---- elementwise (elementwise.cu) ----
void activation_forward(cudaStream_t s, ActivationKind kind, float* out, const float* inp, size_t n);
void activation_backward(cudaStream_t s, ActivationKind kind, float* dinp, const float* dout,
                         const float* inp, size_t n);
void swiglu_forward(cudaStream_t s, float* out, const float* gate, const float* up, size_t n);
void swiglu_backward(cudaStream_t s, float* dgate, float* dup, const float* dout, const float* gate,
                     const float* up, size_t n);
void geglu_forward(cudaStream_t s, float* out, const float* gate, const float* up, size_t n);
void geglu_backward(cudaStream_t s, float* dgate, float* dup, const float* dout, const float* gate,
                    const float* up, size_t n);
void dropout(cudaStream_t s, float* x, size_t n, float p, uint64_t key);  // forward = backward
void adamw_update(cudaStream_t s, float* param, const float* grad, float* m, float* v, size_t n,
                  const AdamWStep& p, bool decay);
void scale(cudaStream_t s, float* x, size_t n, float factor);

// ---- reductions (norm.cu) ----
void rmsnorm_forward(cudaStream_t s, float* out, float* rstd, const float* inp, const float* w, int N,
                     int C, float eps);
void layernorm_forward(cudaStream_t s, float* out, float* mean, float* rstd, const float* inp,
                       const float* w, const float* b, int N, int C, float eps);
// dinp += ...; dw (and db) += sums over rows through `partials` [2 * norm_row_chunks(N) * C].
// mean == nullptr: RMSNorm, else LayerNorm.
void norm_backward(cudaStream_t s, float* dinp, float* dw, float* db, const float* dout,
                   const float* inp, const float* w, const float* mean, const float* rstd, int N,
                   int C, float* partials);
// logits[M, V] -> weights[m] * (softmax - onehot); row_loss[m] = -log p(target) (double).
void softmax_xent(cudaStream_t s, float* logits, const int32_t* targets, const float* weights, int M,
                  int V, double* row_loss);
void log_softmax(cudaStream_t s, float* logits, int M, int V);
// partial[c] = sum of squares of chunk c (kSumChunk values), in double.
void sum_squares(cudaStream_t s, const float* x, size_t n, double* partial);

// ---- attention (attention.cu) ----
// One-time setup of the kernels' shared-memory limits (once per device).
void attention_init();
void attention_forward(cudaStream_t s, const AttentionArgs& a, float* out, float* lse);
// `delta` [B, H, Q] scratch; `bias_acc` [extent] fixed-point scratch (when the bias has
// dvalues).
void attention_backward(cudaStream_t s, const AttentionArgs& a, const float* out, const float* lse,
                        const float* dout, float* dq, float* dk, float* dv, float* delta,
                        long long* bias_acc);
void attention_probs(cudaStream_t s, const AttentionArgs& a, float* probs);

}  // namespace lengen::cuda
