// The positional-encoding interface. An encoding can act at three places of the transformer,
// and implements only the hooks it needs:
//   input  - adds a vector to each token embedding     (abs_sin, abs_learned, BiPE tables)
//   qk     - transforms queries and keys per position  (rotary)
//   scores - adds a bias b(h, i, j) to q.k             (t5_bias, alibi, alibi_learned)
// Each hook has its backward; learned tensors are declared into the model's parameter layout
// and addressed through the parameter / gradient base pointers passed to every call.
// Positions come in per token (never derived from the token index here), so schemes with
// supplied position ids, segments or random offsets need no change in the engine.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/params.h"

namespace lengen {

struct ModelConfig;
class Rng;

// Positions of n tokens: pos[t] (position id), seg[t] and intra[t] (bilevel encodings; null
// unless the encoding asks for them).
struct Positions {
  const int32_t* pos = nullptr;
  const int32_t* seg = nullptr;
  const int32_t* intra = nullptr;
  Positions offset(int t) const {
    return {pos ? pos + t : nullptr, seg ? seg + t : nullptr, intra ? intra + t : nullptr};
  }
};

class PositionalEncoding {
 public:
  virtual ~PositionalEncoding() = default;
  virtual std::string name() const = 0;

  // Learned tensors: registered once into the model's layout (names under "model.pe.").
  virtual void declare_parameters(ParameterLayout& layout) {}
  // Called after the generic initialisation (Init::Normal/Zeros/Ones of each declared tensor)
  // for encodings whose tensors start at computed values.
  virtual void init_parameters(float* params) const {}
  virtual bool needs_segments() const { return false; }
  // Throws lengen::Error when a position cannot be encoded (e.g. beyond a learned table).
  virtual void check_positions(const Positions& p, int n) const {}

  // input hook: x[n, D] += P(positions); backward accumulates into its own gradients.
  virtual bool acts_on_input() const { return false; }
  virtual void input_forward(const float* params, const Positions& p, int n, float* x) const {}
  virtual void input_backward(const float* params, const Positions& p, int n, const float* dx,
                              float* grads) const {}

  // qk hook: x is [n, H*dh] with row stride ld (queries or keys of n tokens), in place.
  // backward maps d(transformed) to d(original), in place.
  virtual bool acts_on_qk() const { return false; }
  virtual void qk_forward(const Positions& p, int n, float* x, int ld, bool is_key) const {}
  virtual void qk_backward(const Positions& p, int n, float* dx, int ld, bool is_key) const {}

  // scores hook: out[h][a][b] = bias for query a (of nq) and key b (of nk), all H heads,
  // out laid out [H, nq, nk]. backward accumulates dbias (same layout) into the gradients;
  // it is called for one batch row at a time, never concurrently.
  virtual bool acts_on_scores() const { return false; }
  virtual void scores_forward(const float* params, const Positions& q, int nq, const Positions& k,
                              int nk, float* out) const {}
  virtual void scores_backward(const float* params, const Positions& q, int nq,
                               const Positions& k, int nk, const float* dout, float* grads) const {}
  // True when scores_backward does anything (the engine then keeps d(bias) across layers).
  virtual bool has_learned_scores() const { return false; }
};

// Builds the encoding named by config.pe["type"], validating its keys (errors name `where`,
// the key and the allowed values). The registry is src/pe/registry.cpp.
std::unique_ptr<PositionalEncoding> make_positional_encoding(const ModelConfig& config,
                                                             const std::string& where = "config");
std::vector<std::string> pe_type_names();

// Reads the encoding's own keys with defaults and rejects unknown ones: each encoding lists
// the keys it accepts.
class PeOptions {
 public:
  PeOptions(const nlohmann::json& pe, std::string where, std::vector<std::string> allowed);
  int get_int(const std::string& key, int fallback) const;
  double get_double(const std::string& key, double fallback) const;
  std::string get_choice(const std::string& key, const std::string& fallback,
                         const std::vector<std::string>& choices) const;
  [[noreturn]] void error(const std::string& key, const std::string& message) const;

 private:
  const nlohmann::json& pe_;
  std::string where_;
};

}  // namespace lengen
