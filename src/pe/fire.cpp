// fire (Li et al. 2024, "Functional Interpolation for Relative Positions"): a learned score
// bias b_h(i, j) = f(psi(i - j) / psi(max(L, i)))_h with psi(x) = log(c x + 1), a learned
// c > 0 and threshold L > 0 (stored as logs), and f an MLP 1 -> width (ReLU) -> H heads.
// The normalisation by the query's own position maps every distance into [0, 1], which is
// what lets it interpolate to longer inputs. Negative distances (possible with task-supplied
// position ids) use sign(x) psi(|x|). One MLP shared by all layers, as every score encoding
// here. Options: `width` (32), `init_c` (1), `init_threshold` (32).
#include <cmath>

#include "model/config.h"
#include "pe/encodings.h"

namespace lengen {
namespace {

class Fire final : public PositionalEncoding {
 public:
  Fire(int n_heads, int width, float init_c, float init_threshold)
      : H_(n_heads), W_(width), init_c_(init_c), init_threshold_(init_threshold) {}
  std::string name() const override { return "fire"; }
  void declare_parameters(ParameterLayout& layout) override {
    log_c_ = layout[layout.add("model.pe.fire.log_c", {1}, Init::Zeros)].offset;
    log_l_ = layout[layout.add("model.pe.fire.log_threshold", {1}, Init::Zeros)].offset;
    // Input u lies in [-1, 1]: unit-scale first layer and biases spread the ReLU kinks over it.
    w1_ = layout[layout.add("model.pe.fire.mlp.0.weight", {W_, 1}, Init::Normal, 1.0f)].offset;
    b1_ = layout[layout.add("model.pe.fire.mlp.0.bias", {W_}, Init::Normal, 0.5f)].offset;
    w2_ = layout[layout.add("model.pe.fire.mlp.2.weight", {H_, W_}, Init::Normal,
                            float(1.0 / std::sqrt(double(W_))))].offset;
  }
  void init_parameters(float* params) const override {
    params[log_c_] = std::log(init_c_);
    params[log_l_] = std::log(init_threshold_);
  }
  bool acts_on_scores() const override { return true; }
  bool has_learned_scores() const override { return true; }

  void scores_forward(const float* params, const Positions& q, int nq, const Positions& k, int nk,
                      float* out) const override {
    const Scalars s = scalars(params);
    std::vector<float> hidden(W_);
    for (int a = 0; a < nq; ++a)
      for (int b = 0; b < nk; ++b) {
        const float u = s.input(q.pos[a], k.pos[b]).u;
        mlp_hidden(params, u, hidden.data());
        for (int h = 0; h < H_; ++h) {
          const float* w2 = params + w2_ + size_t(h) * W_;
          float acc = 0.0f;
          for (int j = 0; j < W_; ++j) acc += w2[j] * hidden[j];
          out[(size_t(h) * nq + a) * nk + b] = acc;
        }
      }
  }

  void scores_backward(const float* params, const Positions& q, int nq, const Positions& k,
                       int nk, const float* dout, float* grads) const override {
    const Scalars s = scalars(params);
    std::vector<float> hidden(W_);
    std::vector<double> gw1(W_, 0), gb1(W_, 0), gw2(size_t(H_) * W_, 0);
    double g_log_c = 0, g_log_l = 0;
    for (int a = 0; a < nq; ++a)
      for (int b = 0; b < nk; ++b) {
        const Input in = s.input(q.pos[a], k.pos[b]);
        mlp_hidden(params, in.u, hidden.data());
        double du = 0;
        for (int j = 0; j < W_; ++j) {
          if (hidden[j] <= 0) continue;  // ReLU: no gradient through inactive units
          double dz = 0;
          for (int h = 0; h < H_; ++h) {
            const double g = dout[(size_t(h) * nq + a) * nk + b];
            gw2[size_t(h) * W_ + j] += g * hidden[j];
            dz += g * params[w2_ + size_t(h) * W_ + j];
          }
          gw1[j] += dz * in.u;
          gb1[j] += dz;
          du += dz * params[w1_ + j];
        }
        g_log_c += du * in.du_dlog_c;
        g_log_l += du * in.du_dlog_l;
      }
    for (int j = 0; j < W_; ++j) grads[w1_ + j] += float(gw1[j]), grads[b1_ + j] += float(gb1[j]);
    for (size_t i = 0; i < gw2.size(); ++i) grads[w2_ + i] += float(gw2[i]);
    grads[log_c_] += float(g_log_c);
    grads[log_l_] += float(g_log_l);
  }

 private:
  struct Input {
    float u;                       // the MLP input
    double du_dlog_c, du_dlog_l;   // its derivatives w.r.t. the stored log-parameters
  };
  struct Scalars {
    double c, l;
    Input input(int i, int j) const {
      const double x = std::abs(double(i) - j), sign = i >= j ? 1.0 : -1.0;
      const bool threshold_active = l > i;
      const double m = threshold_active ? l : double(i);
      const double psi_x = std::log1p(c * x), psi_m = std::log1p(c * m);
      const double u = sign * psi_x / psi_m;
      // d psi(y) / dc = y / (c y + 1); d psi(m) / dm = c / (c m + 1).
      const double du_dc = sign * (x / (c * x + 1) * psi_m - psi_x * m / (c * m + 1)) / (psi_m * psi_m);
      const double du_dm = -sign * psi_x / (psi_m * psi_m) * c / (c * m + 1);
      return {float(u), du_dc * c, threshold_active ? du_dm * l : 0.0};
    }
  };
  Scalars scalars(const float* params) const {
    return {std::exp(double(params[log_c_])), std::exp(double(params[log_l_]))};
  }
  void mlp_hidden(const float* params, float u, float* hidden) const {
    for (int j = 0; j < W_; ++j) hidden[j] = std::max(0.0f, params[w1_ + j] * u + params[b1_ + j]);
  }
  int H_, W_;
  float init_c_, init_threshold_;
  size_t log_c_ = 0, log_l_ = 0, w1_ = 0, b1_ = 0, w2_ = 0;
};

}  // namespace

std::unique_ptr<PositionalEncoding> make_fire(const ModelConfig& c, const std::string& where) {
  PeOptions o(c.pe, where, {"width", "init_c", "init_threshold"});
  const int width = o.get_int("width", 32);
  const double init_c = o.get_double("init_c", 1.0);
  const double init_threshold = o.get_double("init_threshold", 32.0);
  if (width < 1 || width > 4096) o.error("width", "must be in [1, 4096]");
  if (!(init_c > 0)) o.error("init_c", "must be > 0");
  if (!(init_threshold > 0)) o.error("init_threshold", "must be > 0");
  return std::make_unique<Fire>(c.n_heads, width, float(init_c), float(init_threshold));
}

}  // namespace lengen
