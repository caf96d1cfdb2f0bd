#include "arch/model_config.h"

#include <cmath>
#include <set>

#include "util/error.h"
#include "util/json_parse.h"

namespace lengen {
namespace {

template <typename E>
E parse_enum(const nlohmann::json& v, const std::string& key, const std::string& where,
             std::initializer_list<std::pair<const char*, E>> options) {
  std::string allowed;
  for (const auto& [name, value] : options) {
    if (v.is_string() && v.get<std::string>() == name) return value;
    allowed += allowed.empty() ? name : std::string(", ") + name;
  }
  fail("{}: key '{}' has value {}; allowed values: {}", where, key, v.dump(), allowed);
}

template <typename E>
std::string enum_name(E value, std::initializer_list<std::pair<const char*, E>> options) {
  for (const auto& [name, v] : options)
    if (v == value) return name;
  return "?";
}

const std::initializer_list<std::pair<const char*, NormKind>> kNorms = {
    {"rmsnorm", NormKind::RmsNorm}, {"layernorm", NormKind::LayerNorm}};
const std::initializer_list<std::pair<const char*, FfnKind>> kFfns = {
    {"relu", FfnKind::Relu}, {"gelu", FfnKind::Gelu}, {"swiglu", FfnKind::SwiGlu},
    {"geglu", FfnKind::GeGlu}};
const std::initializer_list<std::pair<const char*, InitKind>> kInits = {
    {"t5", InitKind::T5}, {"normal", InitKind::Normal}};
const std::initializer_list<std::pair<const char*, bool>> kQkScales = {
    {"none", false}, {"inv_sqrt_dh", true}};

ModelConfig family_defaults(const std::string& family, const std::string& where) {
  ModelConfig c;
  c.family = family;
  if (family == "t5") return c;  // the struct's defaults are the t5 family
  if (family == "llama") {
    c.norm_eps = 1e-5f;
    c.ffn = FfnKind::SwiGlu;
    c.qk_scale = true;
    c.tie_embeddings = false;
    c.output_scale = false;
    c.init = InitKind::Normal;
    return c;
  }
  if (family == "gpt2") {
    c.norm = NormKind::LayerNorm;
    c.norm_eps = 1e-5f;
    c.ffn = FfnKind::Gelu;
    c.qk_scale = true;
    c.output_scale = false;
    c.init = InitKind::Normal;
    return c;
  }
  fail("{}: key 'family' has value \"{}\"; allowed values: t5, llama, gpt2", where, family);
}

int get_int(const nlohmann::json& v, const std::string& key, const std::string& where) {
  return json_value_as<int>(v, where, key);
}
float get_float(const nlohmann::json& v, const std::string& key, const std::string& where) {
  return json_value_as<float>(v, where, key);
}
bool get_bool(const nlohmann::json& v, const std::string& key, const std::string& where) {
  return json_value_as<bool>(v, where, key);
}

// Upper bounds of the sizes (far beyond any model this CPU engine trains, far below what
// overflows an int or a size_t): a corrupt or mistyped size is an error naming the key, not
// an attempt to allocate terabytes.
constexpr int64_t kMaxVocab = int64_t(1) << 24, kMaxWidth = int64_t(1) << 16,
                  kMaxLayers = 1024, kMaxHeads = 4096, kMaxFf = int64_t(1) << 20,
                  kMaxHeadWidth = int64_t(1) << 20;

}  // namespace

ModelConfig ModelConfig::from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) fail("{}: the model config must be a JSON object", where);
  std::string family = "t5";
  if (j.contains("family")) {
    if (!j["family"].is_string()) fail("{}: key 'family' must be a string", where);
    family = j["family"].get<std::string>();
  }
  ModelConfig c = family_defaults(family, where);
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const auto& v = it.value();
    if (k == "family") continue;
    else if (k == "vocab_size") c.vocab_size = get_int(v, k, where);
    else if (k == "d_model") c.d_model = get_int(v, k, where);
    else if (k == "n_layers") c.n_layers = get_int(v, k, where);
    else if (k == "n_heads") c.n_heads = get_int(v, k, where);
    else if (k == "d_head") c.d_head = get_int(v, k, where);
    else if (k == "d_ff") c.d_ff = get_int(v, k, where);
    else if (k == "norm") c.norm = parse_enum(v, k, where, kNorms);
    else if (k == "norm_eps") c.norm_eps = get_float(v, k, where);
    else if (k == "ffn") c.ffn = parse_enum(v, k, where, kFfns);
    else if (k == "qk_scale") c.qk_scale = parse_enum(v, k, where, kQkScales);
    else if (k == "tie_embeddings") c.tie_embeddings = get_bool(v, k, where);
    else if (k == "output_scale") c.output_scale = get_bool(v, k, where);
    else if (k == "dropout") c.dropout = get_float(v, k, where);
    else if (k == "init") c.init = parse_enum(v, k, where, kInits);
    else if (k == "init_std") c.init_std = get_float(v, k, where);
    else if (k == "embed_init_std") c.embed_init_std = get_float(v, k, where);
    else if (k == "pe") {
      if (v.is_string()) c.pe = {{"type", v}};
      else if (v.is_object()) c.pe = v;
      else fail("{}: key 'pe' must be an encoding name or an object with a 'type'", where);
    } else {
      fail("{}: unknown key '{}'; allowed keys: family, vocab_size, d_model, n_layers, n_heads, "
           "d_head, d_ff, norm, norm_eps, ffn, qk_scale, tie_embeddings, output_scale, dropout, "
           "init, init_std, embed_init_std, pe",
           where, k);
    }
  }
  c.validate(where);
  return c;
}

