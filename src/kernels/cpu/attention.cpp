// Causal multi-head attention over a right-padded batch: one (batch row, head) pair per task,
// its small matrix products through CBLAS (single-threaded inside the parallel region with
// the OpenMP build of OpenBLAS).
#include <cblas.h>

#include <cmath>
#include <vector>

#include "kernels/cpu/kernels.h"
#include "util/rng.h"

namespace lengen::kernels {
namespace {

// Dropout key of one (b, h) probability matrix: independent streams per pair.
uint64_t pair_key(uint64_t key, int b, int h, int H) { return hash_combine(key, uint64_t(b) * H + h); }

// probs_dropped = probs * mask / (1 - p)
void dropped_probs(float* out, const float* probs, int T, float p, uint64_t key) {
  const float scale = 1.0f / (1.0f - p);
  for (int i = 0; i < T; ++i)
    for (int j = 0; j < T; ++j) {
      const size_t idx = size_t(i) * T + j;
      out[idx] = j <= i && dropout_keep(key, idx, p) ? probs[idx] * scale : 0.0f;
    }
}

}  // namespace

void attention_forward(float* out, float* probs, const float* q, const float* k, const float* v,
                       const float* bias, const AttentionShape& s, float scale, float dropout,
                       uint64_t dropout_key) {
  const int B = s.B, T = s.T, H = s.H, dh = s.dh, ld = s.ld();
#pragma omp parallel
  {
    std::vector<float> dropped(dropout > 0 ? size_t(T) * T : 0);
#pragma omp for schedule(static)
    for (int bh = 0; bh < B * H; ++bh) {
      const int b = bh / H, h = bh % H;
      const size_t row0 = size_t(b) * T;
      const float* qb = q + row0 * ld + h * dh;
      const float* kb = k + row0 * ld + h * dh;
      const float* vb = v + row0 * ld + h * dh;
      float* P = probs + size_t(bh) * T * T;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, dh, scale, qb, ld, kb, ld, 0.0f,
                  P, T);
      const float* bb = bias ? bias + size_t(bh) * T * T : nullptr;
      for (int i = 0; i < T; ++i) {
        float* row = P + size_t(i) * T;
        if (bb)
          for (int j = 0; j <= i; ++j) row[j] += bb[size_t(i) * T + j];
        float mx = row[0];
        for (int j = 1; j <= i; ++j) mx = row[j] > mx ? row[j] : mx;
        float sum = 0;
        for (int j = 0; j <= i; ++j) {
          row[j] = std::exp(row[j] - mx);
          sum += row[j];
        }
        const float inv = 1.0f / sum;
        for (int j = 0; j <= i; ++j) row[j] *= inv;
        for (int j = i + 1; j < T; ++j) row[j] = 0.0f;
      }
      const float* Pu = P;
      if (dropout > 0) {
        dropped_probs(dropped.data(), P, T, dropout, pair_key(dropout_key, b, h, H));
        Pu = dropped.data();
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, dh, T, 1.0f, Pu, T, vb, ld, 0.0f,
                  out + row0 * ld + h * dh, ld);
    }
  }
}

void attention_backward(float* dq, float* dk, float* dv, float* dbias, const float* dout,
                        const float* q, const float* k, const float* v, const float* probs,
                        const AttentionShape& s, float scale, float dropout,
                        uint64_t dropout_key) {
  const int B = s.B, T = s.T, H = s.H, dh = s.dh, ld = s.ld();
#pragma omp parallel
  {
    std::vector<float> dP(size_t(T) * T), dropped(dropout > 0 ? size_t(T) * T : 0);
#pragma omp for schedule(static)
    for (int bh = 0; bh < B * H; ++bh) {
      const int b = bh / H, h = bh % H;
      const size_t row0 = size_t(b) * T, col = size_t(h) * dh;
      const float* qb = q + row0 * ld + col;
      const float* kb = k + row0 * ld + col;
      const float* vb = v + row0 * ld + col;
      const float* dob = dout + row0 * ld + col;
      const float* P = probs + size_t(bh) * T * T;
      const uint64_t key = pair_key(dropout_key, b, h, H);
      const float* Pu = P;
      if (dropout > 0) {
        dropped_probs(dropped.data(), P, T, dropout, key);
        Pu = dropped.data();
      }
      // dv = Pu^T dout;  dPu = dout v^T
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, dh, T, 1.0f, Pu, T, dob, ld, 0.0f,
                  dv + row0 * ld + col, ld);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, dh, 1.0f, dob, ld, vb, ld, 0.0f,
                  dP.data(), T);
      const float keep_scale = dropout > 0 ? 1.0f / (1.0f - dropout) : 1.0f;
      // dS = P * (dP - sum_j P dP), causal entries only; dP through the dropout mask.
      for (int i = 0; i < T; ++i) {
        float* d = dP.data() + size_t(i) * T;
        const float* p = P + size_t(i) * T;
        if (dropout > 0)
          for (int j = 0; j <= i; ++j)
            d[j] = dropout_keep(key, size_t(i) * T + j, dropout) ? d[j] * keep_scale : 0.0f;
        float dot = 0;
        for (int j = 0; j <= i; ++j) dot += p[j] * d[j];
        for (int j = 0; j <= i; ++j) d[j] = p[j] * (d[j] - dot);
        for (int j = i + 1; j < T; ++j) d[j] = 0.0f;
      }
      if (dbias) {
        float* db = dbias + size_t(bh) * T * T;
        for (size_t idx = 0; idx < size_t(T) * T; ++idx) db[idx] += dP[idx];
      }
      // dq = scale dS k;  dk = scale dS^T q
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, dh, T, scale, dP.data(), T, kb, ld,
                  0.0f, dq + row0 * ld + col, ld);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, dh, T, scale, dP.data(), T, qb, ld,
                  0.0f, dk + row0 * ld + col, ld);
    }
  }
}

}  // namespace lengen::kernels
