// CPU kernels: plain functions over raw row-major fp32 buffers. Each layer is a *_forward /
// *_backward pair; shapes in the comments (N tokens, C channels). Backward functions
// ACCUMULATE into parameter gradients (dw, db) and into the input gradient when `accumulate`
// says so. GEMMs go through CBLAS; the other loops are OpenMP-parallel over rows, and every
// reduction has a fixed order, so results depend only on the inputs and the thread count.
#pragma once
#include <cstddef>
#include <cstdint>

namespace lengen::kernels {

// ---- matrix products (CBLAS) ----
// out[N,O] = inp[N,I] W[O,I]^T            (PyTorch nn.Linear layout, no bias)
void linear_forward(float* out, const float* inp, const float* W, int N, int I, int O);
// dinp[N,I] (=, or += if accumulate) dout W; dW[O,I] += dout^T inp
void linear_backward(float* dinp, float* dW, const float* dout, const float* inp, const float* W,
                     int N, int I, int O, bool accumulate_dinp);

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

// ---- dropout ----
// Element i is kept with probability 1-p (and scaled by 1/(1-p)) iff a hash of (key, i) says
// so: the mask is recomputed in backward instead of stored, independent of threads.
bool dropout_keep(uint64_t key, uint64_t i, float p);
void dropout_forward(float* x, size_t n, float p, uint64_t key);   // in place
void dropout_backward(float* dx, size_t n, float p, uint64_t key);  // in place, same mask

// ---- causal self-attention ----
struct AttentionShape {
  int B, T, H, dh;
  int ld() const { return H * dh; }  // row stride of q, k, v, out: [B*T, H*dh]
};
// out[B*T, H*dh] = softmax(scale q k^T + bias, causal) v, per batch row and head.
// probs[B,H,T,T] saved (before dropout). bias[B,H,T,T] or null. Rows beyond lengths[b] are
// computed as usual (padding never reaches valid rows thanks to the causal mask).
void attention_forward(float* out, float* probs, const float* q, const float* k, const float* v,
                       const float* bias, const AttentionShape& s, float scale, float dropout,
                       uint64_t dropout_key);
// dq, dk, dv (overwritten). If dbias is not null, dS (gradient of the scores) is ADDED to it.
void attention_backward(float* dq, float* dk, float* dv, float* dbias, const float* dout,
                        const float* q, const float* k, const float* v, const float* probs,
                        const AttentionShape& s, float scale, float dropout, uint64_t dropout_key);

// ---- loss ----
// Fused softmax + cross-entropy over M rows of V logits. weights[m] scales row m's loss and
// gradient (1/count for a mean over unmasked tokens). logits are overwritten with dlogits.
// Returns the weighted loss sum (accumulated in double). row_loss[m] = -log p(target) if given.
double softmax_xent_forward_backward(float* logits, const int32_t* targets, const float* weights,
                                     int M, int V, float* row_loss);
// logprobs[M,V] = log_softmax(logits), in place.
void log_softmax_inplace(float* logits, int M, int V);

// ---- optimizer ----
struct AdamWParams {
  float lr, beta1, beta2, eps, weight_decay;
  int64_t step;  // 1-based, for bias correction
};
// One AdamW step (decoupled weight decay) over n parameters.
void adamw_update(float* param, const float* grad, float* m, float* v, size_t n,
                  const AdamWParams& p, bool decay);

// Sum of squares, in double, in fixed-size chunks (same result for any thread count).
double sum_squares(const float* x, size_t n);
void scale_inplace(float* x, size_t n, float s);

}  // namespace lengen::kernels
