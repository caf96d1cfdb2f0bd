// The HF Llama / BiPE layout (zhenyuhe00/BiPE, transformers 4.31): LlamaConfig config.json plus
// BiPE's `rpe_type`.
//   rope   the plain HF Llama model: RoPE on all head dims, half-split pairing (rotate_half).
//          Loads unmodified in transformers as LlamaForCausalLM, which (since 4.34) reads
//          rope_theta and head_dim; BiPE's own code fixes base 10000 and head_dim = hidden/heads.
//   alibi  BiPE's MyLlamaForCausalLM: Llama with fixed ALiBi slopes instead of RoPE; its buffer
//          `model.layers.{i}.self_attn.alibi` [1, H, 1, max_position_embeddings] is checked on
//          import.
//   bipe_rope, bipe_alibi  BiPE's bilevel models: the intra-segment table
//          `model.embeds.0.weight` [train_scale, hidden] (train_scale = pe.intra_size), RoPE
//          (base 10000) or x96 ALiBi (buffer as alibi's) on segment indices. What BiPE's code
//          computes whatever its config says: head_dim = hidden/heads, rotary base 10000,
//          segments ended by the Llama tokenizer's ids 13 ("\n") and 869 ("▁."), and the
//          intra-segment index clamped at 1023 (get_bilevel_ids' default train_scale 1024;
//          a smaller table raises IndexError on longer segments). Import reproduces that
//          (pe.delimiters = those of 13 and 869 inside the vocabulary, pe.intra_clamp =
//          min(1023, train_scale - 1)); export writes only what the code reads and refuses a
//          model it would compute differently unless --allow-lossy.
// Only llama-shaped models fit: RMSNorm, SwiGLU, q.k scaled by 1/sqrt(dh), untied lm_head, no
// biases, as many key/value heads as query heads. The tensor names are lengen's native ones.
#include <algorithm>

#include "model/convert/reference_format.h"
#include "pe/bilevel.h"
#include "pe/encodings.h"
#include "util/error.h"

namespace lengen::convert {
namespace {

constexpr int kMaxPositionEmbeddings = 2048;  // the alibi buffers' width; else informative
// The segment delimiters hard-coded in the BiPE reference: Llama ids of "\n" and "▁.".
const std::vector<int> kReferenceDelimiters = {13, 869};
constexpr int kReferenceIntraClamp = 1023;  // get_bilevel_ids(ids, train_scale=1024)
constexpr double kReferenceBase = 10000.0;  // BiPE's LlamaRotaryEmbedding default

// The delimiters BiPE's code segments on with a vocabulary of `vocab` ids (sorted).
std::vector<int> reference_delimiters(int vocab) {
  std::vector<int> out;
  for (int d : kReferenceDelimiters)
    if (d < vocab) out.push_back(d);
  return out;
}

class LlamaFormat final : public ReferenceFormat {
 public:
  std::string name() const override { return "llama"; }

  nlohmann::json export_config(const ModelConfig& c, Notes& lossy) const override {
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
      if (theta != kReferenceBase)
        lossy.push_back(fmt::format("pe.base {}: BiPE's code rotates with base {} whatever the "
                                    "config says", theta, kReferenceBase));
    } else {
      cannot(fmt::format("pe '{}'", type), "rpe_type is rope, alibi, bipe_rope or bipe_alibi");
    }
    const bool bipe_code = rpe != "rope";  // only BiPE's own classes build these
    if (bipe_code && c.d_head * c.n_heads != c.d_model)
      lossy.push_back(fmt::format("d_head {}: BiPE's code uses head_dim = hidden_size / "
                                  "num_attention_heads = {} and cannot load these weights",
                                  c.d_head, c.d_model / c.n_heads));
    nlohmann::json bilevel = nlohmann::json::object();
    if (is_bilevel(c)) {
      const BilevelSettings b = bilevel_settings(c, "config");
      bilevel = {{"train_scale", b.intra_size}};
      std::vector<int> mine(b.delimiters.begin(), b.delimiters.end());
      std::sort(mine.begin(), mine.end());
      mine.erase(std::unique(mine.begin(), mine.end()), mine.end());
      if (mine != reference_delimiters(c.vocab_size))
        lossy.push_back(fmt::format("pe.delimiters [{}]: BiPE's code ends segments at token ids "
                                    "13 and 869 only (here: [{}])", fmt::join(mine, ", "),
                                    fmt::join(reference_delimiters(c.vocab_size), ", ")));
      if (b.intra_clamp != kReferenceIntraClamp)
        lossy.push_back(fmt::format(
            "pe.intra_size {} / intra_clamp {}: BiPE's code clamps the intra-segment index at "
            "{}{}", b.intra_size, b.intra_clamp, kReferenceIntraClamp,
            b.intra_size <= kReferenceIntraClamp
                ? fmt::format(" and raises IndexError on segments longer than {} tokens",
                              b.intra_size)
                : std::string()));
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
            {"hidden_act", "silu"},
            {"rms_norm_eps", json_float(c.norm_eps)},
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
    if (!bipe_code) {  // read by transformers' LlamaForCausalLM (>= 4.34)
      out["head_dim"] = c.d_head;
      out["rope_theta"] = theta;
      out["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", theta}};
    }
    return out;
  }

