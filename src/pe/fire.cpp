// fire (Li et al. 2024, "Functional Interpolation for Relative Positions"): a learned score
// bias b_h(i, j) = f(psi(i - j) / psi(max(L, i)))_h with psi(x) = log(c x + 1), a learned
// c > 0 and threshold L > 0 (stored as logs), and f an MLP 1 -> width (ReLU) -> H heads.
// The normalisation by the query's own position maps every distance into [0, 1], which is
// what lets it interpolate to longer inputs. Negative distances (possible with task-supplied
// position ids) use sign(x) psi(|x|). One MLP shared by all layers, as every score encoding
// here. Options: `width` (32), `init_c` (1), `init_threshold` (32).
#include <algorithm>
#include <cmath>

#include "arch/model_config.h"
#include "pe/encodings.h"
#include "pe/plan_util.h"

namespace lengen {
namespace {

class Fire final : public PositionalEncoding {
 public:
  Fire(int n_heads, int width, float init_c, float init_threshold)
      : H_(n_heads), W_(width), init_c_(init_c), init_threshold_(init_threshold) {}
  std::string name() const override { return "fire"; }
  void declare_parameters(ParameterLayout& layout) override {
    auto add = [&](const std::string& name, std::vector<int64_t> shape, Init init, float std) {
      return int64_t(layout[layout.add(name, std::move(shape), init, std)].offset);
    };
    log_c_ = add("model.pe.fire.log_c", {1}, Init::Zeros, 0);
    log_l_ = add("model.pe.fire.log_threshold", {1}, Init::Zeros, 0);
    // Input u lies in [-1, 1]: unit-scale first layer and biases spread the ReLU kinks over it.
    w1_ = add("model.pe.fire.mlp.0.weight", {W_, 1}, Init::Normal, 1.0f);
    b1_ = add("model.pe.fire.mlp.0.bias", {W_}, Init::Normal, 0.5f);
    w2_ = add("model.pe.fire.mlp.2.weight", {H_, W_}, Init::Normal,
              float(1.0 / std::sqrt(double(W_))));
    end_ = w2_ + int64_t(H_) * W_;
  }
  void init_parameters(float* host_params) const override {
    host_params[log_c_] = std::log(init_c_);
    host_params[log_l_] = std::log(init_threshold_);
  }

  // The bias depends on the distance and, for queries past the threshold, on the query's
  // position: a table [H, rows, distances] with row 0 for every query below the threshold and
  // one row per query position from it on. The MLP runs once per distinct entry.
  void plan(const PositionView& v, const ParamAccess& params, EncodingPlan& out) const override {
    const Mlp mlp = read(params);
    BiasPlan& b = out.bias;
    const int cols = plan_distance_columns(v, Stream::Position, H_, b);
    const StreamRange r = stream_range(v, Stream::Position);
    const Rows rows = row_classes(mlp, r);
    b.qmin = r.qmin, b.qmax = r.qmax;
    b.row_of.resize(size_t(r.qmax - r.qmin + 1));
    for (int q = r.qmin; q <= r.qmax; ++q) b.row_of[size_t(q - r.qmin)] = rows.of(q);
    b.r_stride = cols, b.h_stride = int64_t(rows.count) * cols;
    b.extent = int64_t(H_) * rows.count * cols;
    b.values.assign(size_t(b.extent), 0.0f);
    b.computed_values_learned = true;
    std::vector<float> hidden(W_);
    for (int row = 0; row < rows.count; ++row)
      for (int c = 0; c < cols; ++c) {
        mlp.hidden(mlp.input(b.dmin + c, rows.query(row)).u, hidden.data());
        for (int h = 0; h < H_; ++h) {
          const float* w2 = mlp.p(w2_) + size_t(h) * W_;
          float acc = 0.0f;
          for (int j = 0; j < W_; ++j) acc += w2[j] * hidden[j];
          b.values[size_t(h) * b.h_stride + size_t(row) * cols + c] = acc;
        }
      }
  }

