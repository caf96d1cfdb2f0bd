// rotary: rotate each (query, key) dimension pair by p * theta_t (Su et al.). Options: the
// rotated fraction of each head (paper: dh/4, the rest passes through), the pairing
// (GPT-J "interleaved" pairs (2t, 2t+1); Llama "half" pairs (t, t + rdim/2)), the base, and
// the inference-time context extension `scaling` (none, linear, ntk, yarn; rotary_math.h),
// which changes no parameter, so a checkpoint can be evaluated under any of them.
// The plan (per-token angles) is built by pe/plan_util.h, shared with xpos and bipe_rope.
#include <algorithm>
#include <cmath>
#include <numbers>

#include "arch/model_config.h"
#include "pe/encodings.h"
#include "pe/rotary_math.h"
#include "pe/plan_util.h"
#include "util/error.h"

namespace lengen {

std::vector<float> rotary_inv_freq(int rdim, double base, const RopeScaling& s) {
  const int half = rdim / 2;
  std::vector<float> inv(half);
  if (s.kind == "ntk") base *= std::pow(s.factor, double(rdim) / double(rdim - 2));
  for (int t = 0; t < half; ++t) {
    const float pos_freq = float(std::pow(base, double(2 * t) / rdim));
    inv[t] = 1.0f / pos_freq;
    if (s.kind == "linear") inv[t] = 1.0f / (float(s.factor) * pos_freq);
  }
  if (s.kind != "yarn") return inv;
  // Pair index at which a pair makes `rotations` full turns over the original context.
  auto correction_dim = [&](double rotations) {
    return rdim * std::log(s.original_max_positions / (rotations * 2 * std::numbers::pi)) /
           (2 * std::log(base));
  };
  const double low = std::max(0.0, std::floor(correction_dim(s.beta_fast)));
  double high = std::min(double(rdim - 1), std::ceil(correction_dim(s.beta_slow)));
  if (high == low) high += 0.001;  // avoid a zero-width ramp
  for (int t = 0; t < half; ++t) {
    // ramp 0 below `low` (fast pairs: keep the original frequency), 1 above `high`
    // (slow pairs: interpolate).
    const float ramp = float(std::clamp((t - low) / (high - low), 0.0, 1.0));
    const float keep = 1.0f - ramp;
    const float interpolated = inv[t] / float(s.factor);
    inv[t] = interpolated * (1.0f - keep) + inv[t] * keep;
  }
  return inv;
}

double rotary_attention_factor(const RopeScaling& s) {
  return s.kind == "yarn" && s.factor > 1 ? 0.1 * std::log(s.factor) + 1.0 : 1.0;
}

namespace {

class Rotary final : public PositionalEncoding {
 public:
  Rotary(const RotarySettings& s)
      : inv_freq_(rotary_inv_freq(s.rotary_dim, s.base, s.scaling)),
        interleaved_(s.interleaved),
        temperature_(float(rotary_attention_factor(s.scaling))) {}
  std::string name() const override { return "rotary"; }
  void plan(const PositionView& v, const ParamAccess&, EncodingPlan& out) const override {
    plan_rotation(v, Stream::Position, inv_freq_, interleaved_, out.rotation);
    out.rotation.uniform_scale = temperature_;
  }

 private:
  std::vector<float> inv_freq_;
  bool interleaved_;
  float temperature_;
};

}  // namespace

RotarySettings rotary_settings(const ModelConfig& c, const std::string& where) {
  PeOptions o(c.pe, where,
              {"rotary_dim", "rotary_fraction", "pairing", "base", "scaling", "scaling_factor",
               "original_max_positions", "yarn_beta_fast", "yarn_beta_slow"});
  RotarySettings s = rotary_geometry(c, o);
  RopeScaling& sc = s.scaling;
  sc.kind = o.get_choice("scaling", "none", {"none", "linear", "ntk", "yarn"});
  sc.factor = o.get_double("scaling_factor", 1.0);
  if (!(sc.factor >= 1)) o.error("scaling_factor", "must be >= 1 (the context extension factor)");
  sc.original_max_positions = o.get_int("original_max_positions", 0);
  sc.beta_fast = o.get_double("yarn_beta_fast", 32.0);
  sc.beta_slow = o.get_double("yarn_beta_slow", 1.0);
  if (sc.kind == "ntk" && s.rotary_dim < 4)
    o.error("scaling", "ntk needs rotary_dim >= 4 (it leaves a single pair unchanged)");
  if (sc.kind == "yarn") {
    if (sc.original_max_positions <= 0)
      o.error("original_max_positions", "must be set (the training context length) for yarn");
    if (!(sc.beta_fast > sc.beta_slow && sc.beta_slow > 0))
      o.error("yarn_beta_fast", "must exceed yarn_beta_slow > 0");
  }
  return s;
}

RotarySettings rotary_geometry(const ModelConfig& c, const PeOptions& o) {
  // Family defaults: t5 (the paper) rotates dh/4 dims GPT-J style; llama all dims, half-split.
  const bool llama = c.family == "llama";
  const double fraction = o.get_double("rotary_fraction", llama ? 1.0 : 0.25);
  if (!(fraction > 0 && fraction <= 1)) o.error("rotary_fraction", "must be in (0, 1]");
  const int rdim = o.get_int("rotary_dim", int(std::lround(c.d_head * fraction)));
  if (rdim <= 0 || rdim > c.d_head || rdim % 2 || rdim > 1024)
    o.error("rotary_dim", fmt::format("must be even and in [2, d_head={}], got {}", c.d_head, rdim));
  const std::string pairing =
      o.get_choice("pairing", llama ? "half" : "interleaved", {"interleaved", "half"});
  const double base = o.get_double("base", 10000.0);
  if (!(base > 1)) o.error("base", "must be > 1");
  return {rdim, pairing == "interleaved", base};
}

std::unique_ptr<PositionalEncoding> make_rotary(const ModelConfig& c, const std::string& where) {
  const RotarySettings s = rotary_settings(c, where);
  return std::make_unique<Rotary>(s);
}

}  // namespace lengen