nlohmann::json ModelConfig::to_json() const {
  return {{"family", family},
          {"vocab_size", vocab_size},
          {"d_model", d_model},
          {"n_layers", n_layers},
          {"n_heads", n_heads},
          {"d_head", d_head},
          {"d_ff", d_ff},
          {"norm", enum_name(norm, kNorms)},
          {"norm_eps", norm_eps},
          {"ffn", enum_name(ffn, kFfns)},
          {"qk_scale", enum_name(qk_scale, kQkScales)},
          {"tie_embeddings", tie_embeddings},
          {"output_scale", output_scale},
          {"dropout", dropout},
          {"init", enum_name(init, kInits)},
          {"init_std", init_std},
          {"embed_init_std", embed_init_std},
          {"pe", pe}};
}

void ModelConfig::validate(const std::string& where) const {
  auto size = [&](int v, const char* key, int64_t max) {
    if (v <= 0 || v > max)
      fail("{}: key '{}' must be positive and at most {}, got {}", where, key, max, v);
  };
  size(vocab_size, "vocab_size", kMaxVocab);
  size(d_model, "d_model", kMaxWidth);
  size(n_layers, "n_layers", kMaxLayers);
  size(n_heads, "n_heads", kMaxHeads);
  size(d_head, "d_head", kMaxWidth);
  size(d_ff, "d_ff", kMaxFf);
  if (int64_t(n_heads) * d_head > kMaxHeadWidth)
    fail("{}: keys 'n_heads' x 'd_head' = {} x {} must be at most {}", where, n_heads, d_head,
         kMaxHeadWidth);
  {
    // The embedding (and an untied head) plus every block's attention and FFN matrices.
    const double V = vocab_size, D = d_model, HD = double(n_heads) * d_head, F = d_ff;
    const double matrices = V * D * (tie_embeddings ? 1 : 2) +
                            double(n_layers) * (4 * HD * D + (gated_ffn() ? 3 : 2) * F * D);
    if (matrices > kMaxModelParameters)
      fail("{}: the sizes (vocab_size {}, d_model {}, n_layers {}, n_heads {}, d_head {}, d_ff {}) "
           "make {:.3g} parameters, more than the limit of {:.3g}",
           where, vocab_size, d_model, n_layers, n_heads, d_head, d_ff, matrices, kMaxModelParameters);
  }
  if (!std::isfinite(norm_eps)) fail("{}: key 'norm_eps' must be finite", where);
  if (!(norm_eps > 0)) fail("{}: key 'norm_eps' must be > 0", where);
  if (!(dropout >= 0 && dropout < 1)) fail("{}: key 'dropout' must be in [0, 1)", where);
  if (!(init_std > 0)) fail("{}: key 'init_std' must be > 0", where);
  if (!(embed_init_std >= 0)) fail("{}: key 'embed_init_std' must be >= 0 (0 = family default)", where);
  if (output_scale && !tie_embeddings)
    fail("{}: key 'output_scale' (logits scaled by d_model^-0.5) needs tie_embeddings = true",
         where);
  if (!pe.is_object() || !pe.contains("type") || !pe["type"].is_string())
    fail("{}: key 'pe' must have a string 'type' (the encoding's name)", where);
}

nlohmann::json model_preset_json(const std::string& name) {
  if (name == "tiny")
    return {{"d_model", 128}, {"n_layers", 2}, {"n_heads", 4}, {"d_head", 32}, {"d_ff", 512}};
  if (name == "small")
    return {{"d_model", 256}, {"n_layers", 4}, {"n_heads", 4}, {"d_head", 64}, {"d_ff", 1024}};
  if (name == "paper")
    return {{"d_model", 768}, {"n_layers", 12}, {"n_heads", 12},
            {"d_head", 64},   {"d_ff", 3072},   {"dropout", 0.1}};
  fail("unknown model preset '{}'; allowed: tiny, small, paper", name);
}

ModelConfig model_preset(const std::string& name) {
  return ModelConfig::from_json(model_preset_json(name), "preset " + name);
}

}  // namespace lengen