  void plan_backward(const PositionView&, const ParamAccess& params, const EncodingPlan& plan,
                     const std::vector<float>& dvalues) const override {
    const Mlp mlp = read(params);
    const BiasPlan& b = plan.bias;
    const int cols = b.dmax - b.dmin + 1;
    const Rows rows = row_classes(mlp, {b.dmin, b.dmax, b.qmin, b.qmax});
    std::vector<float> hidden(W_);
    std::vector<double> gw1(W_, 0), gb1(W_, 0), gw2(size_t(H_) * W_, 0);
    double g_log_c = 0, g_log_l = 0;
    for (int row = 0; row < rows.count; ++row)
      for (int c = 0; c < cols; ++c) {
        const Input in = mlp.input(b.dmin + c, rows.query(row));
        mlp.hidden(in.u, hidden.data());
        double du = 0;
        for (int j = 0; j < W_; ++j) {
          if (hidden[j] <= 0) continue;  // ReLU: no gradient through inactive units
          double dz = 0;
          for (int h = 0; h < H_; ++h) {
            const double g = dvalues[size_t(h) * b.h_stride + size_t(row) * cols + c];
            gw2[size_t(h) * W_ + j] += g * hidden[j];
            dz += g * mlp.p(w2_)[size_t(h) * W_ + j];
          }
          gw1[j] += dz * in.u;
          gb1[j] += dz;
          du += dz * mlp.p(w1_)[j];
        }
        g_log_c += du * in.du_dlog_c;
        g_log_l += du * in.du_dlog_l;
      }
    auto as_float = [](const std::vector<double>& x) { return std::vector<float>(x.begin(), x.end()); };
    params.add_grad(w1_, as_float(gw1));
    params.add_grad(b1_, as_float(gb1));
    params.add_grad(w2_, as_float(gw2));
    params.add_grad(log_c_, {float(g_log_c)});
    params.add_grad(log_l_, {float(g_log_l)});
  }

 private:
  struct Input {
    float u;                       // the MLP input
    double du_dlog_c, du_dlog_l;   // its derivatives w.r.t. the stored log-parameters
  };
  // The encoding's tensors on the host (they are small), addressed by layout offset.
  struct Mlp {
    std::vector<float> tensors;
    int64_t base;
    int W;
    double c, l;
    int64_t w1, b1;
    const float* p(int64_t offset) const { return tensors.data() + (offset - base); }
    // u for distance d = i - j and query position i.
    Input input(int d, double i) const {
      const double x = std::abs(double(d)), sign = d >= 0 ? 1.0 : -1.0;
      const bool threshold_active = l > i;
      const double m = threshold_active ? l : i;
      const double psi_x = std::log1p(c * x), psi_m = std::log1p(c * m);
      const double u = sign * psi_x / psi_m;
      // d psi(y) / dc = y / (c y + 1); d psi(m) / dm = c / (c m + 1).
      const double du_dc = sign * (x / (c * x + 1) * psi_m - psi_x * m / (c * m + 1)) / (psi_m * psi_m);
      const double du_dm = -sign * psi_x / (psi_m * psi_m) * c / (c * m + 1);
      return {float(u), du_dc * c, threshold_active ? du_dm * l : 0.0};
    }
    void hidden(float u, float* out) const {
      for (int j = 0; j < W; ++j) out[j] = std::max(0.0f, p(w1)[j] * u + p(b1)[j]);
    }
  };
  // Row 0: queries below the threshold (m = L); then one row per position from it to qmax.
  struct Rows {
    int first = 0, count = 1;  // first position with its own row; number of rows
    double below = 0;          // a query position below the threshold
    int of(int q) const { return q < first ? 0 : 1 + (q - first); }
    double query(int row) const { return row == 0 ? below : double(first + row - 1); }
  };
  Rows row_classes(const Mlp& mlp, const StreamRange& r) const {
    Rows rows;
    // The smallest position with !(L > i), i.e. i >= L.
    const double first = std::ceil(mlp.l);
    rows.first = int(std::clamp(first, double(r.qmin), double(r.qmax) + 1));
    rows.count = 1 + std::max(0, r.qmax - rows.first + 1);
    rows.below = std::min(double(rows.first) - 1, mlp.l - 1);
    return rows;
  }
  Mlp read(const ParamAccess& params) const {
    Mlp m{params.read(log_c_, size_t(end_ - log_c_)), log_c_, W_, 0, 0, w1_, b1_};
    m.c = std::exp(double(*m.p(log_c_)));
    m.l = std::exp(double(*m.p(log_l_)));
    return m;
  }
  int H_, W_;
  float init_c_, init_threshold_;
  int64_t log_c_ = 0, log_l_ = 0, w1_ = 0, b1_ = 0, w2_ = 0, end_ = 0;
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
