// The positional-encoding interface. An encoding never runs its own loops over the model's
// tensors: it turns positions and its learned tensors into a plan (pe/plan.h) of small tensors
// that the engine's generic ops consume on any backend: a table added to the inputs, a rotation
// of queries and keys, a score bias evaluated inside attention. Adding an encoding = one file
// in this folder implementing these hooks + one line in registry.cpp.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "arch/param_layout.h"
#include "pe/plan.h"
#include "pe/streams.h"

namespace lengen {

struct ModelConfig;

class PositionalEncoding {
 public:
  virtual ~PositionalEncoding() = default;
  virtual std::string name() const = 0;

  // Learned tensors: registered once into the model's layout (names under "model.pe.").
  virtual void declare_parameters(ParameterLayout& layout) {}
  // Tensors that start at computed values, set on the host after the generic initialisation
  // (Init::Normal/Zeros/Ones of each declared tensor).
  virtual void init_parameters(float* host_params) const {}

  // The streams it reads (pe/streams.h). A supplied stream (DigitPlace) must come with the
  // tokens; the others it derives itself.
  virtual std::vector<Stream> streams() const { return {Stream::Position}; }
  virtual bool derives(Stream s) const { return false; }
  // Derives its streams of n consecutive tokens of one row, continuing `state`.
  virtual void derive_streams(const int32_t* tokens, int n, StreamState& state,
                              const DerivedStreams& out) const {}
  // Throws lengen::Error naming the token when a stream value cannot be encoded (a position
  // beyond a learned table, a negative id...). Streams absent from `s` are not checked.
  virtual void check_streams(const TokenStreams& s, int n) const {}

  // The plan of one call (the streams of `v` already checked).
  virtual void plan(const PositionView& v, const ParamAccess& params, EncodingPlan& out) const {}
  // For a bias of computed values with computed_values_learned: maps d(values) to the
  // gradients of its tensors through params.add_grad.
  virtual void plan_backward(const PositionView& v, const ParamAccess& params,
                             const EncodingPlan& plan, const std::vector<float>& dvalues) const {}
};

// Builds the encoding named by config.pe["type"], validating its keys (errors name `where`,
// the key and the allowed values). The registry is src/pe/registry.cpp.
std::unique_ptr<PositionalEncoding> make_positional_encoding(const ModelConfig& config,
                                                             const std::string& where = "config");
std::vector<std::string> pe_type_names();
// Checks that positions 0..n-1 (the position stream alone) can be encoded, e.g. by a learned
// table; throws lengen::Error naming the first that cannot.
void check_index_positions(const PositionalEncoding& pe, int n);
// A model config checked whole: its own keys (ModelConfig::validate) and its encoding's.
void validate_model_config(const ModelConfig& config, const std::string& where);
ModelConfig model_config_from_json(const nlohmann::json& j,
                                   const std::string& where = "config");

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
