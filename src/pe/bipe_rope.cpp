// bipe_rope (He et al. 2024): the intra-segment table on the input (pe/bilevel.h) and RoPE whose
// position is the segment index: Llama half-split pairing over all head dims, `base` (10000).
#include "model/config.h"
#include "pe/bilevel.h"
#include "pe/encodings.h"
#include "pe/rotary_math.h"
#include "pe/rotation.h"
#include "util/error.h"

namespace lengen {
namespace {

class BipeRope final : public BilevelEncoding {
 public:
  BipeRope(const ModelConfig& c, const BilevelSettings& s, float init_std, double base)
      : BilevelEncoding(c.d_model, s.intra_size, init_std),
        rotation_(c.n_heads, c.d_head, c.d_head, /*interleaved=*/false,
                  rotary_inv_freq(c.d_head, base, RopeScaling{})) {}
  std::string name() const override { return "bipe_rope"; }
  bool acts_on_qk() const override { return true; }
  void qk_forward(const Positions& p, int n, float* x, int ld, bool) const override {
    rotation_.rotate(p.seg, n, x, ld, 1.0f);
  }
  void qk_backward(const Positions& p, int n, float* dx, int ld, bool) const override {
    rotation_.rotate(p.seg, n, dx, ld, -1.0f);
  }

 private:
  RotaryRotation rotation_;
};

}  // namespace

std::unique_ptr<PositionalEncoding> make_bipe_rope(const ModelConfig& c, const std::string& where) {
  const BilevelSettings s = bilevel_settings(c, where);
  PeOptions o(c.pe, where, {"delimiters", "intra_size", "init_std", "base"});
  const double base = o.get_double("base", 10000.0);
  if (!(base > 1)) o.error("base", "must be > 1");
  if (c.d_head % 2 || c.d_head > 1024)
    fail("{}: bipe_rope rotates every head dim in pairs: d_head must be even and <= 1024, got {}",
         where, c.d_head);
  return std::make_unique<BipeRope>(c, s, bilevel_init_std(c, where), base);
}

}  // namespace lengen
