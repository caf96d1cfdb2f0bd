// bipe_rope (He et al. 2024): the intra-segment table on the input (pe/bilevel.h) and RoPE whose
// position is the segment index: Llama half-split pairing over all head dims, `base` (10000).
#include "arch/model_config.h"
#include "pe/bilevel.h"
#include "pe/encodings.h"
#include "pe/plan_util.h"
#include "pe/rotary_math.h"
#include "util/error.h"

namespace lengen {
namespace {

class BipeRope final : public BilevelEncoding {
 public:
  BipeRope(const ModelConfig& c, const BilevelSettings& s, float init_std, double base)
      : BilevelEncoding(c, s, init_std), inv_freq_(rotary_inv_freq(c.d_head, base, RopeScaling{})) {}
  std::string name() const override { return "bipe_rope"; }
  void plan(const PositionView& v, const ParamAccess& params, EncodingPlan& out) const override {
    BilevelEncoding::plan(v, params, out);
    plan_rotation(v, Stream::Segment, inv_freq_, /*interleaved=*/false, out.rotation);
  }

 private:
  std::vector<float> inv_freq_;
};

}  // namespace

std::unique_ptr<PositionalEncoding> make_bipe_rope(const ModelConfig& c, const std::string& where) {
  const BilevelSettings s = bilevel_settings(c, where);
  PeOptions o(c.pe, where, {"delimiters", "intra_size", "intra_clamp", "init_std", "base"});
  const double base = o.get_double("base", 10000.0);
  if (!(base > 1)) o.error("base", "must be > 1");
  if (c.d_head % 2 || c.d_head > 1024)
    fail("{}: bipe_rope rotates every head dim in pairs: d_head must be even and <= 1024, got {}",
         where, c.d_head);
  return std::make_unique<BipeRope>(c, s, bilevel_init_std(c, where), base);
}

}  // namespace lengen
