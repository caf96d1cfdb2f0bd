// Fused causal attention (flash-style): for each (batch row, head), query tiles against key
// tiles with an online softmax, the score bias evaluated from its descriptor inside the tile.
// Memory per thread is one tile of scores; the backward recomputes the probabilities from q, k
// and the saved log-sum-exp instead of keeping a [T, T] matrix per (row, head). The tile
// products go through CBLAS (single-threaded inside the parallel region with the OpenMP build
// of OpenBLAS). Sequences no longer than a tile take exactly one tile: a [T, T] block.
#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "backend/cpu/kernels.h"
#include "util/rng.h"

namespace lengen::kernels {
namespace {

constexpr int kQueryTile = 64;
constexpr int kKeyTile = 128;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// exp(x) for x <= 0 (a score minus its row's maximum), 0 below e^-40 = 4e-18: such terms are
// below the float resolution of the row's sum (>= 1) even over 10^5 keys, and flushing them
// keeps denormals out of the tile products, where each costs a slow micro-code assist
// (ALiBi's far keys reach e^-500; their products with small gradients underflow).
inline float exp_nonpositive(float x) { return x < -40.0f ? 0.0f : std::exp(x); }

// Dropout key of one (b, h) probability matrix: independent streams per pair; element
// (query i, key j) has index i * key_stride + j.
uint64_t pair_key(uint64_t key, int b, int h, int H) { return hash_combine(key, uint64_t(b) * H + h); }

// Where the bias of query `query` (= b * Q + a, stream value qp) of head h reads: entry
// row_base + column offset of the distance to each key.
struct BiasRow {
  const ScoreBias* s = nullptr;
  int64_t base = 0;
  int32_t qp = 0;
  BiasRow(const ScoreBias* bias, int h, int32_t q_pos, int64_t query) : s(bias), qp(q_pos) {
    if (!s) return;
    int64_t row = 0;
    if (s->row_of) row = s->row_of[std::clamp<int64_t>(q_pos, s->qmin, s->qmax) - s->qmin];
    base = int64_t(h) * s->h_stride + row * s->r_stride + query * s->q_stride;
  }
  int64_t index(int32_t kp) const {
    const int64_t d = std::clamp<int64_t>(int64_t(qp) - kp, s->dmin, s->dmax);
    return base + int64_t(s->col_of[d - s->dmin]) * s->c_stride;
  }
};

// The per-(row, head) view of the arguments.
struct Pair {
  int b, h, past, n;  // n = past + Q keys
  const float *q, *k, *v;
  const int32_t *q_pos, *k_pos;
  Pair(const AttentionArgs& a, int bh) {
    b = bh / a.H, h = bh % a.H;
    past = a.past ? a.past[b] : 0;
    n = past + a.Q;
    const size_t col = size_t(h) * a.dh;
    q = a.q + size_t(b) * a.Q * a.ld + col;
    k = a.k + size_t(b) * a.key_stride * a.ld + col;
    v = a.v + size_t(b) * a.key_stride * a.ld + col;
    q_pos = a.bias ? a.bias->q_pos + size_t(b) * a.Q : nullptr;
    k_pos = a.bias ? a.bias->k_pos + size_t(b) * a.key_stride : nullptr;
  }
};

// S[qn, kn] (row stride kKeyTile) = scale q_tile k_tile^T + bias, with -inf where key j0 + j
// lies after query i0 + i (causal). Returns nothing; masked entries are -inf.
void scores_tile(const AttentionArgs& a, const Pair& p, int i0, int qn, int j0, int kn,
                 float* S) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, qn, kn, a.dh, a.scale,
              p.q + size_t(i0) * a.ld, a.ld, p.k + size_t(j0) * a.ld, a.ld, 0.0f, S, kKeyTile);
  for (int i = 0; i < qn; ++i) {
    float* row = S + size_t(i) * kKeyTile;
    const int last = p.past + i0 + i - j0;  // keys j <= last are visible
    const int visible = std::clamp(last + 1, 0, kn);
    if (a.bias) {
      const BiasRow br(a.bias, p.h, p.q_pos[i0 + i], int64_t(p.b) * a.Q + i0 + i);
      const float* values = a.bias->values;
      for (int j = 0; j < visible; ++j) row[j] += values[br.index(p.k_pos[j0 + j])];
    }
    for (int j = visible; j < kn; ++j) row[j] = kNegInf;
  }
}

