// Small model configurations covering every encoding and both families, for the model tests.
#pragma once
#include <string>
#include <vector>

#include "arch/model_config.h"
#include "model/batch.h"
#include "model/decode.h"
#include "model/forward.h"
#include "model/transformer.h"
#include "pe/positional_encoding.h"
#include "util/rng.h"

namespace lengen::testing {

struct ModelCase {
  std::string family, pe;
  nlohmann::json pe_options = nlohmann::json::object();
  std::string label() const {
    std::string l = family + "_" + pe;
    for (auto it = pe_options.begin(); it != pe_options.end(); ++it)
      if (it.key() != "delimiters")
        l += "_" + it.key() + "_" + (it->is_string() ? it->get<std::string>() : it->dump());
    for (char& c : l)
      if (!isalnum(static_cast<unsigned char>(c))) c = '_';
    return l;
  }
};

// gtest prints a parameter with this instead of its bytes.
inline void PrintTo(const ModelCase& c, std::ostream* os) { *os << c.label(); }

inline std::vector<ModelCase> all_model_cases() {
  std::vector<ModelCase> cases;
  for (const std::string family : {"t5", "llama"}) {
    for (const std::string pe : {"nope", "abs_sin", "abs_learned", "t5_bias", "alibi",
                                 "alibi_learned", "rotary"})
      cases.push_back({family, pe});
    // The other rotary variants: full-dim GPT-J pairing, and half-split on the t5 family.
    cases.push_back({family, "rotary", {{"rotary_fraction", 1.0}, {"pairing", "interleaved"}}});
    cases.push_back({family, "rotary", {{"rotary_fraction", 0.5}, {"pairing", "half"}, {"base", 500}}});
    // Bilevel: delimiters 1 and 2 of the 11 tokens, a table of 4 rows so clamping happens.
    for (const std::string pe : {"bipe_rope", "bipe_alibi"})
      cases.push_back({family, pe, {{"delimiters", {1, 2}}, {"intra_size", 4}}});
    // Beyond the two papers: FIRE, both KERPLE kernels, xPos, and rotary's context extensions.
    cases.push_back({family, "fire", {{"init_threshold", 6.0}, {"width", 16}}});
    cases.push_back({family, "kerple", {{"variant", "log"}}});
    cases.push_back({family, "kerple", {{"variant", "power"}}});
    cases.push_back({family, "xpos", {{"scale_base", 8.0}}});
    cases.push_back({family, "rotary", {{"scaling", "linear"}, {"scaling_factor", 2.0}}});
    cases.push_back({family, "rotary", {{"scaling", "ntk"}, {"scaling_factor", 3.0}, {"rotary_fraction", 1.0}}});
    cases.push_back({family, "rotary", {{"scaling", "yarn"}, {"scaling_factor", 4.0},
                                        {"original_max_positions", 8}}});
    // Transformer-XL's relative keys, and with a clamp short enough that distances share it.
    cases.push_back({family, "transformer_xl"});
    cases.push_back({family, "transformer_xl", {{"clamp_length", 3}}});
  }
  cases.push_back({"gpt2", "abs_learned"});
  return cases;
}

inline ModelConfig small_config(const ModelCase& c, int vocab = 11) {
  nlohmann::json j = {{"family", c.family}, {"vocab_size", vocab}, {"d_model", 16},
                      {"n_layers", 2},      {"n_heads", 2},        {"d_head", 8},
                      {"d_ff", 24}};
  nlohmann::json pe = c.pe_options;
  pe["type"] = c.pe;
  if (c.pe == "abs_learned") pe["max_positions"] = 64;
  if (c.pe == "t5_bias") pe["num_buckets"] = 8, pe["max_distance"] = 16;  // exercise log buckets
  j["pe"] = pe;
  return model_config_from_json(j, "test");
}

// Three rows of different lengths with prompt masking, tokens in [0, vocab).
inline Batch sample_batch(int vocab, uint64_t seed) {
  Rng rng(seed);
  std::vector<std::vector<int32_t>> rows;
  for (int len : {9, 6, 3}) {
    std::vector<int32_t> r;
    for (int t = 0; t < len; ++t) r.push_back(int32_t(rng.below(vocab)));
    rows.push_back(r);
  }
  return make_batch(rows, 0, {2, 1, 0});
}

// One-off calls with a workspace of their own (the engine takes it explicitly).
inline std::vector<float> score_of(Transformer& m, const Batch& b) {
  Workspace ws(m);
  return score(m, b, ws);
}
inline double loss_of(Transformer& m, const Batch& b) {
  Workspace ws(m);
  return loss(m, b, ws);
}
inline void logits_of(Transformer& m, const Batch& b, const std::vector<int32_t>& rows,
                      std::vector<float>& out) {
  Workspace ws(m);
  logits(m, b, rows, out, ws);
}
inline double forward_backward_of(Transformer& m, const Batch& b, uint64_t dropout_key) {
  Workspace ws(m);
  return forward_backward(m, b, ws, dropout_key);
}

}  // namespace lengen::testing
