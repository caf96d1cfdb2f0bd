// abs_learned: a learned table P[max_positions, D] added to the embeddings (N(0,1) init as in
// the paper). A position beyond the table is an error, never a wrap-around.
#include "arch/model_config.h"
#include "pe/encodings.h"
#include "pe/learned_table.h"
#include "util/error.h"

namespace lengen {
namespace {

class AbsLearned final : public LearnedTableEncoding {
 public:
  AbsLearned(int d_model, int max_positions, float init_std)
      : LearnedTableEncoding("model.pe.abs_learned.weight", Stream::Position, d_model,
                             max_positions, init_std) {}
  std::string name() const override { return "abs_learned"; }

 protected:
  std::string out_of_table(int id, int token, int rows) const override {
    return fmt::format("abs_learned: position {} (token {}) is outside the learned table of {} "
                       "positions (pe.max_positions); this encoding cannot represent longer "
                       "sequences",
                       id, token, rows);
  }
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
