// bipe_alibi (He et al. 2024): the intra-segment table on the input (pe/bilevel.h) and ALiBi
// on segment indices, bias -(96 m_h)(seg_i - seg_j) with the Press et al. slopes m_h: tokens of
// one segment get no recency bias from it, so the slopes are scaled up (x96, the reference's).
#include "model/config.h"
#include "pe/bilevel.h"
#include "pe/encodings.h"

namespace lengen {
namespace {

constexpr double kSegmentSlopeScale = 96.0;

class BipeAlibi final : public BilevelEncoding {
 public:
  BipeAlibi(const ModelConfig& c, const BilevelSettings& s, float init_std)
      : BilevelEncoding(c.d_model, s.intra_size, init_std) {
    for (double m : alibi_slopes(c.n_heads)) slopes_.push_back(float(kSegmentSlopeScale * m));
  }
  std::string name() const override { return "bipe_alibi"; }
  bool acts_on_scores() const override { return true; }
  void scores_forward(const float*, const Positions& q, int nq, const Positions& k, int nk,
                      float* out) const override {
    alibi_bias_forward(slopes_.data(), int(slopes_.size()), q.seg, nq, k.seg, nk, out);
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
