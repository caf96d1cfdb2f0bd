// Single values of an encoding's plan evaluated on the host, for tests that check them against
// hand-computed ones: the rotation of one query or key, the score bias of one (query, key).
#pragma once
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "backend/cpu/kernels.h"
#include "model/transformer.h"
#include "pe/positional_encoding.h"

namespace lengen::testing {

// The encoding's tensors from a host copy of the parameters.
class HostParams final : public ParamAccess {
 public:
  explicit HostParams(std::vector<float> params) : params_(std::move(params)) {}
  std::vector<float> read(int64_t offset, size_t n) const override {
    return {params_.begin() + offset, params_.begin() + offset + int64_t(n)};
  }
  void add_grad(int64_t, const std::vector<float>&) const override {}
  const float* data() const { return params_.data(); }

 private:
  std::vector<float> params_;
};

// The plan of one row whose tokens have position ids `positions`, the last Q of them new.
inline EncodingPlan plan_of(const PositionalEncoding& pe, const HostParams& params,
                            const std::vector<int32_t>& positions, int Q) {
  const int32_t past = int32_t(positions.size()) - Q;
  PositionView v;
  v.B = 1, v.Q = Q, v.row_stride = int(positions.size());
  v.past = &past;
  v.streams.of[int(Stream::Position)] = positions.data();
  pe.check_streams(v.streams, int(positions.size()));
  EncodingPlan plan;
  pe.plan(v, params, plan);
  return plan;
}

// x (one token's queries or keys, H heads of dh) rotated as at position `pos`.
inline void rotate_at(const PositionalEncoding& pe, int32_t pos, std::vector<float>& x, int H,
                      int dh, bool is_key) {
  const EncodingPlan plan = plan_of(pe, HostParams({}), {pos}, 1);
  const RotationPlan& r = plan.rotation;
  ASSERT_TRUE(r.active);
  RotationArgs a;
  a.cos = r.cos.data(), a.sin = r.sin.data();
  const std::vector<float>& scale = is_key ? r.k_scale : r.q_scale;
  a.pair_scale = scale.empty() ? nullptr : scale.data();
  a.uniform_scale = r.uniform_scale;
  a.H = H, a.dh = dh, a.half = r.half, a.interleaved = r.interleaved;
  kernels::rotate(x.data(), 1, H * dh, a, 1.0f);
}

// The score bias of the model's encoding for query position i and key position j, head h.
inline float bias_at(const Transformer& model, int32_t i, int32_t j, int h) {
  const HostParams params(model.params_to_host());
  const EncodingPlan plan = plan_of(model.pe(), params, {j, i}, 1);
  const BiasPlan& b = plan.bias;
  const float* values = b.values_param != kNoParameter ? params.data() + b.values_param
                                                       : b.values.data();
  const int d = std::clamp(i - j, b.dmin, b.dmax);
  const int64_t row = b.row_of.empty() ? 0 : b.row_of[size_t(std::clamp(i, b.qmin, b.qmax) - b.qmin)];
  return values[h * b.h_stride + row * b.r_stride + b.col_of[size_t(d - b.dmin)] * b.c_stride];
}

// Sets one value of a named tensor (through a host copy of the parameters).
inline void set_param(Transformer& model, const std::string& name, size_t index, float value) {
  const int t = model.layout().find(name);
  ASSERT_GE(t, 0) << name;
  std::vector<float> params = model.params_to_host();
  params[model.layout()[t].offset + index] = value;
  model.params_from_host(params);
}

}  // namespace lengen::testing
