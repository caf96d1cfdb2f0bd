// The CPU backend: host memory, and the op table filled with the kernels of this folder.
#include <cstdlib>
#include <cstring>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/kernels.h"
#include "util/error.h"

namespace lengen {
namespace {

namespace k = kernels;

class CpuBackend final : public Backend {
 public:
  std::string name() const override { return "cpu"; }

  void* alloc(size_t bytes) override {
    const size_t rounded = (bytes + 63) / 64 * 64;  // 64-byte aligned, for vector loads
    void* p = rounded ? std::aligned_alloc(64, rounded) : nullptr;
    if (rounded && !p) fail("out of memory: cannot allocate {} MiB on the cpu", bytes >> 20);
    if (p) std::memset(p, 0, rounded);
    return p;
  }
  void free(void* p) override { std::free(p); }
  void upload(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
  void download(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
  void copy(void* dst, const void* src, size_t bytes) override { std::memmove(dst, src, bytes); }
  void zero(void* dst, size_t bytes) override { std::memset(dst, 0, bytes); }
  void synchronize() override {}

  void set_matmul_precision(MatmulPrecision p) override {
    if (p == MatmulPrecision::bf16)
      if (const std::string why = k::bf16_unavailable_reason(); !why.empty())
        fail("--precision bf16: {}", why);
    precision_ = p;
  }
  // Decoding's few rows stay fp32 in either precision: that path is memory-bound, and a bf16
  // copy of the weights per call would read them twice.
  void linear_forward(float* out, const float* inp, const float* W, int N, int I, int O) override {
    if (precision_ == MatmulPrecision::bf16 && N > k::kFewRows)
      return k::linear_forward_bf16(out, inp, W, N, I, O);
    k::linear_forward(out, inp, W, N, I, O);
  }
  void linear_backward(float* dinp, float* dW, const float* dout, const float* inp, const float* W,
                       int N, int I, int O, bool accumulate_dinp) override {
    if (precision_ == MatmulPrecision::bf16)
      return k::linear_backward_bf16(dinp, dW, dout, inp, W, N, I, O, accumulate_dinp);
    k::linear_backward(dinp, dW, dout, inp, W, N, I, O, accumulate_dinp);
  }
  void embedding_forward(float* out, const int32_t* tokens, const float* table, int N,
                         int C) override {
    k::embedding_forward(out, tokens, table, N, C);
  }
  void embedding_backward(float* dtable, const int32_t* tokens, const float* dout, int N,
                          int C) override {
    k::embedding_backward(dtable, tokens, dout, N, C);
  }
  void table_add_forward(float* x, const float* table, const int32_t* ids, int N, int C) override {
    k::table_add_forward(x, table, ids, N, C);
  }
  void table_add_backward(float* dtable, const int32_t* ids, const float* dx, int N, int C,
                          int frozen_row) override {
    k::table_add_backward(dtable, ids, dx, N, C, frozen_row);
  }
  void add(float* out, const float* a, const float* b, size_t n) override { k::add(out, a, b, n); }
  void gather_rows(float* out, const float* in, const int32_t* rows, int M, int C,
                   float scale) override {
    k::gather_rows(out, in, rows, M, C, scale);
  }
  void scatter_add_rows(float* out, const float* in, const int32_t* rows, int M, int C,
                        float scale) override {
    k::scatter_add_rows(out, in, rows, M, C, scale);
  }
  void kv_append(float* cache, const float* src, const int32_t* at, int B, int Q, int C,
                 int capacity) override {
    k::kv_append(cache, src, at, B, Q, C, capacity);
  }
  void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* w, int N, int C,
                       float eps) override {
    k::rmsnorm_forward(out, rstd, inp, w, N, C, eps);
  }
  void rmsnorm_backward(float* dinp, float* dw, const float* dout, const float* inp, const float* w,
                        const float* rstd, int N, int C) override {
    k::rmsnorm_backward(dinp, dw, dout, inp, w, rstd, N, C);
  }
  void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* w,
                         const float* b, int N, int C, float eps) override {
    k::layernorm_forward(out, mean, rstd, inp, w, b, N, C, eps);
  }
  void layernorm_backward(float* dinp, float* dw, float* db, const float* dout, const float* inp,
                          const float* w, const float* mean, const float* rstd, int N,
                          int C) override {
    k::layernorm_backward(dinp, dw, db, dout, inp, w, mean, rstd, N, C);
  }
  void activation_forward(ActivationKind kind, float* out, const float* inp, size_t n) override {
    if (kind == ActivationKind::Relu)
      k::relu_forward(out, inp, n);
    else
      k::gelu_forward(out, inp, n);
  }
  void activation_backward(ActivationKind kind, float* dinp, const float* dout, const float* inp,
                           size_t n) override {
    if (kind == ActivationKind::Relu)
      k::relu_backward(dinp, dout, inp, n);
    else
      k::gelu_backward(dinp, dout, inp, n);
  }
  void swiglu_forward(float* out, const float* gate, const float* up, size_t n) override {
    k::swiglu_forward(out, gate, up, n);
  }
  void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate,
                       const float* up, size_t n) override {
    k::swiglu_backward(dgate, dup, dout, gate, up, n);
  }
  void geglu_forward(float* out, const float* gate, const float* up, size_t n) override {
    k::geglu_forward(out, gate, up, n);
  }
  void geglu_backward(float* dgate, float* dup, const float* dout, const float* gate,
                      const float* up, size_t n) override {
    k::geglu_backward(dgate, dup, dout, gate, up, n);
  }
  void dropout_forward(float* x, size_t n, float p, uint64_t key) override {
    k::dropout_forward(x, n, p, key);
  }
  void dropout_backward(float* dx, size_t n, float p, uint64_t key) override {
    k::dropout_backward(dx, n, p, key);
  }
  void rotate(float* x, int n, int ld, const RotationArgs& r, float sign) override {
    k::rotate(x, n, ld, r, sign);
  }
  void relative_scores_forward(float* scores, const float* q, const float* R, int N, int H,
                               int dh, int C, float scale) override {
    k::relative_scores_forward(scores, q, R, N, H, dh, C, scale);
  }
  void relative_scores_backward(float* dq, float* dR, const float* dscores, const float* q,
                                const float* R, int N, int H, int dh, int C,
                                float scale) override {
    k::relative_scores_backward(dq, dR, dscores, q, R, N, H, dh, C, scale);
  }
  void add_row_forward(float* x, const float* row, int N, int C) override {
    k::add_row_forward(x, row, N, C);
  }
  void add_row_backward(float* drow, const float* dx, int N, int C) override {
    k::add_row_backward(drow, dx, N, C);
  }
  void attention_forward(const AttentionArgs& a, float* out, float* lse) override {
    k::attention_forward(a, out, lse);
  }
  void attention_backward(const AttentionArgs& a, const float* out, const float* lse,
                          const float* dout, float* dq, float* dk, float* dv) override {
    k::attention_backward(a, out, lse, dout, dq, dk, dv);
  }
  void attention_probs(const AttentionArgs& a, float* probs) override {
    k::attention_probs(a, probs);
  }
  double softmax_xent(float* logits, const int32_t* targets, const float* weights, int M,
                      int V) override {
    return k::softmax_xent_forward_backward(logits, targets, weights, M, V, nullptr);
  }
  void log_softmax(float* logits, int M, int V) override { k::log_softmax_inplace(logits, M, V); }
  void adamw_update(float* param, const float* grad, float* m, float* v, size_t n,
                    const AdamWStep& p, bool decay) override {
    k::adamw_update(param, grad, m, v, n, p, decay);
  }
  double sum_squares(const float* x, size_t n) override { return k::sum_squares(x, n); }
  void scale(float* x, size_t n, float s) override { k::scale_inplace(x, n, s); }

 private:
  MatmulPrecision precision_ = MatmulPrecision::fp32;
};

}  // namespace

Backend& cpu_backend() {
  static CpuBackend backend;
  return backend;
}

}  // namespace lengen
