// xpos (Sun et al. 2022, "A Length-Extrapolatable Transformer"): RoPE whose rotated pairs are
// also scaled per pair, queries by zeta_i^(p / scale_base) and keys by zeta_i^(-p / scale_base),
// zeta_i = (2i / rdim + gamma) / (1 + gamma), so q.k carries an exponential decay
// zeta_i^(i_q - i_k) with distance. Pairs, pairing and base as `rotary` (rotary_math.h);
// options `scale_base` (512) and `gamma` (0.4). Positions enter as given (no centring), so the
// decay stays exact under KV-cache decoding; positions whose scale would leave float32's range
// are an error.
#include <cmath>

#include "model/config.h"
#include "pe/encodings.h"
#include "pe/rotary_math.h"
#include "util/error.h"

namespace lengen {
namespace {

class XPos final : public PositionalEncoding {
 public:
  XPos(int n_heads, int d_head, const RotarySettings& s, double scale_base, double gamma)
      : H_(n_heads), dh_(d_head), rdim_(s.rotary_dim), interleaved_(s.interleaved),
        scale_base_(scale_base), inv_freq_(rotary_inv_freq(s.rotary_dim, s.base, {})) {
    for (int i = 0; i < rdim_ / 2; ++i) {
      log_zeta_.push_back(std::log((2.0 * i / rdim_ + gamma) / (1.0 + gamma)));
      max_abs_log_zeta_ = std::max(max_abs_log_zeta_, std::abs(log_zeta_.back()));
    }
  }
  std::string name() const override { return "xpos"; }
  bool acts_on_qk() const override { return true; }
  void check_positions(const Positions& p, int n) const override {
    // float32 holds scales up to e^88; keep a margin for the dot products.
    for (int t = 0; t < n; ++t)
      if (std::abs(p.pos[t]) / scale_base_ * max_abs_log_zeta_ > 60.0)
        fail("xpos: position {} (token {}) makes the decay scale overflow float32 (|p| / "
             "scale_base * |ln zeta| > 60); raise pe.scale_base",
             p.pos[t], t);
  }
  void qk_forward(const Positions& p, int n, float* x, int ld, bool is_key) const override {
    apply(p, n, x, ld, is_key, 1.0f);
  }
  // The transpose of (scale * rotation) is (scale * inverse rotation): the scale is shared by
  // the two dims of a pair.
  void qk_backward(const Positions& p, int n, float* dx, int ld, bool is_key) const override {
    apply(p, n, dx, ld, is_key, -1.0f);
  }

 private:
  void apply(const Positions& p, int n, float* x, int ld, bool is_key, float sign) const {
    const int half = rdim_ / 2;
    const double direction = is_key ? -1.0 : 1.0;
#pragma omp parallel for schedule(static)
    for (int t = 0; t < n; ++t) {
      float cs[512], sn[512], scale[512];
      rotary_angles(p.pos[t], inv_freq_, sign, cs, sn);
      for (int i = 0; i < half; ++i)
        scale[i] = float(std::exp(direction * p.pos[t] / scale_base_ * log_zeta_[i]));
      rotate_token_pairs(x + size_t(t) * ld, H_, dh_, half, interleaved_, cs, sn, scale);
    }
  }
  int H_, dh_, rdim_;
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
  return std::make_unique<XPos>(c.n_heads, c.d_head, s, scale_base, gamma);
}

}  // namespace lengen
