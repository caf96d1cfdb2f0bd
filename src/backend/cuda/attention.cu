// Fused causal attention on the GPU (flash-style, fp32): one block per (query or key tile,
// batch row x head). Q/K/V tiles of kAttnTile rows live in shared memory (rows padded to an odd
// stride, so a warp reading one row per lane is conflict-free); scores of a tile are computed
// into shared memory with the score bias evaluated from its descriptor (device_math.h) and the
// causal mask; the forward keeps an online softmax per query row, the backward recomputes the
// probabilities from the saved log-sum-exp. No [T, T] matrix outlives a tile.
//
// Determinism: each output element is owned by one thread of one block. The backward runs two
// kernels, one per key tile (dk, dv: loops over the query tiles) and one per query tile (dq:
// loops over the key tiles), so nothing is accumulated across blocks in floating point. The
// bias gradient is the one scatter: its terms are added as 64-bit fixed-point integers
// (integer atomics are order-independent), pre-summed across a warp's lanes with equal
// indices, and converted once at the end.
#include <cfloat>

#include "backend/cuda/cuda_kernels.h"
#include "backend/cuda/device_math.h"
#include "backend/cuda/launch.h"

namespace lengen::cuda {
namespace {

constexpr int T = kAttnTile;
constexpr int kWarps = kAttnThreads / 32;
constexpr int kSPad = T + 1;  // row stride of a score tile

// The kernel arguments, by value (AttentionArgs holds a host pointer to the bias).
struct Attn {
  int B, H, dh, Q, ld, key_stride, pad;
  const float *q, *k, *v;
  const int32_t* past;
  float scale;
  bool biased;
  ScoreBias bias;
  float dropout, keep_scale;
  uint64_t dropout_key;
};

Attn make_attn(const AttentionArgs& a, const AttentionLaunch& l) {
  Attn p{};
  p.B = a.B, p.H = a.H, p.dh = a.dh, p.Q = a.Q, p.ld = a.ld, p.key_stride = a.key_stride, p.pad = l.row_pad;
  p.q = a.q, p.k = a.k, p.v = a.v, p.past = a.past, p.scale = a.scale;
  p.biased = a.bias != nullptr;
  if (a.bias) p.bias = *a.bias;
  p.dropout = a.dropout;
  p.keep_scale = a.dropout > 0 ? 1.0f / (1.0f - a.dropout) : 1.0f;
  p.dropout_key = a.dropout > 0 ? a.dropout_key : 0;
  return p;
}

// Shared memory of a block: per-row values, then `tiles` [T, pad] tiles, then `scores` [T, T+1].
struct Smem {
  int64_t* row_base;  // [T] bias row base of each query
  int32_t* qp;        // [T] bias stream value of each query
  float* stat[4];     // [T] each: per-row statistics
  float* tile[4];
  float* S[2];
  __device__ Smem(const Attn& a, int tiles, int scores) {
    extern __shared__ __align__(16) unsigned char smem_raw[];
    row_base = reinterpret_cast<int64_t*>(smem_raw);
    qp = reinterpret_cast<int32_t*>(row_base + T);
    float* f = reinterpret_cast<float*>(qp + T);
    for (int s = 0; s < 4; ++s) stat[s] = f + s * T;
    f += 4 * T;
    for (int t = 0; t < 4; ++t) tile[t] = t < tiles ? f + size_t(t) * T * a.pad : nullptr;
    f += size_t(tiles) * T * a.pad;
    for (int s = 0; s < 2; ++s) S[s] = s < scores ? f + s * T * kSPad : nullptr;
  }
};

// Rows r0 .. r0 + n - 1 (row stride ld) of `src` into tile [T, pad]; rows n .. T-1 zeroed.
__device__ void load_tile(float* tile, const float* src, int n, const Attn& a) {
  for (int e = threadIdx.x; e < T * a.dh; e += kAttnThreads) {
    const int r = e / a.dh, d = e % a.dh;
    tile[r * a.pad + d] = r < n ? src[size_t(r) * a.ld + d] : 0.0f;
  }
}

// Per-query bias values of the query tile starting at i0 (row b, head h).
__device__ void load_query_bias(Smem& sm, const Attn& a, int b, int h, int i0, int qn) {
  if (!a.biased) return;
  for (int i = threadIdx.x; i < qn; i += kAttnThreads) {
    const int32_t qp = a.bias.q_pos[size_t(b) * a.Q + i0 + i];
    sm.qp[i] = qp;
    sm.row_base[i] = bias_row_base(a.bias, h, qp, int64_t(b) * a.Q + i0 + i);
  }
}

__device__ float dot_rows(const float* x, const float* y, int dh) {
  float s = 0;
  for (int d = 0; d < dh; ++d) s += x[d] * y[d];
  return s;
}

// Score of query row i (tile Qs) against key row j (tile Ks): scale q.k + bias; key index kj.
__device__ float score(const Attn& a, const Smem& sm, const float* Qs, const float* Ks, int i, int j, int b,
                       int kj) {
  float s = a.scale * dot_rows(Qs + i * a.pad, Ks + j * a.pad, a.dh);
  if (a.biased) {
    const int32_t kp = a.bias.k_pos[size_t(b) * a.key_stride + kj];
    s += a.bias.values[bias_index(a.bias, sm.row_base[i], sm.qp[i], kp)];
  }
  return s;
}

// Runs f(k, row, col) for each entry e = threadIdx.x + k * kAttnThreads of a [T, dh] tile that
// this thread owns (k < kAttnPerThread, unrolled, so per-thread arrays indexed by k stay in
// registers).
template <class F>
__device__ __forceinline__ void for_owned(int dh, F&& f) {
#pragma unroll
  for (int k = 0; k < kAttnPerThread; ++k) {
    const int e = threadIdx.x + k * kAttnThreads;
    if (e >= T * dh) break;
    f(k, e / dh, e % dh);
  }
}

__device__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// ---- forward: grid (query tiles, B*H) ----
// out [B*Q, ld] (this head's columns); lse [B, H, Q] when not null.
__global__ void __launch_bounds__(kAttnThreads) attention_forward_kernel(Attn a, float* out, float* lse) {
  Smem sm(a, 3, 1);
  float *Qs = sm.tile[0], *Ks = sm.tile[1], *Vs = sm.tile[2], *S = sm.S[0];
  float *m_s = sm.stat[0], *l_s = sm.stat[1], *alpha_s = sm.stat[2];
  const int pair = blockIdx.y, b = pair / a.H, h = pair % a.H;
  const int past = a.past ? a.past[b] : 0;
  const int i0 = blockIdx.x * T, qn = min(T, a.Q - i0);
  const size_t col = size_t(h) * a.dh;
  const uint64_t key = a.dropout > 0 ? attention_pair_key(a.dropout_key, b, h, a.H) : 0;
  load_tile(Qs, a.q + (size_t(b) * a.Q + i0) * a.ld + col, qn, a);
  load_query_bias(sm, a, b, h, i0, qn);
  for (int i = threadIdx.x; i < T; i += kAttnThreads) m_s[i] = -INFINITY, l_s[i] = 0.0f;
  float o[kAttnPerThread] = {};

  const int keys = past + i0 + qn;  // keys any query of the tile sees
  for (int j0 = 0; j0 < keys; j0 += T) {
    const int kn = min(T, keys - j0);
    __syncthreads();  // the previous tile's readers are done
    const size_t krow = (size_t(b) * a.key_stride + j0) * a.ld + col;
    load_tile(Ks, a.k + krow, kn, a);
    load_tile(Vs, a.v + krow, kn, a);
    __syncthreads();
    for (int e = threadIdx.x; e < T * T; e += kAttnThreads) {
      const int i = e / T, j = e % T;
      const bool visible = i < qn && j < kn && j0 + j <= past + i0 + i;
      S[i * kSPad + j] = visible ? score(a, sm, Qs, Ks, i, j, b, j0 + j) : -INFINITY;
    }
    __syncthreads();
    // Online softmax: warp w takes rows w, w + kWarps, ...; lane = key.
    const int lane = threadIdx.x % 32;
    for (int i = threadIdx.x / 32; i < T; i += kWarps) {
      float& s = S[i * kSPad + lane];
      const float m_old = m_s[i], mx = warp_max(fmaxf(m_old, s));
      if (mx == -INFINITY) {  // nothing visible to this row yet (or a padding row)
        s = 0.0f;
        if (lane == 0) alpha_s[i] = 1.0f;
        continue;
      }
      const float alpha = exp_nonpositive(m_old - mx);
      float p = exp_nonpositive(s - mx);
      const float sum = warp_sum(p);
      if (a.dropout > 0 && lane < kn) {
        const uint64_t at = uint64_t(past + i0 + i) * a.key_stride + j0 + lane;
        p = dropout_keep(key, at, a.dropout) ? p * a.keep_scale : 0.0f;
      }
      s = p;
      if (lane == 0) l_s[i] = l_s[i] * alpha + sum, m_s[i] = mx, alpha_s[i] = alpha;
    }
    __syncthreads();
    for_owned(a.dh, [&](int k, int i, int d) {
      float acc = 0.0f;
      for (int j = 0; j < kn; ++j) acc += S[i * kSPad + j] * Vs[j * a.pad + d];
      o[k] = o[k] * alpha_s[i] + acc;
    });
  }
  __syncthreads();
  for_owned(a.dh, [&](int k, int i, int d) {
    if (i < qn) out[(size_t(b) * a.Q + i0 + i) * a.ld + col + d] = o[k] * (1.0f / l_s[i]);
  });
  if (lse)
    for (int i = threadIdx.x; i < qn; i += kAttnThreads)
      lse[size_t(pair) * a.Q + i0 + i] = m_s[i] + logf(l_s[i]);
}

// ---- backward ----
// delta[pair, i] = dO_i . O_i (this head's columns): one warp per (pair, query).
__global__ void attention_delta_kernel(Attn a, const float* out, const float* dout, float* delta) {
  const size_t w = (size_t(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  if (w >= size_t(a.B) * a.H * a.Q) return;
  const int i = int(w % a.Q), pair = int(w / a.Q), b = pair / a.H, h = pair % a.H;
  const size_t row = (size_t(b) * a.Q + i) * a.ld + size_t(h) * a.dh;
  float s = 0;
  for (int d = threadIdx.x % 32; d < a.dh; d += 32) s += out[row + d] * dout[row + d];
  s = warp_sum(s);
  if (threadIdx.x % 32 == 0) delta[w] = s;
}

// Loads the query side of a backward tile: Q and dO rows, lse and delta, bias rows.
__device__ void load_query_side(Smem& sm, const Attn& a, const float* dout, const float* lse,
                                const float* delta, int b, int h, int i0, int qn) {
  const size_t row = (size_t(b) * a.Q + i0) * a.ld + size_t(h) * a.dh;
  load_tile(sm.tile[2], a.q + row, qn, a);
  load_tile(sm.tile[3], dout + row, qn, a);
  const size_t pair_row = (size_t(b) * a.H + h) * a.Q + i0;
  for (int i = threadIdx.x; i < T; i += kAttnThreads) {
    sm.stat[0][i] = i < qn ? lse[pair_row + i] : 0.0f;
    sm.stat[1][i] = i < qn ? delta[pair_row + i] : 0.0f;
  }
  load_query_bias(sm, a, b, h, i0, qn);
}

// dS (and the probabilities after dropout, when P is given) of the tile (query i0, key j0):
// P = exp(S - lse), masked to 0; dS = P (dP - delta), dP = dO V^T through the dropout mask.
// Tiles: K = tile[0], V = tile[1], Q = tile[2], dO = tile[3]. Returns after a barrier.
__device__ void backward_tile(const Smem& sm, const Attn& a, int b, uint64_t key, int i0, int qn, int j0,
                              int kn, float* P, float* dS) {
  for (int e = threadIdx.x; e < T * T; e += kAttnThreads) {
    const int i = e / T, j = e % T;
    const bool visible = i < qn && j < kn && j0 + j <= i0 + i;
    float p = 0.0f, ds = 0.0f, pd = 0.0f;
    if (visible) {
      p = exp_nonpositive(score(a, sm, sm.tile[2], sm.tile[0], i, j, b, j0 + j) - sm.stat[0][i]);
      float dp = dot_rows(sm.tile[3] + i * a.pad, sm.tile[1] + j * a.pad, a.dh);
      pd = p;
      if (a.dropout > 0) {
        const bool keep = dropout_keep(key, uint64_t(i0 + i) * a.key_stride + j0 + j, a.dropout);
        pd = keep ? p * a.keep_scale : 0.0f;
        dp = keep ? dp * a.keep_scale : 0.0f;
      }
      ds = p * (dp - sm.stat[1][i]);
    }
    if (P) P[i * kSPad + j] = pd;
    dS[i * kSPad + j] = ds;
  }
  __syncthreads();
}

// dk, dv of one key tile: grid (key tiles, B*H). Loops over the query tiles at or below the
// diagonal; each thread owns (key, channel) entries of dk and dv.
__global__ void __launch_bounds__(kAttnThreads) attention_backward_kv_kernel(Attn a, const float* dout,
                                                                             const float* lse,
                                                                             const float* delta, float* dk,
                                                                             float* dv) {
  Smem sm(a, 4, 2);
  const int pair = blockIdx.y, b = pair / a.H, h = pair % a.H;
  const int j0 = blockIdx.x * T, kn = min(T, a.Q - j0);
  const size_t col = size_t(h) * a.dh;
  const uint64_t key = a.dropout > 0 ? attention_pair_key(a.dropout_key, b, h, a.H) : 0;
  const size_t krow = (size_t(b) * a.key_stride + j0) * a.ld + col;
  load_tile(sm.tile[0], a.k + krow, kn, a);
  load_tile(sm.tile[1], a.v + krow, kn, a);
  float dk_acc[kAttnPerThread] = {}, dv_acc[kAttnPerThread] = {};
  for (int i0 = j0; i0 < a.Q; i0 += T) {
    const int qn = min(T, a.Q - i0);
    __syncthreads();
    load_query_side(sm, a, dout, lse, delta, b, h, i0, qn);
    __syncthreads();
    backward_tile(sm, a, b, key, i0, qn, j0, kn, sm.S[0], sm.S[1]);
    const float *P = sm.S[0], *dS = sm.S[1], *Qs = sm.tile[2], *dOs = sm.tile[3];
    for_owned(a.dh, [&](int k, int j, int d) {
      float sv = 0.0f, sk = 0.0f;
      for (int i = 0; i < qn; ++i) {
        sv += P[i * kSPad + j] * dOs[i * a.pad + d];
        sk += dS[i * kSPad + j] * Qs[i * a.pad + d];
      }
      dv_acc[k] += sv;
      dk_acc[k] += a.scale * sk;
    });
  }
  for_owned(a.dh, [&](int k, int j, int d) {
    if (j >= kn) return;
    const size_t at = (size_t(b) * a.Q + j0 + j) * a.ld + col + d;
    dk[at] = dk_acc[k];
    dv[at] = dv_acc[k];
  });
}

// The bias gradient terms of a dS tile into the fixed-point accumulator: a warp holds one query
// row (lane = key); lanes with equal indices are summed by their lowest lane, which adds once.
__device__ void accumulate_bias_grad(const Smem& sm, const Attn& a, int b, int i0, int qn, int j0, int kn,
                                     const float* dS, long long* acc, long long* warp_slots) {
  const int lane = threadIdx.x % 32;
  long long* slot = warp_slots + (threadIdx.x / 32) * 32;
  for (int e = threadIdx.x; e < T * T; e += kAttnThreads) {  // T * T is a multiple of the block
    const int i = e / T, j = e % T;
    const bool visible = i < qn && j < kn && j0 + j <= i0 + i;
    long long index = -1;
    if (visible) index = bias_index(a.bias, sm.row_base[i], sm.qp[i], a.bias.k_pos[size_t(b) * a.key_stride + j0 + j]);
    slot[lane] = visible ? to_fixed(dS[i * kSPad + j]) : 0;
    const unsigned peers = __match_any_sync(0xffffffffu, index);
    __syncwarp();
    if (visible && lane == __ffs(peers) - 1) {
      long long total = 0;
      for (unsigned m = peers; m; m &= m - 1) total += slot[__ffs(m) - 1];
      if (total) atomicAdd(reinterpret_cast<unsigned long long*>(acc + index), static_cast<unsigned long long>(total));
    }
    __syncwarp();
  }
}

// dq of one query tile (and the bias gradient): grid (query tiles, B*H). Loops over the key
// tiles up to the diagonal; each thread owns (query, channel) entries of dq.
__global__ void __launch_bounds__(kAttnThreads) attention_backward_q_kernel(Attn a, const float* dout,
                                                                            const float* lse,
                                                                            const float* delta, float* dq,
                                                                            long long* bias_acc) {
  Smem sm(a, 4, 2);
  long long* warp_slots = reinterpret_cast<long long*>(sm.S[1] + T * kSPad);
  const int pair = blockIdx.y, b = pair / a.H, h = pair % a.H;
  const int i0 = blockIdx.x * T, qn = min(T, a.Q - i0);
  const size_t col = size_t(h) * a.dh;
  const uint64_t key = a.dropout > 0 ? attention_pair_key(a.dropout_key, b, h, a.H) : 0;
  load_query_side(sm, a, dout, lse, delta, b, h, i0, qn);
  float dq_acc[kAttnPerThread] = {};
  for (int j0 = 0; j0 < i0 + qn; j0 += T) {
    const int kn = min(T, i0 + qn - j0);
    __syncthreads();
    const size_t krow = (size_t(b) * a.key_stride + j0) * a.ld + col;
    load_tile(sm.tile[0], a.k + krow, kn, a);
    load_tile(sm.tile[1], a.v + krow, kn, a);
    __syncthreads();
    backward_tile(sm, a, b, key, i0, qn, j0, kn, nullptr, sm.S[1]);
    const float *dS = sm.S[1], *Ks = sm.tile[0];
    if (bias_acc) accumulate_bias_grad(sm, a, b, i0, qn, j0, kn, dS, bias_acc, warp_slots);
    for_owned(a.dh, [&](int k, int i, int d) {
      float s = 0.0f;
      for (int j = 0; j < kn; ++j) s += dS[i * kSPad + j] * Ks[j * a.pad + d];
      dq_acc[k] += a.scale * s;
    });
  }
  for_owned(a.dh, [&](int k, int i, int d) {
    if (i < qn) dq[(size_t(b) * a.Q + i0 + i) * a.ld + col + d] = dq_acc[k];
  });
}

// dvalues[e] += acc[e] (fixed point back to float; untouched entries stay as they are)
__global__ void bias_grad_finish_kernel(float* dvalues, const long long* acc, int64_t extent) {
  const int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e < extent && acc[e] != 0) dvalues[e] += from_fixed(acc[e]);
}

// ---- probabilities: grid (query tiles, B*H); probs [B, H, Q, past + Q] ----
__global__ void __launch_bounds__(kAttnThreads) attention_probs_kernel(Attn a, float* probs) {
  Smem sm(a, 2, 1);
  float *Qs = sm.tile[0], *Ks = sm.tile[1];
  const int pair = blockIdx.y, b = pair / a.H, h = pair % a.H;
  const int past = a.past ? a.past[b] : 0, n = past + a.Q;
  const int i0 = blockIdx.x * T, qn = min(T, a.Q - i0);
  const size_t col = size_t(h) * a.dh;
  float* P = probs + size_t(pair) * a.Q * n;
  load_tile(Qs, a.q + (size_t(b) * a.Q + i0) * a.ld + col, qn, a);
  load_query_bias(sm, a, b, h, i0, qn);
  const int keys = past + i0 + qn;
  for (int j0 = 0; j0 < keys; j0 += T) {  // scores into the output rows
    const int kn = min(T, keys - j0);
    __syncthreads();
    load_tile(Ks, a.k + (size_t(b) * a.key_stride + j0) * a.ld + col, kn, a);
    __syncthreads();
    for (int e = threadIdx.x; e < T * T; e += kAttnThreads) {
      const int i = e / T, j = e % T;
      if (i < qn && j < kn && j0 + j <= past + i0 + i)
        P[size_t(i0 + i) * n + j0 + j] = score(a, sm, Qs, Ks, i, j, b, j0 + j);
    }
  }
  __syncthreads();
  const int lane = threadIdx.x % 32;
  for (int i = threadIdx.x / 32; i < qn; i += kWarps) {  // exact softmax per row
    float* row = P + size_t(i0 + i) * n;
    const int visible = past + i0 + i + 1;
    float mx = -INFINITY;
    for (int j = lane; j < visible; j += 32) mx = fmaxf(mx, row[j]);
    mx = warp_max(mx);
    float sum = 0.0f;
    for (int j = lane; j < visible; j += 32) sum += exp_nonpositive(row[j] - mx);
    sum = warp_sum(sum);
    for (int j = lane; j < visible; j += 32) row[j] = exp_nonpositive(row[j] - mx) / sum;
    for (int j = visible + lane; j < n; j += 32) row[j] = 0.0f;
  }
}

}  // namespace

void attention_init() {
  AttentionArgs biggest;
  biggest.B = biggest.H = biggest.Q = 1, biggest.dh = kMaxHeadDim, biggest.ld = kMaxHeadDim;
  biggest.key_stride = 1;
  const AttentionLaunch l = attention_launch(biggest);
  cudaFuncSetAttribute(attention_forward_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(l.forward_smem));
  cudaFuncSetAttribute(attention_backward_kv_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                       int(l.backward_kv_smem));
  cudaFuncSetAttribute(attention_backward_q_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                       int(l.backward_q_smem));
  cudaFuncSetAttribute(attention_probs_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(l.probs_smem));
}

void attention_forward(cudaStream_t s, const AttentionArgs& args, float* out, float* lse) {
  const AttentionLaunch l = attention_launch(args);
  const Attn a = make_attn(args, l);
  attention_forward_kernel<<<dim3(l.query_tiles, l.pairs), kAttnThreads, l.forward_smem, s>>>(a, out, lse);
}

void attention_backward(cudaStream_t s, const AttentionArgs& args, const float* out, const float* lse,
                        const float* dout, float* dq, float* dk, float* dv, float* delta,
                        long long* bias_acc) {
  const AttentionLaunch l = attention_launch(args);
  Attn a = make_attn(args, l);
  a.past = nullptr;  // training: the queries are the keys (as the CPU's backward)
  const size_t warps = size_t(args.B) * args.H * args.Q;
  attention_delta_kernel<<<unsigned((warps * 32 + kAttnThreads - 1) / kAttnThreads), kAttnThreads, 0, s>>>(
      a, out, dout, delta);
  attention_backward_kv_kernel<<<dim3(l.key_tiles, l.pairs), kAttnThreads, l.backward_kv_smem, s>>>(
      a, dout, lse, delta, dk, dv);
  const bool bias_grad = args.bias && args.bias->dvalues && bias_acc;
  if (bias_grad) cudaMemsetAsync(bias_acc, 0, sizeof(long long) * size_t(args.bias->extent), s);
  attention_backward_q_kernel<<<dim3(l.query_tiles, l.pairs), kAttnThreads, l.backward_q_smem, s>>>(
      a, dout, lse, delta, dq, bias_grad ? bias_acc : nullptr);
  if (bias_grad && args.bias->extent > 0)
    bias_grad_finish_kernel<<<unsigned((args.bias->extent + 255) / 256), 256, 0, s>>>(args.bias->dvalues, bias_acc,
                                                                                      args.bias->extent);
}

void attention_probs(cudaStream_t s, const AttentionArgs& args, float* probs) {
  const AttentionLaunch l = attention_launch(args);
  const Attn a = make_attn(args, l);
  attention_probs_kernel<<<dim3(l.query_tiles, l.pairs), kAttnThreads, l.probs_smem, s>>>(a, probs);
}

}  // namespace lengen::cuda
