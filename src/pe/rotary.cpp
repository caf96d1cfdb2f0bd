// rotary: rotate each (query, key) dimension pair by p * theta_t (Su et al.). Options: the
// rotated fraction of each head (paper: dh/4, the rest passes through), the pairing
// (GPT-J "interleaved" pairs (2t, 2t+1); Llama "half" pairs (t, t + rdim/2)), and the base.
// The rotation itself is shared with bipe_rope (pe/rotation.h).
#include <cmath>

#include "model/config.h"
#include "pe/encodings.h"
#include "pe/rotation.h"
#include "util/error.h"

namespace lengen {
namespace {

class Rotary final : public PositionalEncoding {
 public:
  explicit Rotary(RotaryRotation rotation) : rotation_(std::move(rotation)) {}
  std::string name() const override { return "rotary"; }
  bool acts_on_qk() const override { return true; }
  void qk_forward(const Positions& p, int n, float* x, int ld, bool) const override {
    rotation_.rotate(p.pos, n, x, ld, 1.0f);
  }
  void qk_backward(const Positions& p, int n, float* dx, int ld, bool) const override {
    rotation_.rotate(p.pos, n, dx, ld, -1.0f);
  }

 private:
  RotaryRotation rotation_;
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
  return std::make_unique<Rotary>(
      RotaryRotation(c.n_heads, c.d_head, s.rotary_dim, s.interleaved, s.base));
}

}  // namespace lengen
