// kerple (Chi et al. 2022): a conditionally positive definite kernel of the distance as the
// score bias, learned per head. `variant`:
//   log    b = -r1 log(1 + r2 |i - j|)
//   power  b = -r1 |i - j|^r2
// r1, r2 > 0 are stored as log-values (model.pe.kerple.log_r1 / log_r2, [H]). Initialisation:
// power starts as ALiBi (r1 = the ALiBi slopes, r2 = 1), log with r1 = 1 and r2 = the ALiBi
// slopes. The same bias in every layer.
#include <cmath>

#include "model/config.h"
#include "pe/encodings.h"

namespace lengen {
namespace {

class Kerple final : public PositionalEncoding {
 public:
  Kerple(int n_heads, bool power) : H_(n_heads), power_(power) {}
  std::string name() const override { return "kerple"; }
  void declare_parameters(ParameterLayout& layout) override {
    r1_ = layout[layout.add("model.pe.kerple.log_r1", {H_}, Init::Zeros)].offset;
    r2_ = layout[layout.add("model.pe.kerple.log_r2", {H_}, Init::Zeros)].offset;
  }
  void init_parameters(float* params) const override {
    const std::vector<double> slopes = alibi_slopes(H_);
    for (int h = 0; h < H_; ++h) {
      params[r1_ + h] = power_ ? float(std::log(slopes[h])) : 0.0f;
      params[r2_ + h] = power_ ? 0.0f : float(std::log(slopes[h]));
    }
  }
  bool acts_on_scores() const override { return true; }
  bool has_learned_scores() const override { return true; }
  void scores_forward(const float* params, const Positions& q, int nq, const Positions& k, int nk,
                      float* out) const override {
    for (int h = 0; h < H_; ++h) {
      const float r1 = std::exp(params[r1_ + h]), r2 = std::exp(params[r2_ + h]);
      float* o = out + size_t(h) * nq * nk;
      for (int a = 0; a < nq; ++a)
        for (int b = 0; b < nk; ++b) o[size_t(a) * nk + b] = -r1 * kernel(distance(q, a, k, b), r2);
    }
  }
  // With b = -r1 g(d; r2): db/dlog r1 = b; db/dlog r2 = -r1 r2 dg/dr2, where
  // log: dg/dr2 = d / (1 + r2 d);  power: dg/dr2 = d^r2 ln d (0 at d = 0).
  void scores_backward(const float* params, const Positions& q, int nq, const Positions& k,
                       int nk, const float* dout, float* grads) const override {
    for (int h = 0; h < H_; ++h) {
      const float r1 = std::exp(params[r1_ + h]), r2 = std::exp(params[r2_ + h]);
      const float* d = dout + size_t(h) * nq * nk;
      double g1 = 0, g2 = 0;
      for (int a = 0; a < nq; ++a)
        for (int b = 0; b < nk; ++b) {
          const double g = d[size_t(a) * nk + b];
          if (g == 0) continue;
          const float dist = distance(q, a, k, b);
          g1 += g * -r1 * kernel(dist, r2);
          const double dk = power_ ? (dist > 0 ? std::pow(dist, r2) * std::log(dist) : 0.0)
                                   : dist / (1.0 + r2 * dist);
          g2 += g * -r1 * r2 * dk;
        }
      grads[r1_ + h] += float(g1);
      grads[r2_ + h] += float(g2);
    }
  }

 private:
  static float distance(const Positions& q, int a, const Positions& k, int b) {
    return float(std::abs(q.pos[a] - k.pos[b]));
  }
  float kernel(float dist, float r2) const {
    return power_ ? (dist > 0 ? std::pow(dist, r2) : 0.0f) : std::log1p(r2 * dist);
  }
  int H_;
  bool power_;
  size_t r1_ = 0, r2_ = 0;
};

}  // namespace

std::unique_ptr<PositionalEncoding> make_kerple(const ModelConfig& c, const std::string& where) {
  PeOptions o(c.pe, where, {"variant"});
  const std::string variant = o.get_choice("variant", "log", {"log", "power"});
  return std::make_unique<Kerple>(c.n_heads, variant == "power");
}

}  // namespace lengen
