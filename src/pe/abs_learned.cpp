// abs_learned: a learned table P[max_positions, D] added to the embeddings (N(0,1) init as in
// the paper). A position beyond the table is an error, never a wrap-around.
#include "model/config.h"
#include "pe/encodings.h"
#include "pe/learned_table.h"
#include "util/error.h"

namespace lengen {
namespace {

class AbsLearned final : public PositionalEncoding {
 public:
  AbsLearned(int d_model, int max_positions, float init_std)
      : D_(d_model), max_positions_(max_positions), init_std_(init_std) {}
  std::string name() const override { return "abs_learned"; }
  void declare_parameters(ParameterLayout& layout) override {
    const int i = layout.add("model.pe.abs_learned.weight", {max_positions_, D_}, Init::Normal,
                             init_std_);
    offset_ = layout[i].offset;
  }
  bool acts_on_input() const override { return true; }
  void check_positions(const Positions& p, int n) const override {
    for (int t = 0; t < n; ++t)
      if (p.pos[t] < 0 || p.pos[t] >= max_positions_)
        fail("abs_learned: position {} (token {}) is outside the learned table of {} positions "
             "(pe.max_positions); this encoding cannot represent longer sequences",
             p.pos[t], t, max_positions_);
  }
  void input_forward(const float* params, const Positions& p, int n, float* x) const override {
    table_rows_add_forward(params + offset_, p.pos, n, D_, x);
  }
  void input_backward(const float*, const Positions& p, int n, const float* dx,
                      float* grads) const override {
    table_rows_add_backward(grads + offset_, p.pos, n, D_, dx);
  }

 private:
  int D_, max_positions_;
  float init_std_;
  size_t offset_ = 0;  // of the table in the parameter buffer
};

}  // namespace

int abs_learned_positions(const ModelConfig& c, const std::string& where) {
  PeOptions o(c.pe, where, {"max_positions", "init_std"});
  const int max_positions = o.get_int("max_positions", 2048);
  if (max_positions <= 0) o.error("max_positions", "must be positive");
  return max_positions;
}

std::unique_ptr<PositionalEncoding> make_abs_learned(const ModelConfig& c,
                                                     const std::string& where) {
  PeOptions o(c.pe, where, {"max_positions", "init_std"});
  const int max_positions = abs_learned_positions(c, where);
  const double std = o.get_double("init_std", c.init == InitKind::T5 ? 1.0 : c.init_std);
  if (!(std > 0)) o.error("init_std", "must be > 0");
  return std::make_unique<AbsLearned>(c.d_model, max_positions, float(std));
}

}  // namespace lengen
