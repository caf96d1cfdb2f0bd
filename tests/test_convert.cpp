// Checkpoint conversion (src/model/convert.h): native <-> t5 and native <-> llama round trips
// are bit-identical for every encoding each layout can express; reference files in F16/BF16,
// with the reference's unused tensors, load; bad input names the tensor or field and writes
// nothing.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>

#include "file_test_support.h"
#include "test_paths.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "model/checkpoint.h"
#include "model/convert.h"
#include "model_fixtures.h"
#include "pe/encodings.h"

namespace fs = std::filesystem;

namespace lengen {
namespace {

using testing::error_of;
using testing::TempDir;

// A tiny model of `family` with encoding `pe`; `overrides` are applied last.
ModelConfig tiny(const std::string& family, nlohmann::json pe,
                 const nlohmann::json& overrides = nlohmann::json::object()) {
  if (pe.is_string()) pe = {{"type", pe}};
  nlohmann::json j = {{"family", family}, {"vocab_size", 11}, {"d_model", 16}, {"n_layers", 2},
                      {"n_heads", 2},     {"d_head", 8},      {"d_ff", 24},    {"pe", pe}};
  j.update(overrides);
  return model_config_from_json(j, "test");
}

std::unique_ptr<Transformer> make_model(const ModelConfig& c, uint64_t seed = 5) {
  auto m = std::make_unique<Transformer>(c);
  m->init_weights(seed);
  return m;
}

// Every combination of encoding and family each layout can express.
std::vector<ModelConfig> t5_cases() {
  const nlohmann::json abs_learned = {{"type", "abs_learned"}, {"max_positions", 2048}};
  const nlohmann::json t5_bias = {{"type", "t5_bias"}, {"num_buckets", 8}};
  std::vector<ModelConfig> v;
  for (const nlohmann::json& pe : {nlohmann::json("nope"), nlohmann::json("abs_sin"), abs_learned,
                                   t5_bias, nlohmann::json("alibi"),
                                   nlohmann::json("alibi_learned"), nlohmann::json("rotary")})
    v.push_back(tiny("t5", pe));
  v.push_back(tiny("t5", "t5_bias", {{"ffn", "geglu"}, {"dropout", 0.1}}));
  v.push_back(tiny("t5", "rotary", {{"ffn", "geglu"}, {"norm_eps", 1e-5}}));
  v.push_back(tiny("t5", "alibi", {{"tie_embeddings", false}, {"output_scale", false}}));
  v.push_back(tiny("t5", {{"type", "rotary"}, {"rotary_dim", 2}, {"pairing", "interleaved"}},
                   {{"init", "normal"}, {"init_std", 0.05}}));
  return v;
}

std::vector<ModelConfig> llama_cases() {
  return {tiny("llama", "rotary"), tiny("llama", {{"type", "rotary"}, {"base", 500.0}}),
          tiny("llama", {{"type", "rotary"}, {"rotary_fraction", 1.0}, {"pairing", "half"}},
               {{"norm_eps", 1e-6}, {"init_std", 0.03}}),
          tiny("llama", "alibi"),
          // BiPE as its code computes: delimiter 13 (869 is beyond the vocabulary), clamp 1023
          tiny("llama", {{"type", "bipe_rope"}, {"delimiters", {13}}}, {{"vocab_size", 16}}),
          tiny("llama", {{"type", "bipe_alibi"}, {"delimiters", {13}}, {"intra_size", 2048},
                         {"intra_clamp", 1023}}, {{"vocab_size", 16}})};
}

void expect_same_model(const Transformer& a, const Transformer& b, const std::string& label) {
  EXPECT_EQ(a.config().to_json(), b.config().to_json()) << label;
  ASSERT_EQ(a.params_to_host().size(), b.params_to_host().size()) << label;
  EXPECT_EQ(std::memcmp(a.params_to_host().data(), b.params_to_host().data(), a.params_to_host().size() * sizeof(float)),
            0)
      << label;
  Transformer& ma = const_cast<Transformer&>(a);
  Transformer& mb = const_cast<Transformer&>(b);
  const Batch batch = testing::sample_batch(a.config().vocab_size, 3);
  EXPECT_EQ(testing::score_of(ma, batch), testing::score_of(mb, batch)) << label;
}

// --- reading and rewriting reference files in tests ------------------------------------------

struct RawTensor {
  std::vector<int64_t> shape;
  std::vector<float> values;
};
using TensorMap = std::map<std::string, RawTensor>;

TensorMap read_tensors(const std::string& path) {
  const auto f = io::SafetensorsFile::load(path);
  TensorMap m;
  for (const auto& name : f.names()) {
    RawTensor t{f.info(name).shape, {}};
    t.values.resize(size_t(f.info(name).numel()));
    f.read_f32(name, t.shape, t.values.data());
    m[name] = t;
  }
  return m;
}

uint16_t to_f16(float v) {  // exact for the values the tests use (normal or zero)
  uint32_t b;
  std::memcpy(&b, &v, 4);
  const uint32_t sign = (b >> 16) & 0x8000u;
  if ((b & 0x7fffffffu) == 0) return uint16_t(sign);
  const int exp = int((b >> 23) & 0xff) - 127 + 15;
  return uint16_t(sign | (uint32_t(exp) << 10) | ((b >> 13) & 0x3ffu));
}
uint16_t to_bf16(float v) {
  uint32_t b;
  std::memcpy(&b, &v, 4);
  return uint16_t(b >> 16);
}

// Writes tensors in `dtype` (F32, F16, BF16 or I32) as a safetensors file.
void write_tensors(const std::string& path, const TensorMap& m, const std::string& dtype) {
  nlohmann::json header = nlohmann::json::object();
  std::string data;
  for (const auto& [name, t] : m) {
    const size_t begin = data.size();
    for (float v : t.values) {
      if (dtype == "F32") data.append(reinterpret_cast<const char*>(&v), 4);
      else if (dtype == "I32") {
        const int32_t i = int32_t(v);
        data.append(reinterpret_cast<const char*>(&i), 4);
      } else {
        const uint16_t h = dtype == "F16" ? to_f16(v) : to_bf16(v);
        data.append(reinterpret_cast<const char*>(&h), 2);
      }
    }
    header[name] = {{"dtype", dtype}, {"shape", t.shape}, {"data_offsets", {begin, data.size()}}};
  }
  std::string h = header.dump();
  while ((8 + h.size()) % 8) h += ' ';
  std::string bytes(8, '\0');
  const uint64_t n = h.size();
  std::memcpy(bytes.data(), &n, 8);
  io::write_file_atomic(path, bytes + h + data);
}

void edit_config(const std::string& dir, const std::function<void(nlohmann::json&)>& f) {
  nlohmann::json j = read_json_file(dir + "/config.json");
  f(j);
  io::write_file_atomic(dir + "/config.json", j.dump(2));
}

// --- round trips --------------------------------------------------------------------------------

TEST(ConvertRoundTrip, NativeToT5ToNativeIsBitIdentical) {
  for (const auto& c : t5_cases()) {
    TempDir tmp;
    const auto model = make_model(c);
    export_checkpoint(CheckpointFormat::T5, *model, tmp.file("t5"));
    const auto back = import_checkpoint(CheckpointFormat::T5, tmp.file("t5"));
    expect_same_model(*model, *back, c.to_json().dump());
  }
}

TEST(ConvertRoundTrip, NativeToLlamaToNativeIsBitIdentical) {
  for (const auto& c : llama_cases()) {
    TempDir tmp;
    const auto model = make_model(c);
    export_checkpoint(CheckpointFormat::Llama, *model, tmp.file("llama"));
    const auto back = import_checkpoint(CheckpointFormat::Llama, tmp.file("llama"));
    expect_same_model(*model, *back, c.to_json().dump());
  }
}

TEST(ConvertRoundTrip, ThroughFilesWithConvertCheckpoint) {
  TempDir tmp;
  const auto model = make_model(tiny("llama", "rotary"));
  save_model(tmp.file("a"), *model);
  convert_checkpoint(CheckpointFormat::Native, CheckpointFormat::Llama, tmp.file("a"),
                     tmp.file("b"));
  convert_checkpoint(CheckpointFormat::Llama, CheckpointFormat::Native, tmp.file("b"),
                     tmp.file("c"));
  expect_same_model(*model, *load_model(tmp.file("c")), "files");
  EXPECT_EQ(io::read_file(tmp.file("a") + "/model.safetensors"),
            io::read_file(tmp.file("c") + "/model.safetensors"));
}

// A reference config without our "lengen_config" block (as the reference code writes it) gives
// the same model up to settings that only matter for training (family defaults, init).
TEST(ConvertRoundTrip, ReferenceConfigAloneGivesTheSameScores) {
  std::vector<std::pair<CheckpointFormat, ModelConfig>> cases;
  for (const auto& c : t5_cases()) cases.push_back({CheckpointFormat::T5, c});
  for (const auto& c : llama_cases()) cases.push_back({CheckpointFormat::Llama, c});
  for (const auto& [format, c] : cases) {
    TempDir tmp;
    const auto model = make_model(c);
    export_checkpoint(format, *model, tmp.file("ref"));
    edit_config(tmp.file("ref"), [](nlohmann::json& j) { j.erase("lengen_config"); });
    const auto back = import_checkpoint(format, tmp.file("ref"));
    const std::string label = c.to_json().dump();
    EXPECT_EQ(back->params_to_host(), model->params_to_host()) << label;
    const Batch batch = testing::sample_batch(model->config().vocab_size, 3);
    EXPECT_EQ(testing::score_of(*back, batch), testing::score_of(*model, batch)) << label;
    EXPECT_EQ(back->config().family, format == CheckpointFormat::T5 ? "t5" : "llama");
  }
}

TEST(ConvertRoundTrip, ExportedNamesAndConfigFollowTheReferenceLayouts) {
  TempDir tmp;
  const auto t5 = make_model(tiny("t5", {{"type", "t5_bias"}}, {{"ffn", "geglu"}}));
  export_checkpoint(CheckpointFormat::T5, *t5, tmp.file("t5"));
  const auto names = read_tensors(tmp.file("t5") + "/model.safetensors");
  for (const char* n : {"shared.weight", "decoder.block.1.layer.0.SelfAttention.q.weight",
                        "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
                        "decoder.block.1.layer.0.layer_norm.weight",
                        "decoder.block.0.layer.2.DenseReluDense.wi_0.weight",
                        "decoder.block.0.layer.2.DenseReluDense.wi_1.weight",
                        "decoder.block.0.layer.2.DenseReluDense.wo.weight",
                        "decoder.block.1.layer.2.layer_norm.weight", "decoder.final_layer_norm.weight"})
    EXPECT_TRUE(names.count(n)) << n;
  EXPECT_EQ(names.at("decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight").shape,
            (std::vector<int64_t>{32, 2}));
  EXPECT_EQ(names.size(), 1u + 2 * 9 + 1 + 1);  // no lm_head (tied), no cross-attention
  const auto j = read_json_file(tmp.file("t5") + "/config.json");
  EXPECT_EQ(j["position_encoding_type"], "t5_relative_bias");
  EXPECT_EQ(j["feed_forward_proj"], "gated-gelu");
  EXPECT_FALSE(j.contains("relative_attention_max_distance"));  // 4.16.2 never reads it
  EXPECT_EQ(j["d_kv"], 8);
  EXPECT_EQ(j["layer_norm_epsilon"].get<double>(), 1e-6);

  const auto llama = make_model(tiny("llama", {{"type", "rotary"}, {"base", 500.0}}));
  export_checkpoint(CheckpointFormat::Llama, *llama, tmp.file("llama"));
  const auto lj = read_json_file(tmp.file("llama") + "/config.json");
  EXPECT_EQ(lj["architectures"][0], "LlamaForCausalLM");
  EXPECT_EQ(lj["rpe_type"], "rope");
  EXPECT_EQ(lj["rope_theta"].get<double>(), 500.0);
  EXPECT_EQ(lj["head_dim"], 8);
  EXPECT_EQ(lj["num_key_value_heads"], 2);
  EXPECT_EQ(lj["tie_word_embeddings"], false);
  EXPECT_TRUE(read_tensors(tmp.file("llama") + "/model.safetensors").count("lm_head.weight"));
}

// --- reference files as the reference code writes them ----------------------------------------

// Parameters that F16 and BF16 hold exactly.
void set_exact_params(Transformer& m) {
  std::vector<float> params = m.params_to_host();
  for (const auto& t : m.layout().tensors())
    for (size_t i = 0; i < t.numel; ++i) params[t.offset + i] = float(int(i % 15) - 7) / 32.0f;
  m.params_from_host(params);
}

TEST(ConvertImport, HalfPrecisionReferenceFilesAreReadAsFp32) {
  for (const std::string dtype : {"F16", "BF16"}) {
    for (const auto format : {CheckpointFormat::T5, CheckpointFormat::Llama}) {
      TempDir tmp;
      auto model = make_model(format == CheckpointFormat::T5 ? tiny("t5", "alibi_learned")
                                                             : tiny("llama", "rotary"));
      set_exact_params(*model);
      export_checkpoint(format, *model, tmp.file("ref"));
      const std::string st = tmp.file("ref") + "/model.safetensors";
      write_tensors(st, read_tensors(st), dtype);
      EXPECT_NE(io::read_file(st).find("\"" + dtype + "\""), std::string::npos);
      const auto back = import_checkpoint(format, tmp.file("ref"));
      expect_same_model(*model, *back, dtype);
    }
  }
}

TEST(ConvertImport, UnusedReferenceTensorsAreSkipped) {
  TempDir tmp;
  const auto model = make_model(tiny("t5", "rotary"));
  export_checkpoint(CheckpointFormat::T5, *model, tmp.file("t5"));
  const std::string st = tmp.file("t5") + "/model.safetensors";
  TensorMap m = read_tensors(st);
  const int64_t D = 16, HD = 16;
  for (int l = 0; l < 2; ++l) {
    const std::string p = "decoder.block." + std::to_string(l) + ".layer.1.";
    for (const char* w : {"q", "k", "v", "o"})
      m[p + "EncDecAttention." + w + ".weight"] = {{HD, D}, std::vector<float>(HD * D, 0.5f)};
    m[p + "layer_norm.weight"] = {{D}, std::vector<float>(D, 1.0f)};
  }
  // The HF model's aliases of the shared embedding, the relative bias table block 0 always
  // owns, and the frozen sinusoid table are accepted too.
  m["decoder.embed_tokens.weight"] = m["shared.weight"];
  m["lm_head.weight"] = m["shared.weight"];
  m["decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"] = {
      {32, 2}, std::vector<float>(64, 0.25f)};
  write_tensors(st, m, "F32");
  expect_same_model(*model, *import_checkpoint(CheckpointFormat::T5, tmp.file("t5")), "skip");

  // A tied lm_head that is not the embedding is an error naming it.
  m["lm_head.weight"].values[3] += 1;
  write_tensors(st, m, "F32");
  const std::string e = error_of([&] { import_checkpoint(CheckpointFormat::T5, tmp.file("t5")); });
  EXPECT_NE(e.find("'lm_head.weight'"), std::string::npos) << e;
  EXPECT_NE(e.find("tie_word_embeddings"), std::string::npos) << e;
}

// Converting `dir` (in `format`) to native must fail with a message containing every `needle`,
// and leave no output directory.
void expect_import_error(CheckpointFormat format, const std::string& dir,
                         const std::vector<std::string>& needles) {
  const std::string out = dir + "_out";
  const std::string e =
      error_of([&] { convert_checkpoint(format, CheckpointFormat::Native, dir, out); });
  for (const auto& n : needles) EXPECT_NE(e.find(n), std::string::npos) << e << "\n(want " << n << ")";
  EXPECT_FALSE(fs::exists(out)) << e;
  EXPECT_FALSE(fs::exists(out + ".tmp")) << e;
}

// [rows, dim] = cat(sin(t f), cos(t f)), f_i = 10000^(-2i/dim), computed in fp32 as torch does.
std::vector<float> fp32_sinusoid_table(int rows, int dim) {
  std::vector<float> out(size_t(rows) * dim);
  for (int t = 0; t < rows; ++t)
    for (int i = 0; i < dim / 2; ++i) {
      const float f = 1.0f / std::pow(10000.0f, float(2 * i) / float(dim));
      const float angle = float(t) * f;
      out[size_t(t) * dim + i] = std::sin(angle);
      out[size_t(t) * dim + dim / 2 + i] = std::cos(angle);
    }
  return out;
}

// fp32 slopes[h] * j, the reference's ALiBi buffers.
std::vector<float> fp32_alibi_buffer(int heads, int width, double scale) {
  std::vector<float> out;
  for (double s : alibi_slopes(heads))
    for (int j = 0; j < width; ++j) out.push_back(float(s * scale) * float(j));
  return out;
}

// The buffers the reference code recomputes and saves (sinusoid table, new_rotary's table, the
// ALiBi buffers): accepted when they hold what the config gives, refused naming them when not.
TEST(ConvertImport, RecomputedReferenceBuffersAreCheckedAndSkipped) {
  struct Case {
    CheckpointFormat format;
    ModelConfig config;
    std::vector<std::pair<std::string, RawTensor>> buffers;
  };
  const RawTensor alibi_t5{{2, 1, 2048}, fp32_alibi_buffer(2, 2048, 1.0)};
  const RawTensor alibi_llama{{1, 2, 1, 2048}, fp32_alibi_buffer(2, 2048, 1.0)};
  const RawTensor bipe_llama{{1, 2, 1, 2048}, fp32_alibi_buffer(2, 2048, 96.0)};
  const std::vector<Case> cases = {
      {CheckpointFormat::T5, tiny("t5", "abs_sin"),
       {{"decoder.wpe.embed.weight", {{16384, 16}, fp32_sinusoid_table(16384, 16)}}}},
      {CheckpointFormat::T5, tiny("t5", "rotary"),
       {{"decoder.fixed_rotary_embedding.embed.weight", {{4096, 2}, fp32_sinusoid_table(4096, 2)}}}},
      {CheckpointFormat::T5, tiny("t5", "alibi"), {{"decoder.alibi", alibi_t5}}},
      {CheckpointFormat::Llama, tiny("llama", "alibi"),
       {{"model.layers.0.self_attn.alibi", alibi_llama}, {"model.layers.1.self_attn.alibi", alibi_llama}}},
      {CheckpointFormat::Llama,
       tiny("llama", {{"type", "bipe_alibi"}, {"delimiters", {13}}}, {{"vocab_size", 16}}),
       {{"model.layers.0.self_attn.alibi", bipe_llama}, {"model.layers.1.self_attn.alibi", bipe_llama}}},
  };
  for (const auto& c : cases) {
    TempDir tmp;
    const auto model = make_model(c.config);
    export_checkpoint(c.format, *model, tmp.file("ref"));
    const std::string st = tmp.file("ref") + "/model.safetensors";
    const TensorMap good = read_tensors(st);
    TensorMap m = good;
    for (const auto& [name, t] : c.buffers) m[name] = t;
    write_tensors(st, m, "F32");
    expect_same_model(*model, *import_checkpoint(c.format, tmp.file("ref")), c.buffers[0].first);
    // An edited buffer: the checkpoint computes something else.
    m[c.buffers.back().first].values[2049 % m[c.buffers.back().first].values.size()] += 0.01f;
    write_tensors(st, m, "F32");
    expect_import_error(c.format, tmp.file("ref"),
                        {"buffer '" + c.buffers.back().first + "'", "recomputes it"});
  }
}

// --- bad input ----------------------------------------------------------------------------------

struct BadFileCase {
  CheckpointFormat format;
  ModelConfig config;
  std::string tensor;
};

TEST(ConvertImport, MissingExtraMisshapenAndBadDtypeTensorsAreNamed) {
  const std::vector<BadFileCase> cases = {
      {CheckpointFormat::T5, tiny("t5", "t5_bias"),
       "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"},
      {CheckpointFormat::T5, tiny("t5", "nope"), "decoder.block.1.layer.2.DenseReluDense.wi.weight"},
      {CheckpointFormat::Llama, tiny("llama", "rotary"), "model.layers.1.mlp.gate_proj.weight"},
      {CheckpointFormat::Llama, tiny("llama", "alibi"), "lm_head.weight"}};
  for (const auto& c : cases) {
    TempDir tmp;
    const std::string dir = tmp.file("ref"), st = dir + "/model.safetensors";
    export_checkpoint(c.format, *make_model(c.config), dir);
    const TensorMap good = read_tensors(st);

    TensorMap m = good;
    m.erase(c.tensor);
    write_tensors(st, m, "F32");
    expect_import_error(c.format, dir, {"missing tensor", "'" + c.tensor + "'"});

    m = good;
    m[c.tensor].shape.insert(m[c.tensor].shape.begin(), 1);
    write_tensors(st, m, "F32");
    expect_import_error(c.format, dir, {"'" + c.tensor + "'", "shape"});

    m = good;
    m[c.tensor].values.push_back(0);
    m[c.tensor].shape = {int64_t(m[c.tensor].values.size())};
    write_tensors(st, m, "F32");
    expect_import_error(c.format, dir, {"'" + c.tensor + "'", "shape"});

    m = good;
    write_tensors(st, m, "I32");
    expect_import_error(c.format, dir, {"dtype I32"});

    m = good;
    m["model.embeds.0.weight"] = {{4}, std::vector<float>(4, 0.0f)};
    write_tensors(st, m, "F32");
    expect_import_error(c.format, dir, {"unexpected tensor", "'model.embeds.0.weight'"});
  }
}

TEST(ConvertImport, BadConfigFieldsAreNamed) {
  struct Case {
    CheckpointFormat format;
    ModelConfig config;
    std::function<void(nlohmann::json&)> edit;
    std::vector<std::string> needles;
  };
  const std::vector<Case> cases = {
      {CheckpointFormat::T5, tiny("t5", "nope"), [](auto& j) { j["frobnicate"] = 1; },
       {"unknown config field 'frobnicate'"}},
      {CheckpointFormat::T5, tiny("t5", "nope"), [](auto& j) { j.erase("d_model"); },
       {"'d_model'", "missing"}},
      {CheckpointFormat::T5, tiny("t5", "nope"),
       [](auto& j) { j["position_encoding_type"] = "sandwich"; },
       {"'position_encoding_type'", "\"sandwich\" is not supported", "transformer_xl_relative_encoding"}},
      {CheckpointFormat::T5, tiny("t5", "nope"), [](auto& j) { j["feed_forward_proj"] = "gated-relu"; },
       {"'feed_forward_proj'", "gated-gelu"}},
      {CheckpointFormat::T5, tiny("t5", "rotary"), [](auto& j) { j["rotary_dim"] = 8; },
       {"'rotary_dim'", "ignored"}},
      {CheckpointFormat::T5, tiny("t5", "nope"), [](auto& j) { j["d_kv"] = "8"; },
       {"'d_kv'", "integer"}},
      // BiPE segments on the Llama ids 13 and 869 only, both beyond this vocabulary of 11.
      {CheckpointFormat::Llama, tiny("llama", "rotary"), [](auto& j) { j["rpe_type"] = "bipe_rope"; },
       {"'vocab_size'", "13 and 869"}},
      {CheckpointFormat::Llama, tiny("llama", "alibi"), [](auto& j) { j["rpe_type"] = "fire"; },
       {"'rpe_type'", "not supported"}},
      {CheckpointFormat::Llama, tiny("llama", "rotary"), [](auto& j) { j["num_key_value_heads"] = 1; },
       {"'num_key_value_heads'"}},
      {CheckpointFormat::Llama, tiny("llama", "rotary"), [](auto& j) { j["sliding_window"] = 64; },
       {"unknown config field 'sliding_window'"}},
      {CheckpointFormat::Llama, tiny("llama", "rotary"),
       [](auto& j) { j["rope_parameters"]["rope_type"] = "yarn"; }, {"'rope_parameters'", "yarn"}},
      {CheckpointFormat::Llama, tiny("llama", "rotary"), [](auto& j) { j["tie_word_embeddings"] = true; },
       {"'tie_word_embeddings'"}},
      {CheckpointFormat::Llama, tiny("llama", "rotary"),
       [](auto& j) { j["lengen_config"]["d_model"] = "wide"; }, {"lengen_config", "'d_model'"}},
  };
  for (const auto& c : cases) {
    TempDir tmp;
    export_checkpoint(c.format, *make_model(c.config), tmp.file("ref"));
    edit_config(tmp.file("ref"), c.edit);
    expect_import_error(c.format, tmp.file("ref"), c.needles);
  }
}

TEST(ConvertExport, ModelsALayoutCannotExpressAreRefusedSayingWhy) {
  struct Case {
    CheckpointFormat format;
    ModelConfig config;
    std::vector<std::string> needles;
  };
  const std::vector<Case> cases = {
      {CheckpointFormat::Llama, tiny("t5", {{"type", "rotary"}, {"pairing", "half"}},
                                     {{"ffn", "swiglu"}, {"qk_scale", "inv_sqrt_dh"},
                                      {"tie_embeddings", false}, {"output_scale", false}}),
       {"rotary_dim 2 of d_head 8 (rotary_fraction 0.25)", "LlamaConfig"}},
      {CheckpointFormat::Llama, tiny("llama", {{"type", "rotary"}, {"pairing", "interleaved"}}),
       {"pairing 'interleaved'"}},
      {CheckpointFormat::Llama, tiny("llama", "nope"), {"pe 'nope'", "rpe_type"}},
      {CheckpointFormat::Llama, tiny("llama", "alibi_learned"), {"pe 'alibi_learned'"}},
      {CheckpointFormat::Llama, tiny("t5", "alibi"), {"ffn 'relu'"}},
      {CheckpointFormat::Llama, tiny("llama", "alibi", {{"n_heads", 3}}), {"d_model 16 with n_heads 3"}},
      {CheckpointFormat::T5, tiny("llama", "alibi"), {"qk_scale"}},
      {CheckpointFormat::T5, tiny("gpt2", "alibi"), {"layernorm"}},
      {CheckpointFormat::T5, tiny("t5", {{"type", "abs_learned"}, {"max_positions", 64}}),
       {"max_positions 64", "2048"}},
      {CheckpointFormat::T5, tiny("t5", {{"type", "rotary"}, {"rotary_fraction", 1.0}}),
       {"rotary_dim 8", "int(0.25 * d_kv) = 2"}},
      {CheckpointFormat::T5, tiny("t5", {{"type", "rotary"}, {"base", 500.0}}), {"pe.base 500"}},
      {CheckpointFormat::T5, tiny("t5", "alibi", {{"output_scale", false}}), {"output_scale"}},
  };
  for (const auto& c : cases) {
    TempDir tmp;
    const std::string out = tmp.file("out");
    const std::string e = error_of([&] { export_checkpoint(c.format, *make_model(c.config), out); });
    for (const auto& n : c.needles) EXPECT_NE(e.find(n), std::string::npos) << e << " (want " << n << ")";
    EXPECT_FALSE(fs::exists(out)) << e;
    EXPECT_FALSE(fs::exists(out + ".tmp")) << e;
  }
}

// Settings the reference code ignores or cannot build: refused, or exported with allow_lossy
// saying what the reference computes instead; importing such an export gives what the
// reference code computes (the lengen_config block is not trusted), with notes.
TEST(ConvertExport, LossyExportsAreRefusedUnlessAllowedAndImportAsTheReferenceComputes) {
  struct Case {
    CheckpointFormat format;
    ModelConfig config;
    std::vector<std::string> needles;
    // What the import does with the export: "differs" (computes as the reference code),
    // "same" (later transformers build it as lengen does), "none" (the reference cannot load it).
    std::string import = "differs";
  };
  const std::vector<Case> cases = {
      {CheckpointFormat::T5, tiny("t5", {{"type", "t5_bias"}, {"max_distance", 64}}),
       {"pe.max_distance 64", "max distance 128"}},
      {CheckpointFormat::T5, tiny("t5", "nope", {{"ffn", "gelu"}}), {"ffn 'gelu'", "4.16.2"}, "same"},
      {CheckpointFormat::T5, tiny("t5", "nope", {{"ffn", "swiglu"}}), {"gated-silu"}, "same"},
      {CheckpointFormat::Llama,
       tiny("llama", {{"type", "bipe_rope"}, {"delimiters", {1, 13}}}, {{"vocab_size", 16}}),
       {"pe.delimiters [1, 13]", "13 and 869"}},
      {CheckpointFormat::Llama,
       tiny("llama", {{"type", "bipe_rope"}, {"delimiters", {13}}, {"base", 500.0}}, {{"vocab_size", 16}}),
       {"pe.base 500", "base 10000"}},
      {CheckpointFormat::Llama,
       tiny("llama", {{"type", "bipe_alibi"}, {"delimiters", {13}}, {"intra_size", 8}}, {{"vocab_size", 16}}),
       {"intra_size 8", "clamps the intra-segment index at 1023", "IndexError"}},
      {CheckpointFormat::Llama, tiny("llama", "alibi", {{"d_head", 4}}), {"d_head 4", "head_dim"}, "none"},
  };
  for (const auto& c : cases) {
    TempDir tmp;
    const auto model = make_model(c.config);
    const std::string label = c.config.to_json().dump();
    const std::string e = error_of([&] { export_checkpoint(c.format, *model, tmp.file("refused")); });
    for (const auto& n : c.needles) EXPECT_NE(e.find(n), std::string::npos) << e << " (want " << n << ")";
    EXPECT_NE(e.find("--allow-lossy"), std::string::npos) << e;
    EXPECT_FALSE(fs::exists(tmp.file("refused"))) << label;

    std::vector<std::string> notes;
    export_checkpoint(c.format, *model, tmp.file("ref"), ExportOptions{true}, &notes);
    ASSERT_FALSE(notes.empty()) << label;
    EXPECT_NE(notes[0].find(c.needles[0]), std::string::npos) << notes[0];
    const auto j = read_json_file(tmp.file("ref") + "/config.json");
    for (const char* unread : {"relative_attention_max_distance", "bipe_delimiters"})
      EXPECT_FALSE(j.contains(unread)) << label;
    if (c.format == CheckpointFormat::Llama)
      for (const char* unread : {"rope_theta", "head_dim"}) EXPECT_FALSE(j.contains(unread)) << label;
    if (c.import == "none") continue;
    notes.clear();
    const auto back = import_checkpoint(c.format, tmp.file("ref"), &notes);
    if (c.import == "same") {
      const Batch batch = testing::sample_batch(model->config().vocab_size, 3);
      EXPECT_EQ(testing::score_of(*back, batch), testing::score_of(*model, batch)) << label;
      continue;
    }
    EXPECT_NE(back->config().to_json(), model->config().to_json()) << label;
    EXPECT_FALSE(notes.empty()) << label;
  }
  // What the import computes: T5 max distance 128, BiPE's delimiters and clamp.
  TempDir tmp;
  export_checkpoint(CheckpointFormat::T5, *make_model(tiny("t5", {{"type", "t5_bias"}, {"max_distance", 64}})),
                    tmp.file("t5"), ExportOptions{true});
  EXPECT_EQ(t5_bias_settings(import_checkpoint(CheckpointFormat::T5, tmp.file("t5"))->config()).max_distance, 128);
  export_checkpoint(CheckpointFormat::Llama,
                    *make_model(tiny("llama", {{"type", "bipe_alibi"}, {"delimiters", {1}}, {"intra_size", 8}},
                                     {{"vocab_size", 900}})),
                    tmp.file("bipe"), ExportOptions{true});
  const ModelConfig bipe = import_checkpoint(CheckpointFormat::Llama, tmp.file("bipe"))->config();
  EXPECT_EQ(bipe.pe["delimiters"], nlohmann::json({13, 869}));
  EXPECT_EQ(bipe.pe["intra_clamp"], 7);
}

// Config fields the reference code never reads are imported as it computes, with a note.
TEST(ConvertImport, FieldsTheReferenceIgnoresAreOverriddenWithNotes) {
  TempDir tmp;
  export_checkpoint(CheckpointFormat::T5, *make_model(tiny("t5", "t5_bias")), tmp.file("t5"));
  edit_config(tmp.file("t5"), [](nlohmann::json& j) {
    j.erase("lengen_config");
    j["relative_attention_max_distance"] = 64;
  });
  std::vector<std::string> notes;
  auto t5 = import_checkpoint(CheckpointFormat::T5, tmp.file("t5"), &notes);
  EXPECT_EQ(t5_bias_settings(t5->config()).max_distance, 128);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("relative_attention_max_distance 64 is ignored"), std::string::npos) << notes[0];