// Thread-local scratch that grows once and is then reused (no allocation per call).
std::vector<float>& scratch(int which) {
  thread_local std::vector<float> buffers[3];
  std::vector<float>& b = buffers[which];
  if (b.size() < size_t(kQueryTile) * kKeyTile) b.resize(size_t(kQueryTile) * kKeyTile);
  return b;
}

}  // namespace

void attention_forward(const AttentionArgs& a, float* out, float* lse) {
  const float p_drop = a.dropout, keep_scale = p_drop > 0 ? 1.0f / (1.0f - p_drop) : 1.0f;
#pragma omp parallel
  {
    float* S = scratch(0).data();
    float m[kQueryTile], l[kQueryTile];
#pragma omp for schedule(static)
    for (int bh = 0; bh < a.B * a.H; ++bh) {
      const Pair p(a, bh);
      float* ob = out + size_t(p.b) * a.Q * a.ld + size_t(p.h) * a.dh;
      const uint64_t key = p_drop > 0 ? pair_key(a.dropout_key, p.b, p.h, a.H) : 0;
      for (int i0 = 0; i0 < a.Q; i0 += kQueryTile) {
        const int qn = std::min(kQueryTile, a.Q - i0);
        for (int i = 0; i < qn; ++i) {
          m[i] = kNegInf, l[i] = 0.0f;
          std::fill_n(ob + size_t(i0 + i) * a.ld, a.dh, 0.0f);
        }
        const int keys = p.past + i0 + qn;  // keys any query of the tile sees
        for (int j0 = 0; j0 < keys; j0 += kKeyTile) {
          const int kn = std::min(kKeyTile, keys - j0);
          scores_tile(a, p, i0, qn, j0, kn, S);
          for (int i = 0; i < qn; ++i) {
            float* row = S + size_t(i) * kKeyTile;
            float mx = m[i];
            for (int j = 0; j < kn; ++j) mx = std::max(mx, row[j]);
            if (mx == kNegInf) {  // nothing visible in this tile yet
              std::fill_n(row, kn, 0.0f);
              continue;
            }
            const float alpha = exp_nonpositive(m[i] - mx);  // 0 on the first visible tile
            float sum = 0.0f;
            for (int j = 0; j < kn; ++j) sum += (row[j] = exp_nonpositive(row[j] - mx));
            l[i] = l[i] * alpha + sum;
            m[i] = mx;
            if (alpha != 1.0f) {
              float* o = ob + size_t(i0 + i) * a.ld;
              for (int d = 0; d < a.dh; ++d) o[d] *= alpha;
            }
            if (p_drop > 0) {
              const size_t base = size_t(p.past + i0 + i) * a.key_stride + j0;
              for (int j = 0; j < kn; ++j)
                row[j] = dropout_keep(key, base + j, p_drop) ? row[j] * keep_scale : 0.0f;
            }
          }
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, qn, a.dh, kn, 1.0f, S, kKeyTile,
                      p.v + size_t(j0) * a.ld, a.ld, 1.0f, ob + size_t(i0) * a.ld, a.ld);
        }
        for (int i = 0; i < qn; ++i) {
          const float inv = 1.0f / l[i];
          float* o = ob + size_t(i0 + i) * a.ld;
          for (int d = 0; d < a.dh; ++d) o[d] *= inv;
          if (lse) lse[(size_t(p.b) * a.H + p.h) * a.Q + i0 + i] = m[i] + std::log(l[i]);
        }
      }
    }
  }
}

