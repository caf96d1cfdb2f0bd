// alibi: linear recency bias -m_h (i - j) on the scores (Press et al.), fixed slopes; and
// alibi_learned, the same with learned log-slopes (initialised at the fixed ones).
#include <cmath>

#include "model/config.h"
#include "pe/encodings.h"

namespace lengen {

std::vector<double> alibi_slopes(int n_heads) {
  auto power_of_two = [](int n) {
    std::vector<double> s;
    for (int h = 1; h <= n; ++h) s.push_back(std::pow(2.0, -8.0 * h / n));
    return s;
  };
  int p = 1;
  while (p * 2 <= n_heads) p *= 2;
  std::vector<double> slopes = power_of_two(p);
  if (p == n_heads) return slopes;
  // Not a power of two: the closest lower power's slopes, then every other slope of 2P.
  const std::vector<double> extra = power_of_two(2 * p);
  for (size_t i = 0; int(slopes.size()) < n_heads; i += 2) slopes.push_back(extra[i]);
  return slopes;
}

void alibi_bias_forward(const float* slopes, int n_heads, const int32_t* q_pos, int nq,
                        const int32_t* k_pos, int nk, float* out) {
  for (int h = 0; h < n_heads; ++h) {
    float* o = out + size_t(h) * nq * nk;
    for (int a = 0; a < nq; ++a)
      for (int b = 0; b < nk; ++b) o[size_t(a) * nk + b] = -slopes[h] * float(q_pos[a] - k_pos[b]);
  }
}

namespace {

class Alibi final : public PositionalEncoding {
 public:
  Alibi(int n_heads, bool learned) : H_(n_heads), learned_(learned) {
    for (double s : alibi_slopes(n_heads)) fixed_.push_back(float(s));
  }
  std::string name() const override { return learned_ ? "alibi_learned" : "alibi"; }
  void declare_parameters(ParameterLayout& layout) override {
    if (!learned_) return;
    const int i = layout.add("model.pe.alibi.log_slopes", {H_}, Init::Zeros);
    offset_ = layout[i].offset;
  }
  // The learned log-slopes start at the fixed slopes.
  void init_parameters(float* params) const override {
    if (!learned_) return;
    for (int h = 0; h < H_; ++h) params[offset_ + h] = std::log(fixed_[h]);
  }
  bool acts_on_scores() const override { return true; }
  bool has_learned_scores() const override { return learned_; }
  void scores_forward(const float* params, const Positions& q, int nq, const Positions& k, int nk,
                      float* out) const override {
    std::vector<float> m(H_);
    for (int h = 0; h < H_; ++h) m[h] = slope(params, h);
    alibi_bias_forward(m.data(), H_, q.pos, nq, k.pos, nk, out);
  }
  void scores_backward(const float* params, const Positions& q, int nq, const Positions& k,
                       int nk, const float* dout, float* grads) const override {
    if (!learned_) return;
    for (int h = 0; h < H_; ++h) {
      // d bias / d log m = -m (i - j)
      const float m = slope(params, h);
      const float* d = dout + size_t(h) * nq * nk;
      double acc = 0;
      for (int a = 0; a < nq; ++a)
        for (int b = 0; b < nk; ++b) acc += double(d[size_t(a) * nk + b]) * (q.pos[a] - k.pos[b]);
      grads[offset_ + h] += float(-m * acc);
    }
  }

 private:
  float slope(const float* params, int h) const {
    return learned_ ? std::exp(params[offset_ + h]) : fixed_[h];
  }
  int H_;
  bool learned_;
  std::vector<float> fixed_;
  size_t offset_ = 0;
};

}  // namespace

std::unique_ptr<PositionalEncoding> make_alibi(const ModelConfig& c, const std::string& where) {
  PeOptions(c.pe, where, {});
  return std::make_unique<Alibi>(c.n_heads, false);
}

std::unique_ptr<PositionalEncoding> make_alibi_learned(const ModelConfig& c,
                                                       const std::string& where) {
  PeOptions(c.pe, where, {});
  return std::make_unique<Alibi>(c.n_heads, true);
}

}  // namespace lengen
