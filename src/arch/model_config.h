// Model configuration: both families of SPEC section 1 are settings of one engine. JSON in,
// JSON out; unknown keys and bad values are errors naming the key and the allowed values.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace lengen {

enum class NormKind { RmsNorm, LayerNorm };
// Gated FFNs (SwiGlu: silu(gate) * up; GeGlu: gelu_tanh(gate) * up, T5 v1.1's "gated-gelu")
// have three weight matrices.
enum class FfnKind { Relu, Gelu, SwiGlu, GeGlu };
enum class InitKind { T5, Normal };

// The model's weight matrices together (encoding tensors included) may hold at most this many
// parameters (32 GiB fp32): a corrupt or mistyped size is an error naming the key, not an
// attempt to allocate terabytes.
constexpr double kMaxModelParameters = double(int64_t(1) << 33);

struct ModelConfig {
  std::string family = "t5";  // preset the defaults came from: t5, llama, gpt2
  int vocab_size = 64;
  int d_model = 128;
  int n_layers = 2;
  int n_heads = 4;
  int d_head = 32;
  int d_ff = 512;
  NormKind norm = NormKind::RmsNorm;
  float norm_eps = 1e-6f;
  FfnKind ffn = FfnKind::Relu;
  bool qk_scale = false;  // multiply q.k by 1/sqrt(d_head)
  bool tie_embeddings = true;
  bool output_scale = true;  // logits = E (h * D^-0.5) (t5, tied embeddings)
  float dropout = 0.0f;
  InitKind init = InitKind::T5;
  float init_std = 0.02f;  // for init = normal
  // Standard deviation of the token embedding; 0 = the family's (t5: 1, others: init_std).
  // Absolute encodings add vectors of norm ~sqrt(D/2): embeddings of std 1 keep them comparable.
  float embed_init_std = 0.0f;
  // The positional encoding: {"type": "...", ...its own keys}. Parsed by the encoding itself.
  nlohmann::json pe = {{"type", "nope"}};

  std::string pe_type() const { return pe.at("type").get<std::string>(); }
  int hd() const { return n_heads * d_head; }
  bool gated_ffn() const { return ffn == FfnKind::SwiGlu || ffn == FfnKind::GeGlu; }
  // The token embedding's init std: embed_init_std, else the family's (t5 init: 1).
  float token_embedding_std() const {
    return embed_init_std > 0 ? embed_init_std : init == InitKind::T5 ? 1.0f : init_std;
  }

  // Applies the family preset named in j["family"] (default t5), then every other key of j.
  // `where` names the source in errors (a file name). Checks the keys of this struct; the
  // encoding's own keys are checked by the encoding (pe/positional_encoding.h:
  // model_config_from_json checks both).
  static ModelConfig from_json(const nlohmann::json& j, const std::string& where = "config");
  nlohmann::json to_json() const;
  void validate(const std::string& where = "config") const;
};

// Named model shapes used by tests, demos and benchmarks: tiny, small, paper (t5 family).
// model_preset_json holds only the shape keys, so a "family" set on top still picks that
// family's defaults for everything else.
nlohmann::json model_preset_json(const std::string& name);
ModelConfig model_preset(const std::string& name);

}  // namespace lengen