void attention_backward(const AttentionArgs& a, const float* out, const float* lse,
                        const float* dout, float* dq, float* dk, float* dv) {
  const float p_drop = a.dropout, keep_scale = p_drop > 0 ? 1.0f / (1.0f - p_drop) : 1.0f;
  const ScoreBias* bias = a.bias && a.bias->dvalues ? a.bias : nullptr;
  // Bias gradients: one accumulator per thread, summed in thread order afterwards; a table
  // with a row per query is written by the one thread of its (row, head) pair directly.
  const bool shared_rows = bias && bias->q_stride == 0;
  std::vector<std::vector<double>> bias_grad(shared_rows ? size_t(omp_get_max_threads()) : 0);
#pragma omp parallel
  {
    float* S = scratch(0).data();   // probabilities
    float* dP = scratch(1).data();  // d(probabilities), then d(scores)
    float* Pd = scratch(2).data();  // probabilities after dropout
    float D[kQueryTile];
    std::vector<double>* acc = nullptr;
    if (shared_rows) {
      acc = &bias_grad[size_t(omp_get_thread_num())];
      acc->assign(size_t(bias->extent), 0.0);
    }
#pragma omp for schedule(static)
    for (int bh = 0; bh < a.B * a.H; ++bh) {
      const Pair p(a, bh);
      const size_t row0 = size_t(p.b) * a.Q * a.ld + size_t(p.h) * a.dh;
      const float *ob = out + row0, *dob = dout + row0;
      float *dqb = dq + row0, *dkb = dk + row0, *dvb = dv + row0;
      const float* lse_b = lse + (size_t(p.b) * a.H + p.h) * a.Q;
      const uint64_t key = p_drop > 0 ? pair_key(a.dropout_key, p.b, p.h, a.H) : 0;
      for (int t = 0; t < a.Q; ++t) {
        std::fill_n(dqb + size_t(t) * a.ld, a.dh, 0.0f);
        std::fill_n(dkb + size_t(t) * a.ld, a.dh, 0.0f);
        std::fill_n(dvb + size_t(t) * a.ld, a.dh, 0.0f);
      }
      for (int i0 = 0; i0 < a.Q; i0 += kQueryTile) {
        const int qn = std::min(kQueryTile, a.Q - i0);
        for (int i = 0; i < qn; ++i) {  // D_i = dO_i . O_i = sum_j P_ij dP_ij
          const float *o = ob + size_t(i0 + i) * a.ld, *d = dob + size_t(i0 + i) * a.ld;
          float s = 0.0f;
          for (int c = 0; c < a.dh; ++c) s += o[c] * d[c];
          D[i] = s;
        }
        const int keys = i0 + qn;
        for (int j0 = 0; j0 < keys; j0 += kKeyTile) {
          const int kn = std::min(kKeyTile, keys - j0);
          scores_tile(a, p, i0, qn, j0, kn, S);
          for (int i = 0; i < qn; ++i) {
            float* row = S + size_t(i) * kKeyTile;
            const float m = lse_b[i0 + i];
            for (int j = 0; j < kn; ++j) row[j] = exp_nonpositive(row[j] - m);  // masked: 0
            if (p_drop > 0) {
              const size_t base = size_t(i0 + i) * a.key_stride + j0;
              for (int j = 0; j < kn; ++j)
                Pd[size_t(i) * kKeyTile + j] =
                    dropout_keep(key, base + j, p_drop) ? row[j] * keep_scale : 0.0f;
            }
          }
          const float* Pu = p_drop > 0 ? Pd : S;
          // dv += Pu^T dout;  dP = dout v^T
          cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, kn, a.dh, qn, 1.0f, Pu, kKeyTile,
                      dob + size_t(i0) * a.ld, a.ld, 1.0f, dvb + size_t(j0) * a.ld, a.ld);
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, qn, kn, a.dh, 1.0f,
                      dob + size_t(i0) * a.ld, a.ld, p.v + size_t(j0) * a.ld, a.ld, 0.0f, dP,
                      kKeyTile);
          // dS = P (dP - D), dP through the dropout mask.
          for (int i = 0; i < qn; ++i) {
            const float* pr = S + size_t(i) * kKeyTile;
            float* d = dP + size_t(i) * kKeyTile;
            if (p_drop > 0) {
              const size_t base = size_t(i0 + i) * a.key_stride + j0;
              for (int j = 0; j < kn; ++j)
                d[j] = dropout_keep(key, base + j, p_drop) ? d[j] * keep_scale : 0.0f;
            }
            for (int j = 0; j < kn; ++j) d[j] = pr[j] * (d[j] - D[i]);
            if (bias) {
              const BiasRow br(bias, p.h, p.q_pos[i0 + i], int64_t(p.b) * a.Q + i0 + i);
              const int visible = std::clamp(i0 + i - j0 + 1, 0, kn);
              if (acc)
                for (int j = 0; j < visible; ++j) (*acc)[size_t(br.index(p.k_pos[j0 + j]))] += d[j];
              else
                for (int j = 0; j < visible; ++j) bias->dvalues[br.index(p.k_pos[j0 + j])] += d[j];
            }
          }
          // dq += scale dS k;  dk += scale dS^T q
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, qn, a.dh, kn, a.scale, dP,
                      kKeyTile, p.k + size_t(j0) * a.ld, a.ld, 1.0f, dqb + size_t(i0) * a.ld, a.ld);
          cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, kn, a.dh, qn, a.scale, dP,
                      kKeyTile, p.q + size_t(i0) * a.ld, a.ld, 1.0f, dkb + size_t(j0) * a.ld, a.ld);
        }
      }
    }
  }
  if (!shared_rows) return;
  std::vector<double> total(size_t(bias->extent), 0.0);
  for (const auto& t : bias_grad)
    for (size_t i = 0; i < t.size(); ++i) total[i] += t[i];
  for (size_t i = 0; i < total.size(); ++i)
    if (total[i] != 0.0) bias->dvalues[i] += float(total[i]);
}

