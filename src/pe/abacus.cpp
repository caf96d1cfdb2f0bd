// abacus (McLeish et al. 2024): a learned embedding of each digit's significance within its
// number, added to the token embedding. The significance comes per token in the digit-place
// stream (pe/streams.h), supplied with the tokens by the task data: 1 for a number's least
// significant digit, 2 for the next, ...; 0 for tokens that are not digits. The task data
// supply it (src/pipeline/position_schemes.h), shifted by a random offset during training so
// that the rows used by long test numbers are trained too. The attention itself carries no
// positional signal (NoPE). Options: `max_positions` (128), `init_std` (as abs_learned).
#include "arch/model_config.h"
#include "pe/encodings.h"
#include "pe/learned_table.h"
#include "util/error.h"

namespace lengen {
namespace {

class Abacus final : public LearnedTableEncoding {
 public:
  Abacus(int d_model, int max_positions, float init_std)
      : LearnedTableEncoding("model.pe.abacus.weight", Stream::DigitPlace, d_model,
                             max_positions, init_std) {}
  std::string name() const override { return "abacus"; }

 protected:
  std::string out_of_table(int id, int token, int rows) const override {
    return fmt::format("abacus: digit significance {} (token {}) is outside the learned table of "
                       "{} rows (pe.max_positions); raise it above the longest number plus the "
                       "training offset",
                       id, token, rows);
  }
};

}  // namespace

std::unique_ptr<PositionalEncoding> make_abacus(const ModelConfig& c, const std::string& where) {
  PeOptions o(c.pe, where, {"max_positions", "init_std"});
  const int max_positions = o.get_int("max_positions", 128);
  if (max_positions < 2) o.error("max_positions", "must be at least 2");
  const double std = o.get_double("init_std", c.init == InitKind::T5 ? 1.0 : c.init_std);
  if (!(std > 0)) o.error("init_std", "must be > 0");
  return std::make_unique<Abacus>(c.d_model, max_positions, float(std));
}

}  // namespace lengen
