#include <cblas.h>
#include <omp.h>

#include "backend/cpu/kernels.h"

namespace lengen::kernels {

void linear_forward(float* out, const float* inp, const float* W, int N, int I, int O) {
  if (N <= kFewRows) return linear_forward_few_rows(out, inp, W, N, I, O);
  linear_forward_sgemm(out, inp, W, N, I, O);
}

void linear_forward_sgemm(float* out, const float* inp, const float* W, int N, int I, int O) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, O, I, 1.0f, inp, I, W, I, 0.0f, out, O);
}

void linear_backward(float* dinp, float* dW, const float* dout, const float* inp, const float* W,
                     int N, int I, int O, bool accumulate_dinp) {
  if (dinp)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, I, O, 1.0f, dout, O, W, I,
                accumulate_dinp ? 1.0f : 0.0f, dinp, I);
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, O, I, N, 1.0f, dout, O, inp, I, 1.0f, dW, I);
}

// Per head h: scores_h [N, C] (row stride H*C) = scale q_h [N, dh] R_h [C, dh]^T, the heads'
// columns of q and R at h*dh (row stride H*dh).
void relative_scores_forward(float* scores, const float* q, const float* R, int N, int H, int dh,
                             int C, float scale) {
  const int ld = H * dh, lds = H * C;
  for (int h = 0; h < H; ++h)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, C, dh, scale, q + h * dh, ld,
                R + h * dh, ld, 0.0f, scores + h * C, lds);
}

void relative_scores_backward(float* dq, float* dR, const float* dscores, const float* q,
                              const float* R, int N, int H, int dh, int C, float scale) {
  const int ld = H * dh, lds = H * C;
  for (int h = 0; h < H; ++h) {
    // dq_h += scale dS_h R_h;  dR_h += scale dS_h^T q_h
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, dh, C, scale, dscores + h * C, lds,
                R + h * dh, ld, 1.0f, dq + h * dh, ld);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, C, dh, N, scale, dscores + h * C, lds,
                q + h * dh, ld, 1.0f, dR + h * dh, ld);
  }
}

void embedding_forward(float* out, const int32_t* tokens, const float* table, int N, int C) {
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    const float* row = table + size_t(tokens[n]) * C;
    float* o = out + size_t(n) * C;
    for (int c = 0; c < C; ++c) o[c] = row[c];
  }
}

void embedding_backward(float* dtable, const int32_t* tokens, const float* dout, int N, int C) {
  // Split over channels, so equal tokens in different rows never race.
#pragma omp parallel
  {
    const int nt = omp_get_num_threads(), id = omp_get_thread_num();
    const int c0 = int(int64_t(C) * id / nt), c1 = int(int64_t(C) * (id + 1) / nt);
    for (int n = 0; n < N; ++n) {
      float* row = dtable + size_t(tokens[n]) * C;
      const float* d = dout + size_t(n) * C;
      for (int c = c0; c < c1; ++c) row[c] += d[c];
    }
  }
}

}  // namespace lengen::kernels
