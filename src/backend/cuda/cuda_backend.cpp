// The CUDA backend: device memory, the stream, cuBLASLt GEMMs and the op table filled with the
// launchers of this folder's kernels (cuda_kernels.h). Compiled only when the build has CUDA.
#if LENGEN_CUDA
#include "backend/cuda/cuda_backend.h"

#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <utility>
#include <vector>

#include "backend/cuda/cuda_kernels.h"
#include "backend/cuda/launch.h"
#include "util/error.h"

namespace lengen {
namespace {

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    cudaGetLastError();  // clear a non-sticky error, so the next call starts clean
    fail("cuda: {}: {}", what, cudaGetErrorString(e));
  }
}

void check(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) fail("cuda: cuBLASLt {}: {}", what, cublasLtGetStatusString(s));
}

// One fp32 GEMM shape through cuBLASLt, column-major: C[m,n] = op(A) op(B) + beta C. The
// algorithm is chosen once per shape and kept, so every call of a shape runs the same code
// (bit-identical results from call to call).
struct GemmPlan {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulAlgo_t algo{};
};
// transa, transb, m, n, k, lda, ldb, ldc, beta != 0, alignments of A, B, C in bytes
using GemmKey = std::tuple<bool, bool, int, int, int, int, int, int, bool, uint32_t, uint32_t, uint32_t>;

