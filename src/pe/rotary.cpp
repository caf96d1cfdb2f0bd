// rotary: rotate each (query, key) dimension pair by p * theta_t (Su et al.). Options: the
// rotated fraction of each head (paper: dh/4, the rest passes through), the pairing
// (GPT-J "interleaved" pairs (2t, 2t+1); Llama "half" pairs (t, t + rdim/2)), and the base.
// The backward of a rotation is the rotation by the opposite angle.
#include <cmath>

#include "model/config.h"
#include "pe/encodings.h"
#include "util/error.h"

namespace lengen {
namespace {

class Rotary final : public PositionalEncoding {
 public:
  Rotary(int n_heads, int d_head, int rotary_dim, bool interleaved, double base)
      : H_(n_heads), dh_(d_head), rdim_(rotary_dim), interleaved_(interleaved) {
    // inv_freq in float32, then angle = float(p) * inv_freq in float32, as HF computes it.
    for (int t = 0; t < rdim_ / 2; ++t)
      inv_freq_.push_back(1.0f / float(std::pow(base, double(2 * t) / rdim_)));
  }
  std::string name() const override { return "rotary"; }
  bool acts_on_qk() const override { return true; }
  void qk_forward(const Positions& p, int n, float* x, int ld, bool) const override {
    rotate(p, n, x, ld, 1.0f);
  }
  void qk_backward(const Positions& p, int n, float* dx, int ld, bool) const override {
    rotate(p, n, dx, ld, -1.0f);
  }

 private:
  void rotate(const Positions& p, int n, float* x, int ld, float sign) const {
    const int half = rdim_ / 2;
#pragma omp parallel for schedule(static)
    for (int t = 0; t < n; ++t) {
      float cs[512], sn[512];  // rdim/2 <= 512 checked at construction
      for (int i = 0; i < half; ++i) {
        const float angle = float(p.pos[t]) * inv_freq_[i];
        cs[i] = float(std::cos(double(angle)));
        sn[i] = sign * float(std::sin(double(angle)));
      }
      for (int h = 0; h < H_; ++h) {
        float* v = x + size_t(t) * ld + size_t(h) * dh_;
        for (int i = 0; i < half; ++i) {
          const int a = interleaved_ ? 2 * i : i;
          const int b = interleaved_ ? 2 * i + 1 : i + half;
          const float xa = v[a], xb = v[b];
          v[a] = xa * cs[i] - xb * sn[i];
          v[b] = xa * sn[i] + xb * cs[i];
        }
      }
    }
  }
  int H_, dh_, rdim_;
  bool interleaved_;
  std::vector<float> inv_freq_;
};

}  // namespace

RotarySettings rotary_settings(const ModelConfig& c, const std::string& where) {
  PeOptions o(c.pe, where, {"rotary_dim", "rotary_fraction", "pairing", "base"});
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
  return std::make_unique<Rotary>(c.n_heads, c.d_head, s.rotary_dim, s.interleaved, s.base);
}

}  // namespace lengen
