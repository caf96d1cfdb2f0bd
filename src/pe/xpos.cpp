// xpos (Sun et al. 2022, "A Length-Extrapolatable Transformer"): RoPE whose rotated pairs are
// also scaled per pair, queries by zeta_i^(p / scale_base) and keys by zeta_i^(-p / scale_base),
// zeta_i = (2i / rdim + gamma) / (1 + gamma), so q.k carries an exponential decay
// zeta_i^(i_q - i_k) with distance. Pairs, pairing and base as `rotary` (rotary_math.h);
// options `scale_base` (512) and `gamma` (0.4). Positions enter as given (no centring), so the
// decay stays exact under KV-cache decoding; positions whose scale would leave float32's range
// are an error.
#include <cmath>

#include "arch/model_config.h"
#include "pe/encodings.h"
#include "pe/plan_util.h"
#include "pe/rotary_math.h"
#include "util/error.h"

namespace lengen {
namespace {

class XPos final : public PositionalEncoding {
 public:
  XPos(const RotarySettings& s, double scale_base, double gamma)
      : rdim_(s.rotary_dim), interleaved_(s.interleaved), scale_base_(scale_base),
        inv_freq_(rotary_inv_freq(s.rotary_dim, s.base, {})) {
    for (int i = 0; i < rdim_ / 2; ++i) {
      log_zeta_.push_back(std::log((2.0 * i / rdim_ + gamma) / (1.0 + gamma)));
      max_abs_log_zeta_ = std::max(max_abs_log_zeta_, std::abs(log_zeta_.back()));
    }
  }
  std::string name() const override { return "xpos"; }
  void check_streams(const TokenStreams& s, int n) const override {
    const int32_t* pos = s[Stream::Position];
    if (!pos) return;
    // float32 holds scales up to e^88; keep a margin for the dot products.
    for (int t = 0; t < n; ++t)
      if (std::abs(pos[t]) / scale_base_ * max_abs_log_zeta_ > 60.0)
        fail("xpos: position {} (token {}) makes the decay scale overflow float32 (|p| / "
             "scale_base * |ln zeta| > 60); raise pe.scale_base",
             pos[t], t);
  }
  // The rotation of rotary plus per-pair scales: queries zeta^(p / scale_base), keys the inverse.
  // The transpose of (scale * rotation) is (scale * inverse rotation), so the backward is the
  // rotation op's own.
  void plan(const PositionView& v, const ParamAccess&, EncodingPlan& out) const override {
    RotationPlan& r = out.rotation;
    plan_rotation(v, Stream::Position, inv_freq_, interleaved_, r);
    const int half = rdim_ / 2;
    r.q_scale.resize(r.cos.size());
    r.k_scale.resize(r.cos.size());
    for (int b = 0; b < v.B; ++b)
      for (int a = 0; a < v.Q; ++a) {
        const size_t o = (size_t(b) * v.Q + a) * half;
        const double p = v.query(Stream::Position, b, a);
        for (int i = 0; i < half; ++i) {
          r.q_scale[o + i] = float(std::exp(p / scale_base_ * log_zeta_[i]));
          r.k_scale[o + i] = float(std::exp(-1.0 * p / scale_base_ * log_zeta_[i]));
        }
      }
  }

 private:
  int rdim_;
  bool interleaved_;
  double scale_base_;
  std::vector<float> inv_freq_;
  std::vector<double> log_zeta_;
  double max_abs_log_zeta_ = 0;
};

}  // namespace

std::unique_ptr<PositionalEncoding> make_xpos(const ModelConfig& c, const std::string& where) {
  PeOptions o(c.pe, where,
              {"rotary_dim", "rotary_fraction", "pairing", "base", "scale_base", "gamma"});
  const RotarySettings s = rotary_geometry(c, o);
  const double scale_base = o.get_double("scale_base", 512.0);
  const double gamma = o.get_double("gamma", 0.4);
  if (!(scale_base > 0)) o.error("scale_base", "must be > 0");
  if (!(gamma > 0)) o.error("gamma", "must be > 0");
  return std::make_unique<XPos>(s, scale_base, gamma);
}

}  // namespace lengen