  const auto bipe_model = make_model(
      tiny("llama", {{"type", "bipe_rope"}, {"delimiters", {13}}}, {{"vocab_size", 16}}));
  export_checkpoint(CheckpointFormat::Llama, *bipe_model, tmp.file("bipe"));
  edit_config(tmp.file("bipe"), [](nlohmann::json& j) {
    j.erase("lengen_config");
    j["rope_theta"] = 500.0;
    j["bipe_delimiters"] = {3};
    j["train_scale"] = 2048;
  });
  // A bigger table with BiPE's clamp at 1023: rows 1024.. are never read.
  const std::string st = tmp.file("bipe") + "/model.safetensors";
  TensorMap m = read_tensors(st);
  m["model.embeds.0.weight"].shape[0] = 2048;
  m["model.embeds.0.weight"].values.resize(2048 * 16, 0.0f);
  write_tensors(st, m, "F32");
  notes.clear();
  const auto bipe = import_checkpoint(CheckpointFormat::Llama, tmp.file("bipe"), &notes);
  EXPECT_EQ(bipe->config().pe["base"], 10000.0);
  EXPECT_EQ(bipe->config().pe["delimiters"], nlohmann::json({13}));
  EXPECT_EQ(bipe->config().pe["intra_clamp"], 1023);
  EXPECT_EQ(notes.size(), 2u) << fmt::format("{}", fmt::join(notes, "\n"));
  const Batch batch = testing::sample_batch(16, 3);
  EXPECT_EQ(testing::score_of(*bipe, batch), testing::score_of(*bipe_model, batch));
}

TEST(ConvertCli, ConvertCommandWritesAndReportsErrors) {
  TempDir tmp;
  const auto model = make_model(tiny("llama", "rotary"));
  save_model(tmp.file("native"), *model);
  const std::string bin = lengen::testing::lengen_binary();
  const std::string ok = bin + " convert --from native --to llama " + tmp.file("native") + " " +
                         tmp.file("llama") + " > " + tmp.file("log") + " 2>&1";
  ASSERT_EQ(std::system(ok.c_str()), 0) << io::read_file(tmp.file("log"));
  expect_same_model(*model, *import_checkpoint(CheckpointFormat::Llama, tmp.file("llama")), "cli");
  const std::string bad = bin + " convert --from native --to t5 " + tmp.file("native") + " " +
                          tmp.file("t5") + " > " + tmp.file("log") + " 2>&1";
  EXPECT_NE(std::system(bad.c_str()), 0);
  EXPECT_NE(io::read_file(tmp.file("log")).find("lengen: error: cannot export to the t5 layout"),
            std::string::npos)
      << io::read_file(tmp.file("log"));
  EXPECT_FALSE(fs::exists(tmp.file("t5")));
}

}  // namespace
}  // namespace lengen
