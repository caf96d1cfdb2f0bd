// Encodings under supplied positions (randomized subsets, coupled position ids, Abacus digit
// significance in the digit-place stream): gradients, and KV-cache decoding fed the same per-token
// positions equals the full forward pass.
#include <gtest/gtest.h>

#include <cmath>

#include "model/decode.h"
#include "model_fixtures.h"
#include "model_grad_check.h"
#include "util/error.h"

namespace lengen {
namespace {

using testing::ModelCase;

// Two rows of 12 tokens whose positions/digit places come from `pos_of(row, t)` / `place_of`.
struct PositionedRows {
  std::vector<std::vector<int32_t>> tokens, pos, place;
};

PositionedRows make_rows(int vocab, const std::function<int(int, int)>& pos_of,
                         const std::function<int(int, int)>& place_of) {
  PositionedRows r;
  Rng rng(23);
  for (int b = 0; b < 2; ++b) {
    r.tokens.emplace_back(), r.pos.emplace_back(), r.place.emplace_back();
    for (int t = 0; t < 12; ++t) {
      r.tokens[b].push_back(int32_t(rng.below(vocab)));
      r.pos[b].push_back(pos_of(b, t));
      r.place[b].push_back(place_of(b, t));
    }
  }
  return r;
}

// The first `len[b]` tokens of each row as a batch carrying their positions.
Batch positioned_batch(const PositionedRows& r, const std::vector<int>& len) {
  std::vector<std::vector<int32_t>> rows;
  for (size_t b = 0; b < r.tokens.size(); ++b)
    rows.emplace_back(r.tokens[b].begin(), r.tokens[b].begin() + len[b]);
  Batch batch = make_batch(rows, 0, {1, 2});
  batch.place.assign(batch.pos.size(), 0);
  for (int b = 0; b < batch.B; ++b)
    for (int t = 0; t < len[b]; ++t) {
      batch.pos[size_t(b) * batch.T + t] = r.pos[b][t];
      batch.place[size_t(b) * batch.T + t] = r.place[b][t];
    }
  return batch;
}

double max_decode_error(const ModelConfig& config, const PositionedRows& r) {
  Transformer model(config);
  model.init_weights(5);
  const int T = 12, V = config.vocab_size;
  const Batch full = positioned_batch(r, {T, T});
  std::vector<int32_t> all(2 * T);
  for (int n = 0; n < 2 * T; ++n) all[n] = n;
  std::vector<float> ref, got;
  testing::logits_of(model, full, all, ref);
  const std::vector<int> prompt = {3, 6};
  KVCache cache(model, 2, T);
  Workspace ws(model);
  prefill(model, positioned_batch(r, prompt), cache, ws, got);
  double worst = 0;
  for (int t = 0;; ++t) {
    for (int b = 0; b < 2; ++b) {
      const int at = prompt[b] - 1 + t;
      if (at >= T) continue;
      for (int v = 0; v < V; ++v)
        worst = std::max(worst, double(std::abs(ref[(size_t(b) * T + at) * V + v] -
                                                got[size_t(b) * V + v])));
    }
    if (prompt[1] + t >= T) break;
    std::vector<int32_t> next(2), pos(2), place(2);
    for (int b = 0; b < 2; ++b) {
      const int at = std::min(prompt[b] + t, T - 1);
      next[b] = r.tokens[b][at], pos[b] = r.pos[b][at], place[b] = r.place[b][at];
    }
    TokenStreams supplied;
    supplied.of[int(Stream::Position)] = pos.data();
    supplied.of[int(Stream::DigitPlace)] = place.data();
    extend(model, cache, next, 1, supplied, ws, got);
  }
  return worst;
}

// Randomized positions: an ordered subset of [0, 64); coupled ids: significance-like ids
// that go back and forth (1..4 for an operand, again 1..4, then the answer).
int randomized(int b, int t) { return 3 + 5 * t + (t * t + b) % 5; }
int coupled(int b, int t) { return 5 + b + (t < 4 ? t : t < 8 ? t - 4 : t - 8); }
int significance(int, int t) { return t % 6; }

class SuppliedPositions : public ::testing::TestWithParam<ModelCase> {};

TEST_P(SuppliedPositions, KvCacheMatchesFullForwardWithRandomizedAndCoupledPositions) {
  const ModelConfig c = testing::small_config(GetParam());
  EXPECT_LT(max_decode_error(c, make_rows(c.vocab_size, randomized, significance)), 1e-4);
  EXPECT_LT(max_decode_error(c, make_rows(c.vocab_size, coupled, significance)), 1e-4);
}

TEST_P(SuppliedPositions, GradientsWithCoupledPositions) {
  const ModelConfig c = testing::small_config(GetParam());
  const Batch batch = positioned_batch(make_rows(c.vocab_size, coupled, significance), {12, 9});
  testing::check_model_gradients(c, 0, &batch);
}

std::vector<ModelCase> supplied_position_cases() {
  return {{"llama", "fire", {{"init_threshold", 8.0}, {"width", 16}}},
          {"llama", "kerple", {{"variant", "log"}}},
          {"t5", "kerple", {{"variant", "power"}}},
          {"llama", "xpos", {{"scale_base", 64.0}}},
          {"llama", "rotary", {{"scaling", "yarn"}, {"scaling_factor", 2.0},
                               {"original_max_positions", 8}}},
          {"t5", "abs_learned"},
          {"llama", "abacus", {{"max_positions", 8}}},
          {"t5", "abacus", {{"max_positions", 8}}},
          {"t5", "transformer_xl", {{"clamp_length", 5}}}};
}

INSTANTIATE_TEST_SUITE_P(NewerEncodings, SuppliedPositions,
                         ::testing::ValuesIn(supplied_position_cases()),
                         [](const auto& info) { return info.param.label(); });

TEST(Abacus, SignificanceBeyondTheTableIsAnErrorNamingTheKey) {
  const ModelConfig c = testing::small_config({"llama", "abacus", {{"max_positions", 4}}});
  Transformer model(c);
  const Batch batch = positioned_batch(make_rows(c.vocab_size, randomized, significance), {5, 5});
  try {
    testing::loss_of(model, batch);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("pe.max_positions"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lengen