// The largest power of two (up to 256) dividing the address: cuBLASLt's heuristic assumes 256
// unless told, and an algorithm chosen for aligned operands may not run on others.
uint32_t alignment(const void* p) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  uint32_t align = 256;
  while (align > 4 && a % align) align /= 2;
  return align;
}

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int device) : device_(device) {
    int count = 0;
    const cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
      cudaGetLastError();
      fail("cuda: no CUDA device is visible (cudaGetDeviceCount: {})", cudaGetErrorString(e));
    }
    if (count == 0) fail("cuda: no CUDA device is visible (cudaGetDeviceCount: 0 devices)");
    if (device >= count) fail("cuda:{}: no such device ({} CUDA device(s) visible)", device, count);
    tf32_ = cuda::tf32_from_env(std::getenv("LENGEN_CUDA_TF32"));
    check(cudaSetDevice(device_), "cudaSetDevice");
    check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    check(cublasLtCreate(&lt_), "create");
    check(cudaMalloc(&workspace_, kWorkspaceBytes), "cudaMalloc (cuBLASLt workspace)");
    cuda::attention_init();
    check(cudaGetLastError(), "attention kernel setup");
  }
  ~CudaBackend() override {
    cudaSetDevice(device_);
    cudaStreamSynchronize(stream_);
    for (auto& [key, p] : plans_) destroy(p);
    for (auto& s : scratch_) cudaFree(s.p);
    cudaFree(workspace_);
    cublasLtDestroy(lt_);
    cudaStreamDestroy(stream_);
  }

  std::string name() const override { return device_ == 0 ? "cuda" : fmt::format("cuda:{}", device_); }

  // ---- memory ----
  void* alloc(size_t bytes) override {
    bind();
    if (bytes == 0) return nullptr;
    void* p = nullptr;
    const cudaError_t e = cudaMalloc(&p, bytes);
    if (e != cudaSuccess) {
      cudaGetLastError();
      fail("out of memory: cannot allocate {} MiB on {} ({})", bytes >> 20, name(), cudaGetErrorString(e));
    }
    check(cudaMemsetAsync(p, 0, bytes, stream_), "zeroing an allocation");
    return p;
  }
  void free(void* p) override {  // called from destructors: never throws
    if (!p) return;
    cudaSetDevice(device_);
    cudaStreamSynchronize(stream_);  // no kernel still reads it
    cudaFree(p);
  }
  void upload(void* dst, const void* src, size_t bytes) override {
    if (!bytes) return;
    bind();
    check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_), "upload");
    check(cudaStreamSynchronize(stream_), "upload");  // the host copy may go away after this
  }
  void download(void* dst, const void* src, size_t bytes) override {
    if (!bytes) return;
    bind();
    check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream_), "download");
    check(cudaStreamSynchronize(stream_), "download");
  }
  void copy(void* dst, const void* src, size_t bytes) override {
    if (!bytes || dst == src) return;
    bind();
    const auto d = static_cast<const char*>(dst), s = static_cast<const char*>(src);
    if (d < s + bytes && s < d + bytes) {  // overlapping (memmove): through a scratch copy
      void* tmp = scratch(kCopyScratch, bytes);
      check(cudaMemcpyAsync(tmp, src, bytes, cudaMemcpyDeviceToDevice, stream_), "copy");
      src = tmp;
    }
    check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_), "copy");
  }
  void zero(void* dst, size_t bytes) override {
    if (!bytes) return;
    bind();
    check(cudaMemsetAsync(dst, 0, bytes, stream_), "zero");
  }
  void synchronize() override {
    bind();
    check(cudaStreamSynchronize(stream_), "synchronize");
  }

  // ---- matrix products (row-major buffers seen as column-major transposes) ----
  void linear_forward(float* out, const float* inp, const float* W, int N, int I, int O) override {
    // out^T[O,N] = W^T^T[O,I] inp^T[I,N]
    gemm(true, false, O, N, I, W, I, inp, I, out, O, 0.0f);
  }
  void linear_backward(float* dinp, float* dW, const float* dout, const float* inp, const float* W,
                       int N, int I, int O, bool accumulate_dinp) override {
    // dinp^T[I,N] (+)= W^T[I,O] dout^T[O,N];  dW^T[I,O] += inp^T[I,N] dout[N,O]
    if (dinp) gemm(false, false, I, N, O, W, I, dout, O, dinp, I, accumulate_dinp ? 1.0f : 0.0f);
    gemm(false, true, I, O, N, inp, I, dout, O, dW, I, 1.0f);
  }

  // ---- relative position keys: per head, the linear layer's products at the head's columns ----
  void relative_scores_forward(float* scores, const float* q, const float* R, int N, int H,
                               int dh, int C, float scale) override {
    const int ld = H * dh, lds = H * C;
    for (int h = 0; h < H; ++h)  // scores_h^T[C,N] = R_h^T^T[C,dh] q_h^T[dh,N]
      gemm(true, false, C, N, dh, R + h * dh, ld, q + h * dh, ld, scores + h * C, lds, 0.0f, scale);
  }
  void relative_scores_backward(float* dq, float* dR, const float* dscores, const float* q,
                                const float* R, int N, int H, int dh, int C,
                                float scale) override {
    const int ld = H * dh, lds = H * C;
    for (int h = 0; h < H; ++h) {
      // dq_h^T[dh,N] += R_h^T[dh,C] dS_h^T[C,N];  dR_h^T[dh,C] += q_h^T[dh,N] dS_h[N,C]
      gemm(false, false, dh, N, C, R + h * dh, ld, dscores + h * C, lds, dq + h * dh, ld, 1.0f, scale);
      gemm(false, true, dh, C, N, q + h * dh, ld, dscores + h * C, lds, dR + h * dh, ld, 1.0f, scale);
    }
  }
  void add_row_forward(float* x, const float* row, int N, int C) override {
    enqueue("add_row_forward", cuda::add_row_forward, x, row, N, C);
  }
  void add_row_backward(float* drow, const float* dx, int N, int C) override {
    enqueue("add_row_backward", cuda::add_row_backward, drow, dx, N, C);
  }

  // ---- rows ----
  void embedding_forward(float* out, const int32_t* tokens, const float* table, int N, int C) override {
    enqueue("embedding_forward", cuda::embedding_forward, out, tokens, table, N, C);
  }
  void embedding_backward(float* dtable, const int32_t* tokens, const float* dout, int N, int C) override {
    enqueue("embedding_backward", cuda::rows_accumulate, dtable, tokens, dout, N, C, -1);
  }
  void table_add_forward(float* x, const float* table, const int32_t* ids, int N, int C) override {
    enqueue("table_add_forward", cuda::table_add_forward, x, table, ids, N, C);
  }
  void table_add_backward(float* dtable, const int32_t* ids, const float* dx, int N, int C,
                          int frozen_row) override {
    enqueue("table_add_backward", cuda::rows_accumulate, dtable, ids, dx, N, C, frozen_row);
  }
  void add(float* out, const float* a, const float* b, size_t n) override {
    enqueue("add", cuda::add, out, a, b, n);
  }
  void gather_rows(float* out, const float* in, const int32_t* rows, int M, int C, float scale) override {
    enqueue("gather_rows", cuda::gather_rows, out, in, rows, M, C, scale);
  }
  void scatter_add_rows(float* out, const float* in, const int32_t* rows, int M, int C,
                        float scale) override {
    enqueue("scatter_add_rows", cuda::scatter_add_rows, out, in, rows, M, C, scale);
  }
  void kv_append(float* cache, const float* src, const int32_t* at, int B, int Q, int C,
                 int capacity) override {
    enqueue("kv_append", cuda::kv_append, cache, src, at, B, Q, C, capacity);
  }

  // ---- normalisation ----
  void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* w, int N, int C,
                       float eps) override {
    enqueue("rmsnorm_forward", cuda::rmsnorm_forward, out, rstd, inp, w, N, C, eps);
  }
  void rmsnorm_backward(float* dinp, float* dw, const float* dout, const float* inp, const float* w,
                        const float* rstd, int N, int C) override {
    norm_backward(dinp, dw, nullptr, dout, inp, w, nullptr, rstd, N, C);
  }
  void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* w,
                         const float* b, int N, int C, float eps) override {
    enqueue("layernorm_forward", cuda::layernorm_forward, out, mean, rstd, inp, w, b, N, C, eps);
  }
  void layernorm_backward(float* dinp, float* dw, float* db, const float* dout, const float* inp,
                          const float* w, const float* mean, const float* rstd, int N, int C) override {
    norm_backward(dinp, dw, db, dout, inp, w, mean, rstd, N, C);
  }

  // ---- activations ----
  void activation_forward(ActivationKind kind, float* out, const float* inp, size_t n) override {
    enqueue("activation_forward", cuda::activation_forward, kind, out, inp, n);
  }
  void activation_backward(ActivationKind kind, float* dinp, const float* dout, const float* inp,
                           size_t n) override {
    enqueue("activation_backward", cuda::activation_backward, kind, dinp, dout, inp, n);
  }
  void swiglu_forward(float* out, const float* gate, const float* up, size_t n) override {
    enqueue("swiglu_forward", cuda::swiglu_forward, out, gate, up, n);
  }
  void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate,
                       const float* up, size_t n) override {
    enqueue("swiglu_backward", cuda::swiglu_backward, dgate, dup, dout, gate, up, n);
  }
  void geglu_forward(float* out, const float* gate, const float* up, size_t n) override {
    enqueue("geglu_forward", cuda::geglu_forward, out, gate, up, n);
  }
  void geglu_backward(float* dgate, float* dup, const float* dout, const float* gate,
                      const float* up, size_t n) override {
    enqueue("geglu_backward", cuda::geglu_backward, dgate, dup, dout, gate, up, n);
  }
  void dropout_forward(float* x, size_t n, float p, uint64_t key) override {
    enqueue("dropout_forward", cuda::dropout, x, n, p, key);
  }
  void dropout_backward(float* dx, size_t n, float p, uint64_t key) override { dropout_forward(dx, n, p, key); }

  // ---- positional encodings ----
  void rotate(float* x, int n, int ld, const RotationArgs& r, float sign) override {
    enqueue("rotate", cuda::rotate, x, n, ld, r, sign);
  }

  // ---- attention ----
  void attention_forward(const AttentionArgs& a, float* out, float* lse) override {
    enqueue("attention_forward", cuda::attention_forward, a, out, lse);
  }
  void attention_backward(const AttentionArgs& a, const float* out, const float* lse,
                          const float* dout, float* dq, float* dk, float* dv) override {
    float* delta = static_cast<float*>(scratch(kDelta, sizeof(float) * size_t(a.B) * a.H * a.Q));
    long long* acc = nullptr;
    if (a.bias && a.bias->dvalues && a.bias->extent > 0)
      acc = static_cast<long long*>(scratch(kBiasGrad, sizeof(long long) * size_t(a.bias->extent)));
    enqueue("attention_backward", cuda::attention_backward, a, out, lse, dout, dq, dk, dv, delta, acc);
  }
  void attention_probs(const AttentionArgs& a, float* probs) override {
    enqueue("attention_probs", cuda::attention_probs, a, probs);
  }

  // ---- loss ----
  double softmax_xent(float* logits, const int32_t* targets, const float* weights, int M,
                      int V) override {
    if (M <= 0) return 0.0;
    double* rows = static_cast<double*>(scratch(kRowLoss, sizeof(double) * size_t(M)));
    enqueue("softmax_xent", cuda::softmax_xent, logits, targets, weights, M, V, rows);
    const std::vector<double> loss = lengen::download(*this, rows, size_t(M));
    const std::vector<float> w = lengen::download(*this, weights, size_t(M));
    double total = 0;  // the CPU's order
    for (int m = 0; m < M; ++m) total += loss[m] * w[m];
    return total;
  }
  void log_softmax(float* logits, int M, int V) override {
    enqueue("log_softmax", cuda::log_softmax, logits, M, V);
  }

  // ---- optimizer ----
  void adamw_update(float* param, const float* grad, float* m, float* v, size_t n, const AdamWStep& p,
                    bool decay) override {
    enqueue("adamw_update", cuda::adamw_update, param, grad, m, v, n, p, decay);
  }
  double sum_squares(const float* x, size_t n) override {
    const size_t chunks = cuda::sum_chunks(n);
    if (!chunks) return 0.0;
    double* partial = static_cast<double*>(scratch(kSumSquares, sizeof(double) * chunks));
    enqueue("sum_squares", cuda::sum_squares, x, n, partial);
    double total = 0;  // chunks in order, as the CPU
    for (double s : lengen::download(*this, partial, chunks)) total += s;
    return total;
  }
  void scale(float* x, size_t n, float s) override {
    enqueue("scale", cuda::scale, x, n, s);
  }

 private:
  static constexpr size_t kWorkspaceBytes = size_t(32) << 20;
  enum ScratchSlot { kDelta, kBiasGrad, kRowLoss, kSumSquares, kNormPartials, kCopyScratch, kSlots };
  struct Scratch {
    void* p = nullptr;
    size_t bytes = 0;
  };

  void bind() const { check(cudaSetDevice(device_), "cudaSetDevice"); }
  void launched(const char* op) { check(cudaGetLastError(), op); }
  // Enqueues one kernel launcher of cuda_kernels.h on this backend's stream; a launch error
  // becomes a lengen::Error naming the op.
  template <typename... Params, typename... Args>
  void enqueue(const char* op, void (*launcher)(cudaStream_t, Params...), Args&&... args) {
    bind();
    launcher(stream_, std::forward<Args>(args)...);
    launched(op);
  }

  // A device buffer of at least `bytes` for one op's temporaries, reused across calls (stream
  // order makes the reuse safe); grown by freeing after a synchronisation.
  void* scratch(ScratchSlot slot, size_t bytes) {
    bind();
    Scratch& s = scratch_[slot];
    if (s.bytes < bytes) {
      check(cudaStreamSynchronize(stream_), "scratch");
      cudaFree(s.p);
      s = {};
      check(cudaMalloc(&s.p, bytes), "cudaMalloc (scratch)");
      s.bytes = bytes;
    }
    return s.p;
  }

  void norm_backward(float* dinp, float* dw, float* db, const float* dout, const float* inp, const float* w,
                     const float* mean, const float* rstd, int N, int C) {
    const size_t floats = 2 * size_t(cuda::norm_row_chunks(N)) * size_t(C);
    float* partials = static_cast<float*>(scratch(kNormPartials, sizeof(float) * floats));
    enqueue(mean ? "layernorm_backward" : "rmsnorm_backward", cuda::norm_backward, dinp, dw, db, dout, inp, w,
            mean, rstd, N, C, partials);
  }

  // Column-major C[m,n] = alpha op(A)[m,k] op(B)[k,n] + beta C, fp32 (or TF32 when enabled).
  void gemm(bool ta, bool tb, int m, int n, int k, const float* A, int lda, const float* B, int ldb,
            float* C, int ldc, float beta, float alpha = 1.0f) {
    if (m <= 0 || n <= 0) return;
    bind();
    if (k <= 0) {
      if (beta == 0.0f) check(cudaMemsetAsync(C, 0, sizeof(float) * size_t(m) * n, stream_), "gemm (k = 0)");
      return;
    }
    const GemmPlan& p =
        plan(GemmKey{ta, tb, m, n, k, lda, ldb, ldc, beta != 0.0f, alignment(A), alignment(B), alignment(C)});
    check(cublasLtMatmul(lt_, p.desc, &alpha, A, p.a, B, p.b, &beta, C, p.c, C, p.c, &p.algo, workspace_,
                         kWorkspaceBytes, stream_),
          "matmul");
  }

  const GemmPlan& plan(const GemmKey& key) {
    auto it = plans_.find(key);
    if (it != plans_.end()) return it->second;
    const auto [ta, tb, m, n, k, lda, ldb, ldc, accumulate, align_a, align_b, align_c] = key;
    GemmPlan p;
    const cublasComputeType_t compute = tf32_ ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    check(cublasLtMatmulDescCreate(&p.desc, compute, CUDA_R_32F), "matmul descriptor");
    const cublasOperation_t opa = ta ? CUBLAS_OP_T : CUBLAS_OP_N, opb = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
    check(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSA, &opa, sizeof(opa)), "transa");
    check(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSB, &opb, sizeof(opb)), "transb");
    check(cublasLtMatrixLayoutCreate(&p.a, CUDA_R_32F, ta ? k : m, ta ? m : k, lda), "layout A");
    check(cublasLtMatrixLayoutCreate(&p.b, CUDA_R_32F, tb ? n : k, tb ? k : n, ldb), "layout B");
    check(cublasLtMatrixLayoutCreate(&p.c, CUDA_R_32F, m, n, ldc), "layout C");
    cublasLtMatmulPreference_t pref = nullptr;
    check(cublasLtMatmulPreferenceCreate(&pref), "preference");
    const size_t ws = kWorkspaceBytes;
    check(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws)),
          "workspace preference");
    const std::pair<cublasLtMatmulPreferenceAttributes_t, uint32_t> aligns[] = {
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, align_a},
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, align_b},
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, align_c},
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, align_c}};
    for (const auto& [attr, bytes] : aligns)
      check(cublasLtMatmulPreferenceSetAttribute(pref, attr, &bytes, sizeof(bytes)), "alignment preference");
    cublasLtMatmulHeuristicResult_t result{};
    int found = 0;
    const cublasStatus_t s =
        cublasLtMatmulAlgoGetHeuristic(lt_, p.desc, p.a, p.b, p.c, p.c, pref, 1, &result, &found);
    cublasLtMatmulPreferenceDestroy(pref);
    if (s != CUBLAS_STATUS_SUCCESS || found == 0) {
      destroy(p);
      fail("cuda: cuBLASLt has no algorithm for the GEMM m {} n {} k {} ({})", m, n, k,
           s == CUBLAS_STATUS_SUCCESS ? "none found" : cublasLtGetStatusString(s));
    }
    p.algo = result.algo;
    (void)accumulate;
    return plans_.emplace(key, p).first->second;
  }

  static void destroy(GemmPlan& p) {
    if (p.a) cublasLtMatrixLayoutDestroy(p.a);
    if (p.b) cublasLtMatrixLayoutDestroy(p.b);
    if (p.c) cublasLtMatrixLayoutDestroy(p.c);
    if (p.desc) cublasLtMatmulDescDestroy(p.desc);
    p = {};
  }

  int device_;
  bool tf32_ = false;
  cudaStream_t stream_ = nullptr;
  cublasLtHandle_t lt_ = nullptr;
  void* workspace_ = nullptr;
  Scratch scratch_[kSlots];
  std::map<GemmKey, GemmPlan> plans_;
};

}  // namespace

Backend& cuda_backend(int device) {
  static std::mutex mutex;
  // Never destroyed: the CUDA runtime may be torn down before static destructors run.
  static auto* backends = new std::map<int, CudaBackend*>();
  std::lock_guard<std::mutex> lock(mutex);
  auto it = backends->find(device);
  if (it == backends->end()) it = backends->emplace(device, new CudaBackend(device)).first;
  return *it->second;
}

}  // namespace lengen
#endif  // LENGEN_CUDA
