// kerple (Chi et al. 2022): a conditionally positive definite kernel of the distance as the
// score bias, learned per head. `variant`:
//   log    b = -r1 log(1 + r2 |i - j|)
//   power  b = -r1 |i - j|^r2
// r1, r2 > 0 are stored as log-values (model.pe.kerple.log_r1 / log_r2, [H]). Initialisation:
// power starts as ALiBi (r1 = the ALiBi slopes, r2 = 1), log with r1 = 1 and r2 = the ALiBi
// slopes. The same bias in every layer.
#include <cmath>

#include "arch/model_config.h"
#include "pe/encodings.h"
#include "pe/plan_util.h"

namespace lengen {
namespace {

class Kerple final : public PositionalEncoding {
 public:
  Kerple(int n_heads, bool power) : H_(n_heads), power_(power) {}
  std::string name() const override { return "kerple"; }
  void declare_parameters(ParameterLayout& layout) override {
    r1_ = int64_t(layout[layout.add("model.pe.kerple.log_r1", {H_}, Init::Zeros)].offset);
    r2_ = int64_t(layout[layout.add("model.pe.kerple.log_r2", {H_}, Init::Zeros)].offset);
  }
  void init_parameters(float* host_params) const override {
    const std::vector<double> slopes = alibi_slopes(H_);
    for (int h = 0; h < H_; ++h) {
      host_params[r1_ + h] = power_ ? float(std::log(slopes[h])) : 0.0f;
      host_params[r2_ + h] = power_ ? 0.0f : float(std::log(slopes[h]));
    }
  }
  // A computed table over the distances: b = -r1 g(|d|; r2).
  void plan(const PositionView& v, const ParamAccess& params, EncodingPlan& out) const override {
    const std::vector<float> r1 = exp_of(params.read(r1_, H_)), r2 = exp_of(params.read(r2_, H_));
    BiasPlan& b = out.bias;
    const int cols = plan_distance_columns(v, Stream::Position, H_, b);
    b.computed_values_learned = true;
    for (int h = 0; h < H_; ++h)
      for (int c = 0; c < cols; ++c)
        b.values[size_t(h) * cols + c] = -r1[h] * kernel(distance(b.dmin + c), r2[h]);
  }
  // With b = -r1 g(d; r2): db/dlog r1 = b; db/dlog r2 = -r1 r2 dg/dr2, where
  // log: dg/dr2 = d / (1 + r2 d);  power: dg/dr2 = d^r2 ln d (0 at d = 0).
  void plan_backward(const PositionView&, const ParamAccess& params, const EncodingPlan& plan,
                     const std::vector<float>& dvalues) const override {
    const std::vector<float> r1 = exp_of(params.read(r1_, H_)), r2 = exp_of(params.read(r2_, H_));
    const BiasPlan& b = plan.bias;
    const int cols = b.dmax - b.dmin + 1;
    std::vector<float> g1(H_), g2(H_);
    for (int h = 0; h < H_; ++h) {
      double s1 = 0, s2 = 0;
      for (int c = 0; c < cols; ++c) {
        const double g = dvalues[size_t(h) * cols + c];
        if (g == 0) continue;
        const float dist = distance(b.dmin + c);
        s1 += g * -r1[h] * kernel(dist, r2[h]);
        const double dk = power_ ? (dist > 0 ? std::pow(dist, r2[h]) * std::log(dist) : 0.0)
                                 : dist / (1.0 + r2[h] * dist);
        s2 += g * -r1[h] * r2[h] * dk;
      }
      g1[h] = float(s1), g2[h] = float(s2);
    }
    params.add_grad(r1_, g1);
    params.add_grad(r2_, g2);
  }

 private:
  static std::vector<float> exp_of(std::vector<float> x) {
    for (float& v : x) v = std::exp(v);
    return x;
  }
  static float distance(int d) { return float(std::abs(d)); }
  float kernel(float dist, float r2) const {
    return power_ ? (dist > 0 ? std::pow(dist, r2) : 0.0f) : std::log1p(r2 * dist);
  }
  int H_;
  bool power_;
  int64_t r1_ = 0, r2_ = 0;
};

}  // namespace

std::unique_ptr<PositionalEncoding> make_kerple(const ModelConfig& c, const std::string& where) {
  PeOptions o(c.pe, where, {"variant"});
  const std::string variant = o.get_choice("variant", "log", {"log", "power"});
  return std::make_unique<Kerple>(c.n_heads, variant == "power");
}

}  // namespace lengen