  ModelConfig import_config(const nlohmann::json& j, const std::string& where,
                            Notes& notes) const override {
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
    if (r.get_bool("log_scale", false))
      r.error("log_scale", "true (BiPE's log-scaled queries) is not supported");
    const bool bipe_code = rpe != "rope";
    r.get_int("max_position_embeddings", kMaxPositionEmbeddings);
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
    int d_head = r.get_int("head_dim", hidden / heads);
    if (bipe_code) {  // fields BiPE's code ignores: computed as it does
      if (d_head != hidden / heads)
        notes.push_back(fmt::format("{}: head_dim {} is ignored, as BiPE's code ignores it "
                                    "(head_dim = hidden_size / num_attention_heads = {})",
                                    where, d_head, hidden / heads));
      d_head = hidden / heads;
      if (theta != kReferenceBase && rpe == "bipe_rope")
        notes.push_back(fmt::format("{}: rope_theta {} is ignored, as BiPE's code ignores it "
                                    "(base {})", where, theta, kReferenceBase));
      theta = kReferenceBase;
    }
    const int vocab = r.get_int("vocab_size");
    nlohmann::json m = {{"family", "llama"},
                        {"vocab_size", vocab},
                        {"d_model", hidden},
                        {"n_layers", r.get_int("num_hidden_layers")},
                        {"n_heads", heads},
                        {"d_head", d_head},
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
      const int train_scale = r.get_int("train_scale", 1024);
      if (train_scale < 2) r.error("train_scale", fmt::format("must be >= 2, got {}", train_scale));
      m["pe"]["intra_size"] = train_scale;
      m["pe"]["intra_clamp"] = std::min(kReferenceIntraClamp, train_scale - 1);
      if (train_scale - 1 < kReferenceIntraClamp)
        notes.push_back(fmt::format(
            "{}: train_scale {}: BiPE's code raises IndexError on segments longer than {} "
            "tokens; lengen clamps their intra-segment index at {} instead", where, train_scale,
            train_scale, train_scale - 1));
      const std::vector<int> delimiters = reference_delimiters(vocab);
      if (delimiters.empty())
        r.error("vocab_size", fmt::format("{} holds neither of BiPE's delimiter ids 13 and 869: "
                                          "the code would never end a segment", vocab));
      m["pe"]["delimiters"] = delimiters;
      if (r.has("bipe_delimiters") && r.get("bipe_delimiters") != nlohmann::json(delimiters))
        notes.push_back(fmt::format("{}: bipe_delimiters {} is ignored, as BiPE's code ignores "
                                    "it (segments end at ids [{}])", where,
                                    r.get("bipe_delimiters").dump(), fmt::join(delimiters, ", ")));
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

  std::vector<ExtraTensor> extra_tensors(const ModelConfig& c,
                                         const nlohmann::json& ref_config) const override {
    const std::string type = c.pe_type();
    if (type != "alibi" && type != "bipe_alibi") return {};
    // Each attention layer's buffer slopes * arange(max_position_embeddings), x96 for bipe.
    const int width = ref_config.value("max_position_embeddings", kMaxPositionEmbeddings);
    if (width < 1 || width > (1 << 24)) return {};  // no buffer of that name can match: unexpected
    std::vector<double> slopes = alibi_slopes(c.n_heads);
    if (type == "bipe_alibi")
      for (double& s : slopes) s *= 96.0;  // the reference multiplies in double, then rounds
    std::vector<ExtraTensor> out;
    const ExtraTensor one = alibi_buffer("", slopes, width, {1, c.n_heads, 1, width});
    for (int l = 0; l < c.n_layers; ++l) {
      out.push_back(one);
      out.back().ref = "model.layers." + std::to_string(l) + ".self_attn.alibi";
    }
    return out;
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
