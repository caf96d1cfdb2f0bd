// The backend layer (after ggml's backend interface): a backend owns device memory, copies
// between host and device, synchronises, and implements the engine's op set. The model holds
// Buffers and calls ops on device pointers; it never reads device memory on the host except
// through download(). Every pointer passed to an op is a device pointer of that backend (on
// the CPU backend, host memory). Shapes are in the comments: N tokens, C channels, M rows.
//
// Backward ops ACCUMULATE into parameter gradients (dW, db, dtable, bias dvalues) and
// overwrite input gradients unless they say otherwise. Every reduction has a fixed order, so
// results depend only on the inputs and the thread count.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "util/error.h"

namespace lengen {

class Backend;

enum class MatmulPrecision { fp32, bf16 };
// "fp32" or "bf16"; anything else is an error naming both.
MatmulPrecision parse_matmul_precision(const std::string& name);
const char* matmul_precision_name(MatmulPrecision p);

// A block of device memory of one backend (zeroed at allocation, freed on destruction).
class Buffer {
 public:
  Buffer() = default;
  Buffer(Backend& backend, size_t bytes);
  ~Buffer();
  Buffer(Buffer&& other) noexcept;
  Buffer& operator=(Buffer&& other) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  float* f32(size_t offset = 0) const { return static_cast<float*>(data_) + offset; }
  int32_t* i32(size_t offset = 0) const { return static_cast<int32_t*>(data_) + offset; }
  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Backend* backend() const { return backend_; }

 private:
  Backend* backend_ = nullptr;
  void* data_ = nullptr;
  size_t bytes_ = 0;
};

// Rotation of query/key pairs by per-token angles (rotary encodings): each of the `half` pairs
// of each of H heads (head stride dh) is rotated by the token's angle and multiplied by its
// pair scale; then every value of the token is multiplied by uniform_scale.
struct RotationArgs {
  const float* cos = nullptr;         // [n, half]
  const float* sin = nullptr;         // [n, half]
  const float* pair_scale = nullptr;  // [n, half], or null: 1
  float uniform_scale = 1.0f;
  int H = 0, dh = 0, half = 0;
  bool interleaved = false;  // pairs (2i, 2i+1) (GPT-J); otherwise (i, i + half) (Llama)
};

// A score bias given by a compact descriptor, evaluated inside attention: for query stream
// value qp and key stream value kp, the bias of head h is
//   values[h * h_stride + row(qp) * r_stride + col(qp - kp) * c_stride]
// with col(d) = col_of[clamp(d, dmin, dmax) - dmin] and row(qp) = row_of[clamp(qp, qmin, qmax) -
// qmin] (row 0 when row_of is null), plus query * q_stride for the query's index b * Q + a
// when the table has a row per query (Transformer-XL's, computed from the queries themselves).
// The values may be a learned parameter (strides into the parameter buffer, dvalues into the
// gradient buffer) or a table computed per call.
struct ScoreBias {
  const int32_t* q_pos = nullptr;  // [B*Q] stream value of each query
  const int32_t* k_pos = nullptr;  // [B*key_stride] stream value of each key
  const float* values = nullptr;
  int64_t h_stride = 0, r_stride = 0, c_stride = 1;
  const int32_t* col_of = nullptr;  // [dmax - dmin + 1]
  int dmin = 0, dmax = 0;
  const int32_t* row_of = nullptr;  // [qmax - qmin + 1] or null
  int qmin = 0, qmax = 0;
  int64_t q_stride = 0;      // entries between the rows of consecutive queries; 0: shared rows
  int64_t extent = 0;        // entries addressable from `values` (max index + 1)
  float* dvalues = nullptr;  // gradient of values (same strides), accumulated; null: none
};

// Causal multi-head attention of Q new queries per batch row against that row's keys. Row b's
// queries are tokens past[b] .. past[b] + Q - 1 of the row; query a sees keys 0 .. past[b] + a.
struct AttentionArgs {
  int B = 0, H = 0, dh = 0, Q = 0;
  int ld = 0;                 // row stride of q, k, v, out, dq, dk, dv (= H * dh)
  const float* q = nullptr;   // [B*Q, ld]
  const float* k = nullptr;   // key j of row b at row b * key_stride + j
  const float* v = nullptr;
  int key_stride = 0;         // Q in training (the queries are the keys), a cache's capacity
  const int32_t* past = nullptr;  // [B] keys before the queries (null: 0)
  float scale = 1.0f;         // multiplies q.k
  const ScoreBias* bias = nullptr;
  float dropout = 0.0f;       // on the probabilities (training)
  uint64_t dropout_key = 0;
};

enum class ActivationKind { Relu, Gelu };

struct AdamWStep {
  float lr, beta1, beta2, eps, weight_decay;
  int64_t step;  // 1-based, for bias correction
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;

