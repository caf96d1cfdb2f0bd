// nope: no positional signal at all; causal attention alone breaks the symmetry.
#include "arch/model_config.h"
#include "pe/encodings.h"

namespace lengen {
namespace {

class NoPE final : public PositionalEncoding {
 public:
  std::string name() const override { return "nope"; }
  std::vector<Stream> streams() const override { return {}; }
};

}  // namespace

std::unique_ptr<PositionalEncoding> make_nope(const ModelConfig& c, const std::string& where) {
  PeOptions(c.pe, where, {});
  return std::make_unique<NoPE>();
}

}  // namespace lengen
