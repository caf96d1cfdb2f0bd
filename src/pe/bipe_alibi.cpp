// bipe_alibi (He et al. 2024): the intra-segment table on the input (pe/bilevel.h) and ALiBi
// on segment indices, bias -(96 m_h)(seg_i - seg_j) with the Press et al. slopes m_h: tokens of
// one segment get no recency bias from it, so the slopes are scaled up (x96, the reference's).
#include "arch/model_config.h"
#include "pe/bilevel.h"
#include "pe/encodings.h"
#include "pe/plan_util.h"

namespace lengen {
namespace {

constexpr double kSegmentSlopeScale = 96.0;

class BipeAlibi final : public BilevelEncoding {
 public:
  BipeAlibi(const ModelConfig& c, const BilevelSettings& s, float init_std)
      : BilevelEncoding(c, s, init_std) {
    for (double m : alibi_slopes(c.n_heads)) slopes_.push_back(float(kSegmentSlopeScale * m));
  }
  std::string name() const override { return "bipe_alibi"; }
  void plan(const PositionView& v, const ParamAccess& params, EncodingPlan& out) const override {
    BilevelEncoding::plan(v, params, out);
    alibi_bias_plan(slopes_, v, Stream::Segment, out.bias);
  }

 private:
  std::vector<float> slopes_;
};

}  // namespace

std::unique_ptr<PositionalEncoding> make_bipe_alibi(const ModelConfig& c,
                                                    const std::string& where) {
  return std::make_unique<BipeAlibi>(c, bilevel_settings(c, where), bilevel_init_std(c, where));
}

}  // namespace lengen
