// abs_sin: fixed sinusoidal table added to the embeddings (Vaswani et al.), halves
// concatenated: P[p] = [sin(p w_0..w_{D/2-1}), cos(p w_0..w_{D/2-1})], w_k = 10000^(-2k/D),
// times `scale`. The default scale is the token embeddings' init std, so positions and tokens
// start in the paper's ratio in every family: 1 for the t5 family (the paper's model, table
// unscaled); under the llama init the unscaled table (norm ~sqrt(D/2)) swamps N(0, 0.02)
// embeddings and the model never learns the task (README "The paper's model family on a CPU").
#include <algorithm>
#include <cmath>

#include "arch/model_config.h"
#include "pe/encodings.h"
#include "pe/plan_util.h"
#include "util/error.h"

namespace lengen {

float sinusoid_value(int p, int d, int D) {
  const int half = D / 2;
  const int k = d < half ? d : d - half;
  const double w = std::pow(10000.0, -2.0 * k / D);
  return float(d < half ? std::sin(p * w) : std::cos(p * w));
}

namespace {

class AbsSin final : public PositionalEncoding {
 public:
  AbsSin(int d_model, double scale) : D_(d_model), scale_(scale) {
    freq_.resize(D_ / 2);
    for (int k = 0; k < D_ / 2; ++k) freq_[k] = std::pow(10000.0, -2.0 * k / D_);
  }
  std::string name() const override { return "abs_sin"; }
  void check_streams(const TokenStreams& s, int n) const override {
    const int32_t* pos = s[Stream::Position];
    for (int t = 0; pos && t < n; ++t)
      if (pos[t] < 0) fail("abs_sin: negative position {} at token {}", pos[t], t);
  }
  // A table of the distinct positions of the call; each token's row is its position's.
  void plan(const PositionView& v, const ParamAccess&, EncodingPlan& out) const override {
    InputPlan& in = out.input;
    plan_input_rows(v, Stream::Position, in);
    std::vector<int32_t> distinct = in.ids;
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    for (int32_t& id : in.ids)
      id = int32_t(std::lower_bound(distinct.begin(), distinct.end(), id) - distinct.begin());
    const int half = D_ / 2;
    in.rows = int(distinct.size());
    in.table.assign(distinct.size() * D_, 0.0f);
    for (size_t r = 0; r < distinct.size(); ++r) {
      float* row = in.table.data() + r * D_;
      for (int k = 0; k < half; ++k) {
        const double a = distinct[r] * freq_[k];
        row[k] = float(scale_ * std::sin(a));
        row[half + k] = float(scale_ * std::cos(a));
      }
    }
  }

 private:
  int D_;
  double scale_;
  std::vector<double> freq_;
};

}  // namespace

std::unique_ptr<PositionalEncoding> make_abs_sin(const ModelConfig& c, const std::string& where) {
  const PeOptions o(c.pe, where, {"scale"});
  const double embed_std = c.token_embedding_std();
  const double scale = o.get_double("scale", embed_std);
  if (!(scale > 0) || !std::isfinite(scale)) o.error("scale", "must be a positive number");
  if (c.d_model % 2) fail("{}: pe 'abs_sin' needs an even d_model, got {}", where, c.d_model);
  return std::make_unique<AbsSin>(c.d_model, scale);
}

}  // namespace lengen
