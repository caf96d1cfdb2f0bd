// The HF Llama / BiPE layout (zhenyuhe00/BiPE): LlamaConfig config.json plus BiPE's `rpe_type`.
//   rope   the plain HF Llama model: RoPE on all head dims, half-split pairing (rotate_half),
//          base rope_theta. Loads unmodified in transformers as LlamaForCausalLM.
//   alibi  BiPE's MyLlamaForCausalLM: Llama with fixed ALiBi slopes instead of RoPE.
//   bipe_rope, bipe_alibi  BiPE's bilevel models: the intra-segment table
//          `model.embeds.0.weight` [train_scale, hidden] (train_scale = pe.intra_size), RoPE
//          (base rope_theta) or x96 ALiBi on segment indices. The reference code segments on
//          the Llama tokenizer's ids 13 (newline) and 869 ("▁."); lengen writes its delimiters
//          as `bipe_delimiters` and reads them back (default on import: 13, 869).
// Only llama-shaped models fit: RMSNorm, SwiGLU, q.k scaled by 1/sqrt(dh), untied lm_head, no
// biases, as many key/value heads as query heads. The tensor names are lengen's native ones.
#include "model/convert/reference_format.h"
#include "pe/bilevel.h"
#include "pe/encodings.h"
#include "util/error.h"

namespace lengen::convert {
namespace {

constexpr int kMaxPositionEmbeddings = 2048;  // informative only for default RoPE
// The segment delimiters hard-coded in the BiPE reference: Llama ids of "\n" and "▁.".
const std::vector<int> kReferenceDelimiters = {13, 869};

class LlamaFormat final : public ReferenceFormat {
 public:
  std::string name() const override { return "llama"; }

  nlohmann::json export_config(const ModelConfig& c) const override {
    auto cannot = [&](const std::string& what, const std::string& why) {
      fail("cannot export to the llama layout: {} cannot be expressed in LlamaConfig ({})", what,
           why);
    };
    if (c.norm != NormKind::RmsNorm) cannot("norm 'layernorm'", "Llama uses RMSNorm");
    if (c.ffn != FfnKind::SwiGlu)
      cannot(fmt::format("ffn '{}'", c.ffn == FfnKind::Relu ? "relu" : "gelu"),
             "the Llama MLP is SwiGLU");
    if (!c.qk_scale) cannot("qk_scale 'none'", "Llama scales q.k by 1/sqrt(head_dim)");
    if (c.tie_embeddings) cannot("tie_embeddings true", "this layout has an untied lm_head");
    if (c.d_model % c.n_heads != 0)
      cannot(fmt::format("d_model {} with n_heads {}", c.d_model, c.n_heads),
             "transformers requires hidden_size to be a multiple of num_attention_heads");
    const std::string type = c.pe_type();
    std::string rpe;
    double theta = 10000.0;
    if (type == "rotary") {
      const RotarySettings r = rotary_settings(c);
      if (r.rotary_dim != c.d_head)
        cannot(fmt::format("rotary_dim {} of d_head {} (rotary_fraction {})", r.rotary_dim,
                           c.d_head, double(r.rotary_dim) / c.d_head),
               "Llama rotates every head dim");
      if (r.interleaved)
        cannot("pe.pairing 'interleaved'", "Llama pairs dim t with t + head_dim/2 (rotate_half)");
      if (r.scaling.kind != "none")
        cannot("pe.scaling '" + r.scaling.kind + "'", "the exported config carries no RoPE scaling");
      rpe = "rope";
      theta = r.base;
    } else if (type == "alibi" || type == "bipe_alibi") {
      rpe = type;
    } else if (type == "bipe_rope") {
      rpe = type;
      theta = c.pe.value("base", 10000.0);
    } else {
      cannot(fmt::format("pe '{}'", type), "rpe_type is rope, alibi, bipe_rope or bipe_alibi");
    }
    nlohmann::json bilevel = nlohmann::json::object();
    if (is_bilevel(c)) {
      const BilevelSettings b = bilevel_settings(c, "config");
      bilevel = {{"train_scale", b.intra_size}, {"bipe_delimiters", b.delimiters}};
    }
    nlohmann::json out = {{"architectures", {rpe == "rope" ? "LlamaForCausalLM" : "MyLlamaForCausalLM"}},
            {"model_type", "llama"},
            {"rpe_type", rpe},
            {"vocab_size", c.vocab_size},
            {"hidden_size", c.d_model},
            {"intermediate_size", c.d_ff},
            {"num_hidden_layers", c.n_layers},
            {"num_attention_heads", c.n_heads},
            {"num_key_value_heads", c.n_heads},
            {"head_dim", c.d_head},
            {"hidden_act", "silu"},
            {"rms_norm_eps", json_float(c.norm_eps)},
            {"rope_theta", theta},
            {"rope_parameters", {{"rope_type", "default"}, {"rope_theta", theta}}},
            {"max_position_embeddings", kMaxPositionEmbeddings},
            {"tie_word_embeddings", false},
            {"attention_bias", false},
            {"attention_dropout", 0.0},
            {"mlp_bias", false},
            {"initializer_range", json_float(c.init == InitKind::Normal ? c.init_std : 0.02f)},
            {"pretraining_tp", 1},
            {"use_cache", true},
            {"bos_token_id", nullptr},
            {"eos_token_id", nullptr},
            {"pad_token_id", nullptr},
            {"torch_dtype", "float32"}};
    out.update(bilevel);
    return out;
  }

