// t5_bias: learned scalar bias per (head, distance bucket) added to the scores (Raffel et al.),
// unidirectional buckets; one table [num_buckets, H] shared by all layers. Its plan maps each
// distance to its bucket and points the bias at the table itself, so attention reads (and its
// backward accumulates into) the parameter directly.
#include <algorithm>
#include <cmath>

#include "arch/model_config.h"
#include "pe/encodings.h"
#include "util/error.h"

namespace lengen {

int t5_bucket(int n, int num_buckets, int max_distance) {
  if (n < 0) n = 0;
  const int max_exact = num_buckets / 2;
  if (n < max_exact) return n;
  // float32 arithmetic on purpose: the bucket boundaries then match HF T5 exactly.
  const float ratio = std::log(float(n) / float(max_exact)) /
                      float(std::log(double(max_distance) / double(max_exact)));
  const int large = max_exact + int(ratio * float(num_buckets - max_exact));
  return std::min(large, num_buckets - 1);
}

namespace {

class T5Bias final : public PositionalEncoding {
 public:
  T5Bias(int n_heads, int num_buckets, int max_distance, float init_std)
      : H_(n_heads), buckets_(num_buckets), max_distance_(max_distance), init_std_(init_std) {}
  std::string name() const override { return "t5_bias"; }
  void declare_parameters(ParameterLayout& layout) override {
    const int i = layout.add("model.pe.t5_bias.weight", {buckets_, H_}, Init::Normal, init_std_);
    offset_ = int64_t(layout[i].offset);
  }
  void plan(const PositionView& v, const ParamAccess&, EncodingPlan& out) const override {
    BiasPlan& b = out.bias;
    const StreamRange r = stream_range(v, Stream::Position);
    b.active = true;
    b.dmin = r.dmin, b.dmax = r.dmax;
    b.col_of.resize(size_t(r.dmax - r.dmin + 1));
    for (int d = r.dmin; d <= r.dmax; ++d)
      b.col_of[size_t(d - r.dmin)] = t5_bucket(d, buckets_, max_distance_);
    b.values_param = offset_;  // table [buckets, H]: value(h, bucket) at bucket * H + h
    b.h_stride = 1, b.r_stride = 0, b.c_stride = H_;
    b.extent = int64_t(buckets_) * H_;
  }

 private:
  int H_, buckets_, max_distance_;
  float init_std_;
  int64_t offset_ = 0;
};

}  // namespace

T5BiasSettings t5_bias_settings(const ModelConfig& c, const std::string& where) {
  PeOptions o(c.pe, where, {"num_buckets", "max_distance"});
  const int buckets = o.get_int("num_buckets", 32);
  const int max_distance = o.get_int("max_distance", 128);
  if (buckets < 2) o.error("num_buckets", "must be at least 2");
  if (max_distance <= buckets / 2) o.error("max_distance", "must exceed num_buckets / 2");
  return {buckets, max_distance};
}

std::unique_ptr<PositionalEncoding> make_t5_bias(const ModelConfig& c, const std::string& where) {
  const auto [buckets, max_distance] = t5_bias_settings(c, where);
  // HF T5 initialises the bias table with std = d_model^-0.5 (initializer_factor 1).
  const float std = c.init == InitKind::T5 ? float(std::pow(c.d_model, -0.5)) : c.init_std;
  return std::make_unique<T5Bias>(c.n_heads, buckets, max_distance, std);
}

}  // namespace lengen