  // ---- memory ----
  virtual void* alloc(size_t bytes) = 0;  // zeroed; throws lengen::Error when out of memory
  virtual void free(void* p) = 0;
  virtual void upload(void* dst, const void* host_src, size_t bytes) = 0;
  virtual void download(void* host_dst, const void* src, size_t bytes) = 0;
  virtual void copy(void* dst, const void* src, size_t bytes) = 0;
  virtual void zero(void* dst, size_t bytes) = 0;
  virtual void synchronize() = 0;

  // ---- matrix products ----
  // The linear layers' precision: fp32 (the default), or bf16: inputs rounded to bf16, fp32
  // accumulation and outputs (weights, gradients, optimizer state, norms and softmax stay
  // fp32). Throws lengen::Error naming why where the backend or the machine has no bf16.
  virtual void set_matmul_precision(MatmulPrecision p) {
    if (p != MatmulPrecision::fp32)
      fail("--precision bf16: the {} backend computes in fp32 only", name());
  }
  // out[N,O] = inp[N,I] W[O,I]^T (nn.Linear layout, no bias)
  virtual void linear_forward(float* out, const float* inp, const float* W, int N, int I,
                              int O) = 0;
  // dinp[N,I] = (or += when accumulate) dout W; dW[O,I] += dout^T inp (dinp may be null)
  virtual void linear_backward(float* dinp, float* dW, const float* dout, const float* inp,
                               const float* W, int N, int I, int O, bool accumulate_dinp) = 0;

  // ---- rows ----
  // out[N,C] = table[tokens[n]];  dtable[tokens[n]] += dout[n]
  virtual void embedding_forward(float* out, const int32_t* tokens, const float* table, int N,
                                 int C) = 0;
  virtual void embedding_backward(float* dtable, const int32_t* tokens, const float* dout,
                                  int N, int C) = 0;
  // x[N,C] += table[ids[n]] (input encodings);  dtable[ids[n]] += dx[n] except row frozen_row
  virtual void table_add_forward(float* x, const float* table, const int32_t* ids, int N,
                                 int C) = 0;
  virtual void table_add_backward(float* dtable, const int32_t* ids, const float* dx, int N,
                                  int C, int frozen_row) = 0;
  // out[n] = a[n] + b[n] (residual connections; out may alias a)
  virtual void add(float* out, const float* a, const float* b, size_t n) = 0;
  // out[M,C] = scale * in[rows[m]]  (the rows given to the output head)
  virtual void gather_rows(float* out, const float* in, const int32_t* rows, int M, int C,
                           float scale) = 0;
  // out[rows[m]] += scale * in[m]   (its backward; out [N,C])
  virtual void scatter_add_rows(float* out, const float* in, const int32_t* rows, int M, int C,
                                float scale) = 0;
  // KV-cache append: row b's Q new rows src[b*Q .. b*Q+Q) go to cache[b*capacity + at[b] ..]
  virtual void kv_append(float* cache, const float* src, const int32_t* at, int B, int Q, int C,
                         int capacity) = 0;

  // ---- normalisation (rstd [N], mean [N] saved for backward; dw, db accumulated) ----
  virtual void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* w, int N,
                               int C, float eps) = 0;
  virtual void rmsnorm_backward(float* dinp, float* dw, const float* dout, const float* inp,
                                const float* w, const float* rstd, int N, int C) = 0;
  virtual void layernorm_forward(float* out, float* mean, float* rstd, const float* inp,
                                 const float* w, const float* b, int N, int C, float eps) = 0;
  virtual void layernorm_backward(float* dinp, float* dw, float* db, const float* dout,
                                  const float* inp, const float* w, const float* mean,
                                  const float* rstd, int N, int C) = 0;

