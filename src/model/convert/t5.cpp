// The decoder-only T5 layout of the length-generalization code (McGill-NLP/length-generalization,
// src/models/custom_t5_decoder_only.py): HF T5 tensor names and a T5Config-style config.json with
// `position_encoding_type`. What that code fixes, and so what this layout can express:
//   - RMSNorm (T5LayerNorm), no q.k scaling, FFN `DenseReluDense.{wi,wo}` (relu) or
//     `{wi_0,wi_1,wo}` (gated-gelu = geglu: wi_0 gate through gelu_new, wi_1 up); the pinned
//     transformers 4.16.2 builds only these two (later versions also build gelu and
//     gated-silu: imported, exported only with --allow-lossy);
//   - tied embeddings with the d_model^-0.5 output scale (tie_word_embeddings true), or an
//     untied lm_head without it;
//   - abs_learned: `decoder.wpe.weight`, a fixed 2048-row nn.Embedding;
//   - abs_sinusoid: a frozen 16384-row table `decoder.wpe.embed.weight` (recomputed: checked
//     on import, not written);
//   - t5_relative_bias: `decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight`
//     [buckets, H], shared by all layers; block 0 holds that tensor (unused) for every encoding.
//     4.16.2's compute_bias never passes a max distance: it is 128 whatever the config says
//     (`relative_attention_max_distance` is ignored on import and not written);
//   - alibi (fixed slopes; its buffer `decoder.alibi` [H, 1, 2048] checked on import),
//     alibi_learned (`decoder.learned_logslopes` [H]);
//   - rotary, rotary_rerun, new_rotary: GPT-J interleaved pairs on the first int(0.25 * d_kv)
//     dims, base 10000 (the code overrides any `rotary_dim` in the config with that value);
//     new_rotary's table `decoder.fixed_rotary_embedding.embed.weight` [4096, rotary_dim] is
//     checked on import;
//   - transformer_xl_relative_encoding: per block `layer.0.SelfAttention.{r.weight, r_w_bias,
//     r_r_bias}` (W_r, u, v) and the buffer `pos_emb.inv_freq` [d_model / 2] (checked on import,
//     not written: the reference recomputes it); distances clamped at 1000 (hard-coded there).
// Every block also carries an unused cross-attention sub-layer (`layer.1.*`): skipped on import,
// not written on export (HF from_pretrained tolerates missing unused weights).
#include <regex>

#include "model/convert/reference_format.h"
#include "pe/encodings.h"
#include "util/error.h"

namespace lengen::convert {
namespace {

constexpr int kAbsLearnedPositions = 2048;  // nn.Embedding(2048, d_model) in the reference
constexpr int kSinusoidRows = 16384;        // FixedAbsolutePositionalEmbedding's table
constexpr int kNewRotaryRows = 4096;        // FixedRotaryPositionalEmbedding(max_position=4096)
constexpr int kAlibiColumns = 2048;         // the alibi buffer's maxpos
constexpr int kReferenceMaxDistance = 128;  // 4.16.2's compute_bias: the bucket function's default
constexpr int kTransformerXlClamp = 1000;   // the reference's clamp_length

int reference_rotary_dim(int d_kv) { return int(0.25 * d_kv); }

std::string ffn_name(FfnKind f) {
  switch (f) {
    case FfnKind::Relu: return "relu";
    case FfnKind::Gelu: return "gelu";
    case FfnKind::SwiGlu: return "gated-silu";
    case FfnKind::GeGlu: return "gated-gelu";
  }
  return "?";
}

class T5Format final : public ReferenceFormat {
 public:
  std::string name() const override { return "t5"; }

