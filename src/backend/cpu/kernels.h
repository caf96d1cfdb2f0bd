// The CPU backend's kernels: plain functions over raw row-major fp32 buffers. Each layer is a
// *_forward / *_backward pair; shapes in the comments (N tokens, C channels). Backward functions
// ACCUMULATE into parameter gradients (dw, db) and into the input gradient when `accumulate`
// says so. GEMMs go through CBLAS; the other loops are OpenMP-parallel over rows, and every
// reduction has a fixed order, so results depend only on the inputs and the thread count.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "backend/backend.h"

namespace lengen::kernels {

// ---- matrix products (CBLAS) ----
// out[N,O] = inp[N,I] W[O,I]^T            (PyTorch nn.Linear layout, no bias); N <= kFewRows
// takes linear_forward_few_rows
void linear_forward(float* out, const float* inp, const float* W, int N, int I, int O);
// The same reading each weight once (linear_few_rows.cpp): decoding's one token per sequence
constexpr int kFewRows = 8;
void linear_forward_few_rows(float* out, const float* inp, const float* W, int N, int I, int O);
void linear_forward_sgemm(float* out, const float* inp, const float* W, int N, int I, int O);
// dinp[N,I] (=, or += if accumulate) dout W; dW[O,I] += dout^T inp
void linear_backward(float* dinp, float* dW, const float* dout, const float* inp, const float* W,
                     int N, int I, int O, bool accumulate_dinp);

// The same with both inputs rounded to bf16 and fp32 accumulation (linear_bf16.cpp, oneDNN;
// `--precision bf16`). bf16_unavailable_reason() is "" where this build and CPU can.
void linear_forward_bf16(float* out, const float* inp, const float* W, int N, int I, int O);
void linear_backward_bf16(float* dinp, float* dW, const float* dout, const float* inp,
                          const float* W, int N, int I, int O, bool accumulate_dinp);
std::string bf16_unavailable_reason();
std::string bf16_unavailable_reason(bool built_with_onednn, bool cpu_has_avx512_bf16);
uint16_t to_bf16(float f);  // round to nearest even; NaN stays NaN
float from_bf16(uint16_t b);

// ---- embeddings ----
// out[N,C] = table[tokens[n]]
void embedding_forward(float* out, const int32_t* tokens, const float* table, int N, int C);
// dtable[tokens[n]] += dout[n]
void embedding_backward(float* dtable, const int32_t* tokens, const float* dout, int N, int C);

// ---- normalisation ----
// RMSNorm: out = inp / sqrt(mean(inp^2) + eps) * w. rstd[N] saved for backward.
void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* w, int N, int C,
                     float eps);
void rmsnorm_backward(float* dinp, float* dw, const float* dout, const float* inp, const float* w,
                      const float* rstd, int N, int C);
// LayerNorm: out = (inp - mean) * rstd * w + b. mean[N], rstd[N] saved.
void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* w,
                       const float* b, int N, int C, float eps);
void layernorm_backward(float* dinp, float* dw, float* db, const float* dout, const float* inp,
                        const float* w, const float* mean, const float* rstd, int N, int C);

// ---- activations (elementwise over n values) ----
void relu_forward(float* out, const float* inp, size_t n);
void relu_backward(float* dinp, const float* dout, const float* inp, size_t n);  // dinp =
void gelu_forward(float* out, const float* inp, size_t n);                      // exact (erf)
void gelu_backward(float* dinp, const float* dout, const float* inp, size_t n);
// out = silu(gate) * up
void swiglu_forward(float* out, const float* gate, const float* up, size_t n);
void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate,
                     const float* up, size_t n);
void geglu_forward(float* out, const float* gate, const float* up, size_t n);
void geglu_backward(float* dgate, float* dup, const float* dout, const float* gate,
                    const float* up, size_t n);

// ---- dropout ----
// Element i is kept with probability 1-p (and scaled by 1/(1-p)) iff a hash of (key, i) says
// so: the mask is recomputed in backward instead of stored, independent of threads.
bool dropout_keep(uint64_t key, uint64_t i, float p);
void dropout_forward(float* x, size_t n, float p, uint64_t key);   // in place
void dropout_backward(float* dx, size_t n, float p, uint64_t key);  // in place, same mask

// ---- rows ----
// x[N,C] += table[ids[n]];  dtable[ids[n]] += dx[n] for ids[n] != frozen_row
void table_add_forward(float* x, const float* table, const int32_t* ids, int N, int C);
void table_add_backward(float* dtable, const int32_t* ids, const float* dx, int N, int C,
                        int frozen_row);
void add(float* out, const float* a, const float* b, size_t n);  // out may alias a or b
void gather_rows(float* out, const float* in, const int32_t* rows, int M, int C, float scale);
void scatter_add_rows(float* out, const float* in, const int32_t* rows, int M, int C, float scale);
void kv_append(float* cache, const float* src, const int32_t* at, int B, int Q, int C,
               int capacity);

// ---- positional rotation (backend.h RotationArgs) ----
void rotate(float* x, int n, int ld, const RotationArgs& r, float sign);

// ---- relative position keys (backend.h; linear.cpp, rows.cpp) ----
void relative_scores_forward(float* scores, const float* q, const float* R, int N, int H, int dh,
                             int C, float scale);
void relative_scores_backward(float* dq, float* dR, const float* dscores, const float* q,
                              const float* R, int N, int H, int dh, int C, float scale);
void add_row_forward(float* x, const float* row, int N, int C);    // x[N,C] += row[C]
void add_row_backward(float* drow, const float* dx, int N, int C);  // drow[C] += sum_n dx[n]

// ---- fused causal attention (backend.h AttentionArgs; attention.cpp) ----
void attention_forward(const AttentionArgs& a, float* out, float* lse);
void attention_backward(const AttentionArgs& a, const float* out, const float* lse,
                        const float* dout, float* dq, float* dk, float* dv);
void attention_probs(const AttentionArgs& a, float* probs);

// ---- loss ----
// Fused softmax + cross-entropy over M rows of V logits. weights[m] scales row m's loss and
// gradient (1/count for a mean over unmasked tokens). logits are overwritten with dlogits.
// Returns the weighted loss sum (accumulated in double). row_loss[m] = -log p(target) if given.
double softmax_xent_forward_backward(float* logits, const int32_t* targets, const float* weights,
                                     int M, int V, float* row_loss);
// logprobs[M,V] = log_softmax(logits), in place.
void log_softmax_inplace(float* logits, int M, int V);

// ---- optimizer ----
// One AdamW step (decoupled weight decay) over n parameters.
void adamw_update(float* param, const float* grad, float* m, float* v, size_t n,
                  const AdamWStep& p, bool decay);

// Sum of squares, in double, in fixed-size chunks (same result for any thread count).
double sum_squares(const float* x, size_t n);
void scale_inplace(float* x, size_t n, float s);

}  // namespace lengen::kernels