  // ---- activations (n values) ----
  virtual void activation_forward(ActivationKind kind, float* out, const float* inp,
                                  size_t n) = 0;
  virtual void activation_backward(ActivationKind kind, float* dinp, const float* dout,
                                   const float* inp, size_t n) = 0;
  // out = silu(gate) * up
  virtual void swiglu_forward(float* out, const float* gate, const float* up, size_t n) = 0;
  virtual void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate,
                               const float* up, size_t n) = 0;
  // out = gelu_tanh(gate) * up: T5's "gated-gelu" (HF gelu_new, the tanh approximation)
  virtual void geglu_forward(float* out, const float* gate, const float* up, size_t n) = 0;
  virtual void geglu_backward(float* dgate, float* dup, const float* dout, const float* gate,
                              const float* up, size_t n) = 0;
  // In place; element i kept iff a hash of (key, i) says so (mask recomputed in backward).
  virtual void dropout_forward(float* x, size_t n, float p, uint64_t key) = 0;
  virtual void dropout_backward(float* dx, size_t n, float p, uint64_t key) = 0;

  // ---- positional encodings ----
  // x[n, ld] rotated in place by sign * the angles (sign -1: the backward, the transpose)
  virtual void rotate(float* x, int n, int ld, const RotationArgs& r, float sign) = 0;

  // ---- relative position keys (Transformer-XL) ----
  // scores[n, h, c] = scale * q[n, h] . R[c, h]: q [N, H*dh], R [C, H*dh] (head h at columns
  // h*dh ..), scores [N, H, C]: a bias table with a row per query (ScoreBias::q_stride).
  virtual void relative_scores_forward(float* scores, const float* q, const float* R, int N,
                                       int H, int dh, int C, float scale) = 0;
  // dq[n, h] += scale * sum_c dscores[n, h, c] R[c, h];  dR[c, h] += scale * sum_n
  // dscores[n, h, c] q[n, h]
  virtual void relative_scores_backward(float* dq, float* dR, const float* dscores,
                                        const float* q, const float* R, int N, int H, int dh,
                                        int C, float scale) = 0;
  // x[N, C] += row[C] (a learned vector added to every token);  drow[C] += sum_n dx[n]
  virtual void add_row_forward(float* x, const float* row, int N, int C) = 0;
  virtual void add_row_backward(float* drow, const float* dx, int N, int C) = 0;

  // ---- attention (fused: no [T, T] matrix outlives a (row, head) tile) ----
  // out [B*Q, ld]; lse [B, H, Q] (log-sum-exp of each query's scores, for backward) or null
  virtual void attention_forward(const AttentionArgs& a, float* out, float* lse) = 0;
  // Training (past = 0, key_stride = Q): dq, dk, dv [B*Q, ld] overwritten; the bias gradient
  // accumulated into a.bias->dvalues. Recomputes the probabilities from q, k, lse.
  virtual void attention_backward(const AttentionArgs& a, const float* out, const float* lse,
                                  const float* dout, float* dq, float* dk, float* dv) = 0;
  // The probabilities themselves, for analysis: probs [B, H, Q, past + Q] (0 above the
  // diagonal); no dropout.
  virtual void attention_probs(const AttentionArgs& a, float* probs) = 0;

  // ---- loss ----
  // Fused softmax + cross-entropy over M rows of V logits (targets [M], weights [M]); logits
  // are overwritten with d(loss)/d(logits). Returns the weighted loss sum.
  virtual double softmax_xent(float* logits, const int32_t* targets, const float* weights,
                              int M, int V) = 0;
  virtual void log_softmax(float* logits, int M, int V) = 0;  // in place

  // ---- optimizer ----
  virtual void adamw_update(float* param, const float* grad, float* m, float* v, size_t n,
                            const AdamWStep& p, bool decay) = 0;
  virtual double sum_squares(const float* x, size_t n) = 0;
  virtual void scale(float* x, size_t n, float s) = 0;
};

// The backends built into this binary, by name ("cpu"); unknown names are an error listing
// them. The default backend is what models are created on unless told otherwise (the CLI's
// --device).
Backend& backend_named(const std::string& name);
std::vector<std::string> backend_names();
Backend& default_backend();
void set_default_backend(const std::string& name);
// The CLI's --precision: the linear layers' precision on the default backend (set again on
// the backend a later --device names).
void set_default_matmul_precision(MatmulPrecision p);
MatmulPrecision default_matmul_precision();

// Host <-> device copies of typed vectors.
template <typename T>
void upload(Backend& be, T* dst, const std::vector<T>& src) {
  if (!src.empty()) be.upload(dst, src.data(), src.size() * sizeof(T));
}
template <typename T>
std::vector<T> download(Backend& be, const T* src, size_t n) {
  std::vector<T> out(n);
  if (n) be.download(out.data(), src, n * sizeof(T));
  return out;
}

}  // namespace lengen