  nlohmann::json export_config(const ModelConfig& c, Notes& lossy) const override {
    auto cannot = [&](const std::string& what, const std::string& why) {
      fail("cannot export to the t5 layout: {} cannot be expressed in a T5Config ({})", what, why);
    };
    if (c.norm != NormKind::RmsNorm) cannot("norm 'layernorm'", "T5LayerNorm is an RMSNorm");
    if (c.qk_scale) cannot("qk_scale 'inv_sqrt_dh'", "T5 attention does not scale q.k");
    if (c.tie_embeddings != c.output_scale)
      cannot("tie_embeddings true with output_scale false",
             "HF T5 scales the output by d_model^-0.5 exactly when the embeddings are tied");
    const auto bias = c.pe_type() == "t5_bias" ? t5_bias_settings(c) : T5BiasSettings{32, 128};
    if (bias.max_distance != kReferenceMaxDistance)
      lossy.push_back(fmt::format(
          "pe.max_distance {}: the reference (transformers 4.16.2) buckets with max distance {} "
          "whatever the config says", bias.max_distance, kReferenceMaxDistance));
    if (c.ffn == FfnKind::Gelu || c.ffn == FfnKind::SwiGlu)
      lossy.push_back(fmt::format(
          "ffn '{}' (feed_forward_proj \"{}\"): transformers 4.16.2's T5 builds only relu and "
          "gated-gelu and raises on this one (later versions build it)",
          c.ffn == FfnKind::Gelu ? "gelu" : "swiglu", ffn_name(c.ffn)));
    std::string pe;
    const std::string type = c.pe_type();
    if (type == "transformer_xl" && transformer_xl_clamp(c) != kTransformerXlClamp)
      lossy.push_back(fmt::format(
          "pe.clamp_length {}: the reference clamps transformer_xl distances at {} whatever the "
          "config says", transformer_xl_clamp(c), kTransformerXlClamp));
    if (type == "nope") pe = "none";
    else if (type == "abs_sin") pe = "abs_sinusoid";
    else if (type == "t5_bias") pe = "t5_relative_bias";
    else if (type == "transformer_xl") pe = "transformer_xl_relative_encoding";
    else if (type == "alibi" || type == "alibi_learned") pe = type;
    else if (type == "abs_learned") {
      pe = "abs_learned";
      const int n = abs_learned_positions(c);
      if (n != kAbsLearnedPositions)
        cannot(fmt::format("pe.max_positions {}", n),
               fmt::format("the reference's learned table has exactly {} rows",
                           kAbsLearnedPositions));
    } else if (type == "rotary") {
      pe = "rotary";
      const RotarySettings r = rotary_settings(c);
      const int want = reference_rotary_dim(c.d_head);
      if (r.rotary_dim != want)
        cannot(fmt::format("rotary_dim {} (d_head {})", r.rotary_dim, c.d_head),
               fmt::format("the reference always rotates int(0.25 * d_kv) = {} dims", want));
      if (!r.interleaved) cannot("pe.pairing 'half'", "the reference pairs dims GPT-J style");
      if (r.scaling.kind != "none")
        cannot("pe.scaling '" + r.scaling.kind + "'", "the reference has no RoPE scaling");
      if (r.base != 10000.0)
        cannot(fmt::format("pe.base {}", r.base), "the reference's rotary base is 10000");
    } else {
      cannot(fmt::format("pe '{}'", type),
             "position_encoding_type is one of none, abs_sinusoid, abs_learned, "
             "t5_relative_bias, alibi, alibi_learned, rotary, "
             "transformer_xl_relative_encoding");
    }
    return {{"architectures", {"CustomDecoderOnlyT5"}},
            {"model_type", "t5"},
            {"is_decoder", true},
            {"is_encoder_decoder", false},
            {"vocab_size", c.vocab_size},
            {"d_model", c.d_model},
            {"d_kv", c.d_head},
            {"d_ff", c.d_ff},
            {"num_layers", c.n_layers},
            {"num_decoder_layers", c.n_layers},
            {"num_heads", c.n_heads},
            {"relative_attention_num_buckets", bias.num_buckets},
            {"layer_norm_epsilon", json_float(c.norm_eps)},
            {"feed_forward_proj", ffn_name(c.ffn)},
            {"tie_word_embeddings", c.tie_embeddings},
            {"dropout_rate", json_float(c.dropout)},
            {"initializer_factor", 1.0},
            {"position_encoding_type", pe},
            {"use_cache", true},
            {"torch_dtype", "float32"}};
  }