void attention_probs(const AttentionArgs& a, float* probs) {
#pragma omp parallel
  {
    float* S = scratch(0).data();
#pragma omp for schedule(static)
    for (int bh = 0; bh < a.B * a.H; ++bh) {
      const Pair p(a, bh);
      float* P = probs + size_t(bh) * a.Q * p.n;
      for (int i0 = 0; i0 < a.Q; i0 += kQueryTile) {
        const int qn = std::min(kQueryTile, a.Q - i0);
        const int keys = p.past + i0 + qn;
        // First pass: scores into the output rows; second: exact softmax per row.
        for (int j0 = 0; j0 < keys; j0 += kKeyTile) {
          const int kn = std::min(kKeyTile, keys - j0);
          scores_tile(a, p, i0, qn, j0, kn, S);
          for (int i = 0; i < qn; ++i)
            std::copy_n(S + size_t(i) * kKeyTile, kn, P + size_t(i0 + i) * p.n + j0);
        }
        for (int i = 0; i < qn; ++i) {
          float* row = P + size_t(i0 + i) * p.n;
          const int visible = p.past + i0 + i + 1;
          float mx = kNegInf;
          for (int j = 0; j < visible; ++j) mx = std::max(mx, row[j]);
          float sum = 0.0f;
          for (int j = 0; j < visible; ++j) sum += (row[j] = exp_nonpositive(row[j] - mx));
          for (int j = 0; j < visible; ++j) row[j] /= sum;
          std::fill(row + visible, row + p.n, 0.0f);
        }
      }
    }
  }
}

}  // namespace lengen::kernels
