// transformer_xl: Transformer-XL's relative encoding (Dai et al. 2019), as the length-
// generalization code's `transformer_xl_relative_encoding`. Per layer, with learned W_r
// [H*dh, D] and u, v [H, dh]:
//   score(h, i, j) = scale ((q_i + u_h) . k_j + (q_i + v_h) . (W_r e(min(i - j, clamp)))_h)
// e(d) = [sin(d w), cos(d w)] over D dims, w_k = 10000^(-2k/D); clamp = 1000 upstream. The plan
// gives e of each distance column; the engine forms the bias from the queries in every layer
// (pe/plan.h RelativeKeysPlan).
#include <algorithm>
#include <cmath>

#include "arch/model_config.h"
#include "pe/encodings.h"
#include "util/error.h"

namespace lengen {
namespace {

class TransformerXl final : public PositionalEncoding {
 public:
  TransformerXl(const ModelConfig& c, int clamp) : c_(c), clamp_(clamp) {}
  std::string name() const override { return "transformer_xl"; }

  void declare_parameters(ParameterLayout& layout) override {
    // The reference's init (initializer_factor 1): u, v ~ N(0, 0.2), W_r ~ N(0, D^-0.5).
    const bool t5 = c_.init == InitKind::T5;
    const float bias_std = t5 ? 0.2f : c_.init_std;
    const float r_std = t5 ? float(std::pow(c_.d_model, -0.5)) : c_.init_std;
    layers_.clear();
    for (int l = 0; l < c_.n_layers; ++l) {
      const std::string p = "model.pe.transformer_xl." + std::to_string(l) + ".";
      RelativeKeysPlan::Layer t;
      t.r_weight = int64_t(layout[layout.add(p + "r_weight", {c_.hd(), c_.d_model}, Init::Normal,
                                             r_std)].offset);
      t.content_bias = int64_t(layout[layout.add(p + "content_bias", {c_.n_heads, c_.d_head},
                                                 Init::Normal, bias_std)].offset);
      t.position_bias = int64_t(layout[layout.add(p + "position_bias", {c_.n_heads, c_.d_head},
                                                  Init::Normal, bias_std)].offset);
      layers_.push_back(t);
    }
  }

  // Columns: distances 0 .. dmax, distances beyond the clamp sharing its column. Causal pairs
  // of index positions never have a negative distance; supplied positions that give one (coupled
  // ids) count it as 0, as the reference has no such case.
  void plan(const PositionView& v, const ParamAccess&, EncodingPlan& out) const override {
    const StreamRange r = stream_range(v, Stream::Position);
    BiasPlan& b = out.bias;
    b.active = true;
    b.dmin = 0, b.dmax = std::max(r.dmax, 0);
    b.col_of.resize(size_t(b.dmax) + 1);
    for (int d = 0; d <= b.dmax; ++d) b.col_of[size_t(d)] = std::min(d, clamp_);
    RelativeKeysPlan& k = out.relative;
    k.active = true;
    k.rows = std::min(b.dmax, clamp_) + 1;
    const int D = c_.d_model;
    k.embeddings.resize(size_t(k.rows) * D);
    for (int row = 0; row < k.rows; ++row)
      for (int d = 0; d < D; ++d) k.embeddings[size_t(row) * D + d] = sinusoid_value(row, d, D);
    k.layers = layers_;
  }

 private:
  ModelConfig c_;
  int clamp_;
  std::vector<RelativeKeysPlan::Layer> layers_;
};

}  // namespace

int transformer_xl_clamp(const ModelConfig& c, const std::string& where) {
  const PeOptions o(c.pe, where, {"clamp_length"});
  const int clamp = o.get_int("clamp_length", 1000);
  if (clamp < 1) o.error("clamp_length", "must be at least 1");
  return clamp;
}

std::unique_ptr<PositionalEncoding> make_transformer_xl(const ModelConfig& c,
                                                        const std::string& where) {
  const int clamp = transformer_xl_clamp(c, where);
  if (c.d_model % 2)
    fail("{}: pe 'transformer_xl' needs an even d_model, got {}", where, c.d_model);
  return std::make_unique<TransformerXl>(c, clamp);
}

}  // namespace lengen