  ModelConfig import_config(const nlohmann::json& j, const std::string& where) const override {
    const std::string rpe = j.value("rpe_type", "rope");
    const bool bilevel = rpe == "bipe_rope" || rpe == "bipe_alibi";
    // train_scale sizes BiPE's intra-segment table; other models carry it unused.
    std::set<std::string> harmless = {"max_position_embeddings", "pretraining_tp",
                                      "attention_dropout"};
    if (!bilevel) harmless.insert("train_scale");
    ConfigReader r(j, where, "llama", hf_harmless_fields(harmless));
    const std::string model_type = r.get_string("model_type", "llama");
    if (model_type != "llama")
      r.error("model_type", "must be \"llama\", got \"" + model_type + "\"");
    r.get_string("rpe_type", "rope");
    if (rpe != "rope" && rpe != "alibi" && !bilevel)
      r.error("rpe_type", "\"" + rpe + "\" is not supported; allowed: rope, alibi, bipe_rope, "
                          "bipe_alibi");
    if (r.get_bool("log_scale", false)) r.error("log_scale", "true is not supported");
    const int heads = r.get_int("num_attention_heads");
    const int hidden = r.get_int("hidden_size");
    if (heads <= 0 || hidden % heads != 0)
      r.error("num_attention_heads", "must divide hidden_size");
    if (r.get_int("num_key_value_heads", heads) != heads)
      r.error("num_key_value_heads", "must equal num_attention_heads (grouped-query attention "
                                     "is not supported)");
    if (r.get_string("hidden_act", "silu") != "silu") r.error("hidden_act", "must be \"silu\"");
    if (r.get_bool("tie_word_embeddings", false))
      r.error("tie_word_embeddings", "must be false (this layout has an untied lm_head)");
    if (r.get_bool("attention_bias", false)) r.error("attention_bias", "must be false");
    if (r.get_bool("mlp_bias", false)) r.error("mlp_bias", "must be false");
    if (r.has("rope_scaling")) r.error("rope_scaling", "is not supported (must be null)");
    double theta = 10000.0;
    if (r.has("rope_theta")) {
      const auto& v = r.get("rope_theta");
      if (!v.is_number()) r.error("rope_theta", "must be a number, got " + v.dump());
      theta = v.get<double>();
    }
    if (r.has("rope_parameters")) {
      const auto& p = r.get("rope_parameters");
      if (!p.is_object()) r.error("rope_parameters", "must be an object");
      for (auto it = p.begin(); it != p.end(); ++it) {
        if (it.key() == "rope_type") {
          if (it.value() != "default")
            r.error("rope_parameters", "rope_type " + it.value().dump() + " is not supported "
                                       "(only \"default\")");
        } else if (it.key() == "rope_theta") {
          if (!it.value().is_number()) r.error("rope_parameters", "rope_theta must be a number");
          if (r.has("rope_theta") && it.value().get<double>() != theta)
            r.error("rope_parameters", "rope_theta differs from the top-level rope_theta");
          theta = it.value().get<double>();
        } else {
          r.error("rope_parameters", "has unknown key '" + it.key() + "'");
        }
      }
    }
    nlohmann::json m = {{"family", "llama"},
                        {"vocab_size", r.get_int("vocab_size")},
                        {"d_model", hidden},
                        {"n_layers", r.get_int("num_hidden_layers")},
                        {"n_heads", heads},
                        {"d_head", r.get_int("head_dim", hidden / heads)},
                        {"d_ff", r.get_int("intermediate_size")},
                        {"norm_eps", r.get_float("rms_norm_eps", 1e-6f)},
                        {"init_std", r.get_float("initializer_range", 0.02f)}};
    if (rpe == "rope")
      m["pe"] = {{"type", "rotary"},
                 {"rotary_dim", m["d_head"]},
                 {"pairing", "half"},
                 {"base", theta}};
    else
      m["pe"] = {{"type", rpe}};
    if (bilevel) {
      m["pe"]["intra_size"] = r.get_int("train_scale", 1024);
      m["pe"]["delimiters"] = kReferenceDelimiters;
      if (r.has("bipe_delimiters")) m["pe"]["delimiters"] = r.get("bipe_delimiters");
      if (rpe == "bipe_rope") m["pe"]["base"] = theta;
    }
    r.finish();
    return model_config_from_json(m, where);
  }

  std::vector<TensorName> tensors(const ModelConfig& c) const override {
    std::vector<TensorName> t;
    auto same = [&](const std::string& name) { t.push_back({name, name}); };
    same("model.embed_tokens.weight");
    for (int l = 0; l < c.n_layers; ++l) {
      const std::string p = "model.layers." + std::to_string(l) + ".";
      for (const char* w : {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                            "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj",
                            "input_layernorm", "post_attention_layernorm"})
        same(p + w + ".weight");
    }
    same("model.norm.weight");
    same("lm_head.weight");
    if (is_bilevel(c)) t.push_back({"model.embeds.0.weight", "model.pe.bipe.intra.weight"});
    return t;
  }

  bool ignored(const std::string& name, const ModelConfig& c) const override {
    // Older transformers saved RoPE's inverse frequencies as a buffer: recomputed here.
    const std::string suffix = ".self_attn.rotary_emb.inv_freq";
    return name.rfind("model.layers.", 0) == 0 && name.size() > suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  }
};

}  // namespace

const ReferenceFormat& llama_format() {
  static const LlamaFormat f;
  return f;
}

}  // namespace lengen::convert
