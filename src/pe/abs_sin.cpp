// abs_sin: fixed sinusoidal table added to the embeddings (Vaswani et al.), halves
// concatenated: P[p] = [sin(p w_0..w_{D/2-1}), cos(p w_0..w_{D/2-1})], w_k = 10000^(-2k/D).
#include <cmath>

#include "model/config.h"
#include "pe/encodings.h"
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
  explicit AbsSin(int d_model) : D_(d_model) {
    freq_.resize(D_ / 2);
    for (int k = 0; k < D_ / 2; ++k) freq_[k] = std::pow(10000.0, -2.0 * k / D_);
  }
  std::string name() const override { return "abs_sin"; }
  bool acts_on_input() const override { return true; }
  void check_positions(const Positions& p, int n) const override {
    for (int t = 0; t < n; ++t)
      if (p.pos[t] < 0) fail("abs_sin: negative position {} at token {}", p.pos[t], t);
  }
  void input_forward(const float*, const Positions& p, int n, float* x) const override {
    const int half = D_ / 2;
#pragma omp parallel for schedule(static)
    for (int t = 0; t < n; ++t) {
      float* row = x + size_t(t) * D_;
      for (int k = 0; k < half; ++k) {
        const double a = p.pos[t] * freq_[k];
        row[k] += float(std::sin(a));
        row[half + k] += float(std::cos(a));
      }
    }
  }

 private:
  int D_;
  std::vector<double> freq_;
};

}  // namespace

std::unique_ptr<PositionalEncoding> make_abs_sin(const ModelConfig& c, const std::string& where) {
  PeOptions(c.pe, where, {});
  if (c.d_model % 2) fail("{}: pe 'abs_sin' needs an even d_model, got {}", where, c.d_model);
  return std::make_unique<AbsSin>(c.d_model);
}

}  // namespace lengen