  ModelConfig import_config(const nlohmann::json& j, const std::string& where,
                            Notes& notes) const override {
    ConfigReader r(j, where, "t5",
                   hf_harmless_fields({"is_decoder", "is_encoder_decoder", "initializer_factor",
                                       "output_past", "n_positions", "dense_act_fn",
                                       "is_gated_act", "classifier_dropout"}));
    const std::string model_type = r.get_string("model_type", "t5");
    if (model_type != "t5") r.error("model_type", "must be \"t5\", got \"" + model_type + "\"");
    nlohmann::json m = {{"family", "t5"},
                        {"vocab_size", r.get_int("vocab_size")},
                        {"d_model", r.get_int("d_model")},
                        {"d_head", r.get_int("d_kv")},
                        {"d_ff", r.get_int("d_ff")},
                        {"n_layers", r.get_int("num_layers")},
                        {"n_heads", r.get_int("num_heads")},
                        {"norm", "rmsnorm"},
                        {"qk_scale", "none"},
                        {"norm_eps", r.get_float("layer_norm_epsilon", 1e-6f)},
                        {"dropout", r.get_float("dropout_rate", 0.1f)}};
    if (r.has("num_decoder_layers") && r.get_int("num_decoder_layers") != m["n_layers"])
      r.error("num_decoder_layers", "must equal num_layers (the decoder-only stack has "
                                    "num_layers blocks)");
    const std::string ffn = r.get_string("feed_forward_proj", "relu");
    if (ffn == "relu") m["ffn"] = "relu";
    else if (ffn == "gated-gelu") m["ffn"] = "geglu";
    else if (ffn == "gelu") m["ffn"] = "gelu";
    else if (ffn == "gated-silu") m["ffn"] = "swiglu";
    else r.error("feed_forward_proj", "\"" + ffn + "\" is not supported; allowed: relu, "
                                      "gated-gelu (what transformers 4.16.2 builds), gelu, "
                                      "gated-silu");
    const bool tie = r.get_bool("tie_word_embeddings", true);
    m["tie_embeddings"] = tie;
    m["output_scale"] = tie;
    const int buckets = r.get_int("relative_attention_num_buckets", 32);
    const int max_distance = r.get_int("relative_attention_max_distance", kReferenceMaxDistance);
    if (max_distance != kReferenceMaxDistance)
      notes.push_back(fmt::format(
          "{}: relative_attention_max_distance {} is ignored, as the reference code ignores it "
          "(transformers 4.16.2 buckets with max distance {})",
          where, max_distance, kReferenceMaxDistance));
    const int d_kv = m["d_head"];
    const std::string pe = r.get_string("position_encoding_type", "t5_relative_bias");
    if (r.has("rotary_dim") && !(pe == "rotary" && r.get_int("rotary_dim") ==
                                                       reference_rotary_dim(d_kv)))
      r.error("rotary_dim", fmt::format("is ignored by the reference code, which rotates "
                                        "int(0.25 * d_kv) = {} dims with position_encoding_type "
                                        "rotary; remove it or set it to that",
                                        reference_rotary_dim(d_kv)));
    if (pe == "none") m["pe"] = {{"type", "nope"}};
    else if (pe == "abs_sinusoid") m["pe"] = {{"type", "abs_sin"}};
    else if (pe == "abs_learned")
      m["pe"] = {{"type", "abs_learned"}, {"max_positions", kAbsLearnedPositions}};
    else if (pe == "t5_relative_bias")
      m["pe"] = {{"type", "t5_bias"},
                 {"num_buckets", buckets},
                 {"max_distance", kReferenceMaxDistance}};
    else if (pe == "alibi" || pe == "alibi_learned") m["pe"] = {{"type", pe}};
    else if (pe == "transformer_xl_relative_encoding") m["pe"] = {{"type", "transformer_xl"}};
    else if (pe == "rotary" || pe == "rotary_rerun" || pe == "new_rotary")
      m["pe"] = {{"type", "rotary"},
                 {"rotary_dim", reference_rotary_dim(d_kv)},
                 {"pairing", "interleaved"},
                 {"base", 10000.0}};
    else
      r.error("position_encoding_type",
              "\"" + pe + "\" is not supported; allowed: none, abs_sinusoid, abs_learned, "
                          "t5_relative_bias, alibi, alibi_learned, rotary, rotary_rerun, "
                          "new_rotary, transformer_xl_relative_encoding");
    r.finish();
    return model_config_from_json(m, where);
  }

