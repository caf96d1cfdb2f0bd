// alibi: linear recency bias -m_h (i - j) on the scores (Press et al.), fixed slopes; and
// alibi_learned, the same with learned log-slopes (initialised at the fixed ones).
#include <cmath>

#include "arch/model_config.h"
#include "pe/encodings.h"
#include "pe/plan_util.h"

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

void alibi_bias_plan(const std::vector<float>& slopes, const PositionView& v, Stream s,
                     BiasPlan& out) {
  const int cols = plan_distance_columns(v, s, int(slopes.size()), out);
  for (size_t h = 0; h < slopes.size(); ++h)
    for (int c = 0; c < cols; ++c) out.values[h * cols + c] = -slopes[h] * float(out.dmin + c);
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
    offset_ = int64_t(layout[i].offset);
  }
  // The learned log-slopes start at the fixed slopes.
  void init_parameters(float* host_params) const override {
    if (!learned_) return;
    for (int h = 0; h < H_; ++h) host_params[offset_ + h] = std::log(fixed_[h]);
  }
  void plan(const PositionView& v, const ParamAccess& params, EncodingPlan& out) const override {
    alibi_bias_plan(slopes(params), v, Stream::Position, out.bias);
    out.bias.computed_values_learned = learned_;
  }
  // d bias / d log m = -m (i - j)
  void plan_backward(const PositionView&, const ParamAccess& params, const EncodingPlan& plan,
                     const std::vector<float>& dvalues) const override {
    const std::vector<float> m = slopes(params);
    const int cols = plan.bias.dmax - plan.bias.dmin + 1;
    std::vector<float> g(H_);
    for (int h = 0; h < H_; ++h) {
      double acc = 0;
      for (int c = 0; c < cols; ++c) acc += double(dvalues[size_t(h) * cols + c]) * (plan.bias.dmin + c);
      g[h] = float(-m[h] * acc);
    }
    params.add_grad(offset_, g);
  }

 private:
  std::vector<float> slopes(const ParamAccess& params) const {
    if (!learned_) return fixed_;
    std::vector<float> m = params.read(offset_, H_);
    for (float& x : m) x = std::exp(x);
    return m;
  }
  int H_;
  bool learned_;
  std::vector<float> fixed_;
  int64_t offset_ = 0;
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
