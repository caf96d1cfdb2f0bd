// The list of positional encodings: adding one = one file in src/pe/ + one line here.
#include <algorithm>
#include <functional>
#include <map>

#include "arch/model_config.h"
#include "pe/encodings.h"
#include "util/error.h"
#include "util/json_parse.h"

namespace lengen {
namespace {

using Factory = std::function<std::unique_ptr<PositionalEncoding>(const ModelConfig&,
                                                                  const std::string& where)>;

const std::map<std::string, Factory>& registry() {
  static const std::map<std::string, Factory> r = {
      {"nope", make_nope},
      {"abs_sin", make_abs_sin},
      {"abs_learned", make_abs_learned},
      {"t5_bias", make_t5_bias},
      {"alibi", make_alibi},
      {"alibi_learned", make_alibi_learned},
      {"rotary", make_rotary},
      {"bipe_rope", make_bipe_rope},
      {"bipe_alibi", make_bipe_alibi},
      {"fire", make_fire},
      {"kerple", make_kerple},
      {"xpos", make_xpos},
      {"abacus", make_abacus},
      {"transformer_xl", make_transformer_xl},
  };
  return r;
}

}  // namespace

std::vector<std::string> pe_type_names() {
  std::vector<std::string> names;
  for (const auto& [name, f] : registry()) names.push_back(name);
  return names;
}

std::unique_ptr<PositionalEncoding> make_positional_encoding(const ModelConfig& config,
                                                             const std::string& where) {
  const std::string type = config.pe_type();
  const auto it = registry().find(type);
  if (it == registry().end())
    fail("{}: key 'pe.type' has value \"{}\"; allowed values: {}", where, type,
         fmt::join(pe_type_names(), ", "));
  return it->second(config, where);
}

void check_index_positions(const PositionalEncoding& pe, int n) {
  std::vector<int32_t> pos(size_t(std::max(n, 0)));
  for (int i = 0; i < n; ++i) pos[size_t(i)] = i;
  TokenStreams s;
  s.of[int(Stream::Position)] = pos.data();
  pe.check_streams(s, n);
}

namespace {

// The encoding validates its own keys; its tables count towards the parameter limit too (a
// learned table of pe.max_positions x d_model, FIRE's MLP, ...).
void check_encoding(const ModelConfig& config, const std::string& where) {
  const auto encoding = make_positional_encoding(config, where);
  ParameterLayout layout;
  encoding->declare_parameters(layout);
  if (double(layout.numel()) > kMaxModelParameters)
    fail("{}: key 'pe': the encoding's tensors ({}) make {} parameters, more than the limit of "
         "{:.3g}",
         where, layout.tensors().empty() ? std::string("?") : layout.tensors()[0].name,
         layout.numel(), kMaxModelParameters);
}

}  // namespace

void validate_model_config(const ModelConfig& config, const std::string& where) {
  config.validate(where);
  check_encoding(config, where);
}

ModelConfig model_config_from_json(const nlohmann::json& j, const std::string& where) {
  ModelConfig c = ModelConfig::from_json(j, where);
  check_encoding(c, where);
  return c;
}

PeOptions::PeOptions(const nlohmann::json& pe, std::string where, std::vector<std::string> allowed)
    : pe_(pe), where_(std::move(where)) {
  allowed.push_back("type");
  for (auto it = pe.begin(); it != pe.end(); ++it) {
    bool ok = false;
    for (const auto& a : allowed) ok = ok || a == it.key();
    if (!ok)
      fail("{}: unknown key 'pe.{}' for encoding '{}'; allowed keys: {}", where_, it.key(),
           pe.value("type", "?"), fmt::join(allowed, ", "));
  }
}

void PeOptions::error(const std::string& key, const std::string& message) const {
  fail("{}: key 'pe.{}' {}", where_, key, message);
}

int PeOptions::get_int(const std::string& key, int fallback) const {
  if (!pe_.contains(key)) return fallback;
  return json_value_as<int>(pe_[key], where_, "pe." + key);  // no wrap of 2^32 + k to k
}

double PeOptions::get_double(const std::string& key, double fallback) const {
  if (!pe_.contains(key)) return fallback;
  return json_value_as<double>(pe_[key], where_, "pe." + key);
}

std::string PeOptions::get_choice(const std::string& key, const std::string& fallback,
                                  const std::vector<std::string>& choices) const {
  if (!pe_.contains(key)) return fallback;
  const auto& v = pe_[key];
  for (const auto& c : choices)
    if (v.is_string() && v.get<std::string>() == c) return c;
  error(key, fmt::format("has value {}; allowed values: {}", v.dump(), fmt::join(choices, ", ")));
}

}  // namespace lengen