  std::vector<TensorName> tensors(const ModelConfig& c) const override {
    std::vector<TensorName> t = {{"shared.weight", "model.embed_tokens.weight"}};
    for (int l = 0; l < c.n_layers; ++l) {
      const std::string r = "decoder.block." + std::to_string(l) + ".layer.";
      const std::string n = "model.layers." + std::to_string(l) + ".";
      for (const char* p : {"q", "k", "v", "o"})
        t.push_back({r + "0.SelfAttention." + p + ".weight", n + "self_attn." + p + "_proj.weight"});
      t.push_back({r + "0.layer_norm.weight", n + "input_layernorm.weight"});
      if (c.gated_ffn()) {
        t.push_back({r + "2.DenseReluDense.wi_0.weight", n + "mlp.gate_proj.weight"});
        t.push_back({r + "2.DenseReluDense.wi_1.weight", n + "mlp.up_proj.weight"});
      } else {
        t.push_back({r + "2.DenseReluDense.wi.weight", n + "mlp.up_proj.weight"});
      }
      t.push_back({r + "2.DenseReluDense.wo.weight", n + "mlp.down_proj.weight"});
      if (c.pe_type() == "transformer_xl") {
        const std::string x = "model.pe.transformer_xl." + std::to_string(l) + ".";
        t.push_back({r + "0.SelfAttention.r.weight", x + "r_weight"});
        t.push_back({r + "0.SelfAttention.r_w_bias", x + "content_bias"});
        t.push_back({r + "0.SelfAttention.r_r_bias", x + "position_bias"});
      }
      t.push_back({r + "2.layer_norm.weight", n + "post_attention_layernorm.weight"});
    }
    t.push_back({"decoder.final_layer_norm.weight", "model.norm.weight"});
    if (!c.tie_embeddings) t.push_back({"lm_head.weight", "lm_head.weight"});
    const std::string pe = c.pe_type();
    if (pe == "t5_bias")
      t.push_back({kRelativeBias, "model.pe.t5_bias.weight"});
    else if (pe == "abs_learned")
      t.push_back({"decoder.wpe.weight", "model.pe.abs_learned.weight"});
    else if (pe == "alibi_learned")
      t.push_back({"decoder.learned_logslopes", "model.pe.alibi.log_slopes"});
    return t;
  }

  std::vector<ExtraTensor> extra_tensors(const ModelConfig& c,
                                         const nlohmann::json&) const override {
    const int64_t V = c.vocab_size, D = c.d_model;
    // decoder.embed_tokens is the `shared` module itself; a tied lm_head is `shared` too.
    std::vector<ExtraTensor> e = {{"decoder.embed_tokens.weight", {V, D}, "shared.weight"}};
    if (c.tie_embeddings) e.push_back({"lm_head.weight", {V, D}, "shared.weight"});
    const std::string pe = c.pe_type();
    if (pe == "abs_sin") e.push_back(sinusoid_buffer("decoder.wpe.embed.weight", kSinusoidRows, int(D)));
    if (pe == "alibi")
      e.push_back(alibi_buffer("decoder.alibi", alibi_slopes(c.n_heads), kAlibiColumns,
                               {c.n_heads, 1, kAlibiColumns}));
    if (pe == "transformer_xl")
      for (int l = 0; l < c.n_layers; ++l)
        e.push_back(inverse_frequency_buffer(
            "decoder.block." + std::to_string(l) + ".layer.0.SelfAttention.pos_emb.inv_freq",
            int(D)));
    if (pe == "rotary")  // new_rotary's table (rotary and rotary_rerun compute theirs per call)
      e.push_back(sinusoid_buffer("decoder.fixed_rotary_embedding.embed.weight", kNewRotaryRows,
                                  rotary_settings(c).rotary_dim));
    return e;
  }

  bool ignored(const std::string& name, const ModelConfig& c) const override {
    // Block 0 always owns a relative bias table; only t5_relative_bias uses it.
    if (name == kRelativeBias) return c.pe_type() != "t5_bias";
    // The unused cross-attention sub-layer of each block.
    static const std::regex cross(
        R"(decoder\.block\.(\d{1,6})\.layer\.1\.(EncDecAttention\.(q|k|v|o|relative_attention_bias)\.weight|layer_norm\.weight))");
    std::smatch m;
    return std::regex_match(name, m, cross) && std::stoi(m[1].str()) < c.n_layers;
  }

 private:
  static constexpr const char* kRelativeBias =
      "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight";
};

}  // namespace

const ReferenceFormat& t5_format() {
  static const T5Format f;
  return f;
}

}  // namespace lengen::convert
