// An encoding's plan: what it asks of the engine's generic ops for one call (a training batch,
// a prefill, a decoding step), built on the host from the tokens' positions and its learned
// tensors, then copied to the device by the engine:
//   input     x[t] += table[ids[t]]                      (abs_sin, abs_learned, abacus, BiPE)
//   rotation  q, k pairs rotated by per-token angles     (rotary, xpos, bipe_rope, RoPE scaling)
//   bias      scores += a compact per-head table indexed (t5_bias, alibi, kerple, fire,
//             by distance (and query position)            bipe_alibi)
//   relative  the bias computed per layer from the queries (transformer_xl)
// The op descriptors are in backend/backend.h (RotationArgs, ScoreBias).
#pragma once
#include <cstdint>
#include <vector>

#include "pe/streams.h"

namespace lengen {

// The positions of one call. Streams are laid out [B, row_stride]; row b holds past[b] + Q
// tokens, of which the last Q are the new tokens (the queries); all are keys.
struct PositionView {
  int B = 0, Q = 0, row_stride = 0;
  const int32_t* past = nullptr;  // [B], null: 0 (training)
  TokenStreams streams;
  int past_of(int b) const { return past ? past[b] : 0; }
  // Stream s of query a of row b.
  int32_t query(Stream s, int b, int a) const {
    return streams[s][size_t(b) * row_stride + past_of(b) + a];
  }
  int32_t key(Stream s, int b, int j) const { return streams[s][size_t(b) * row_stride + j]; }
};

constexpr int64_t kNoParameter = -1;

struct InputPlan {
  bool active = false;
  int64_t table_param = kNoParameter;  // offset of a learned table [rows, D], or
  std::vector<float> table;            // a table computed for this call [rows, D]
  int rows = 0;
  std::vector<int32_t> ids;  // [B*Q] the row of each new token
  int frozen_row = -1;       // a learned row that receives no gradient
};

struct RotationPlan {
  bool active = false;
  int half = 0;  // rotated pairs per head
  bool interleaved = false;
  std::vector<float> cos, sin;          // [B*Q, half] of each new token
  std::vector<float> q_scale, k_scale;  // [B*Q, half] pair scales (xpos), or empty
  float uniform_scale = 1.0f;           // of whole queries and keys (YaRN)
};

// bias(h, query, key) = values[h * h_stride + row(qp) * r_stride + col(qp - kp) * c_stride] on
// the stream `stream` (qp, kp: the query's and the key's values), col(d) = col_of[clamp(d) -
// dmin], row(qp) = row_of[clamp(qp) - qmin] (empty row_of: row 0).
struct BiasPlan {
  bool active = false;
  Stream stream = Stream::Position;
  int64_t values_param = kNoParameter;  // learned values in the parameters, or
  std::vector<float> values;            // values computed for this call
  int64_t h_stride = 0, r_stride = 0, c_stride = 1, extent = 0;
  std::vector<int32_t> col_of;
  int dmin = 0, dmax = 0;
  std::vector<int32_t> row_of;
  int qmin = 0, qmax = 0;
  // Computed values whose gradient the encoding maps to its parameters (plan_backward).
  bool computed_values_learned = false;
};

// Transformer-XL's relative position keys (Dai et al. 2019), per layer l:
//   score(h, query n, key) = scale ((q_n + u_h) . k + (q_n + v_h) . (W_r e_c)_h)
// with e_c = embeddings row c of the distance's bias column (BiasPlan col_of, dmin, dmax), and
// W_r [H*dh, D], u, v [H, dh] the layer's tensors. The engine computes the bias table [B*Q, H,
// rows] per layer (a row per query) and points BiasPlan's ScoreBias at it.
struct RelativeKeysPlan {
  bool active = false;
  std::vector<float> embeddings;  // [rows, D]
  int rows = 0;
  struct Layer {
    int64_t r_weight = kNoParameter, content_bias = kNoParameter, position_bias = kNoParameter;
  };
  std::vector<Layer> layers;
};

struct EncodingPlan {
  InputPlan input;
  RotationPlan rotation;
  BiasPlan bias;
  RelativeKeysPlan relative;
};

// Host access to the encoding's own (small) learned tensors, for plans computed from them, and
// to their gradients. Offsets are those of the parameter layout.
class ParamAccess {
 public:
  virtual ~ParamAccess() = default;
  virtual std::vector<float> read(int64_t offset, size_t n) const = 0;
  virtual void add_grad(int64_t offset, const std::vector<float>& g) const = 0;
};

// The range [dmin, dmax] of stream distances (query - key) over every query and the keys of
// its row (a superset of the causal pairs), and [qmin, qmax] of the query values.
struct StreamRange {
  int dmin = 0, dmax = 0, qmin = 0, qmax = 0;
};
StreamRange stream_range(const PositionView& v, Stream s);

}  // namespace lengen
