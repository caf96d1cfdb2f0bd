// Incremental decoding with the KV cache equals the full forward pass, for every encoding.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "model/decode.h"
#include "model_fixtures.h"

namespace lengen {
namespace {

class KvCache : public ::testing::TestWithParam<testing::ModelCase> {};

TEST_P(KvCache, EveryDecodingStepMatchesTheFullForwardPass) {
  const ModelConfig config = testing::small_config(GetParam());
  Transformer model(config);
  model.init_weights(5);
  // Three sequences of 14 tokens; the prompts have different lengths (row-wise positions).
  Rng rng(17);
  const int T = 14, V = config.vocab_size;
  std::vector<std::vector<int32_t>> seqs(3);
  for (auto& s : seqs)
    for (int t = 0; t < T; ++t) s.push_back(int32_t(rng.below(V)));
  const std::vector<int> prompt_len = {4, 1, 7};

  // Reference: full forward logits at every position.
  const Batch full = make_batch(seqs, 0);
  std::vector<int32_t> all(3 * T);
  for (int n = 0; n < 3 * T; ++n) all[n] = n;
  std::vector<float> ref;
  testing::logits_of(model, full, all, ref);

  std::vector<std::vector<int32_t>> prompts;
  for (int b = 0; b < 3; ++b) prompts.emplace_back(seqs[b].begin(), seqs[b].begin() + prompt_len[b]);
  KVCache cache(model, 3, T);
  Workspace ws(model);
  std::vector<float> got;
  prefill(model, make_batch(prompts, 0), cache, ws, got);
  double worst = 0;
  auto compare = [&](const std::vector<int>& at) {
    for (int b = 0; b < 3; ++b) {
      if (at[b] >= T) continue;
      const float* r = ref.data() + (size_t(b) * T + at[b]) * V;
      const float* g = got.data() + size_t(b) * V;
      float scale = 0;
      for (int v = 0; v < V; ++v) scale = std::max(scale, std::abs(r[v]));
      for (int v = 0; v < V; ++v) worst = std::max(worst, double(std::abs(r[v] - g[v])) / scale);
    }
  };
  std::vector<int> at = {prompt_len[0] - 1, prompt_len[1] - 1, prompt_len[2] - 1};
  compare(at);
  // Feed the true next tokens one at a time (rows that are done repeat their last token and
  // are not compared). The encoding continues its own streams (bilevel segments) from the
  // prompt's.
  for (int step = 0; step < T - 1; ++step) {
    std::vector<int32_t> next(3);
    bool any = false;
    for (int b = 0; b < 3; ++b) {
      const int t = std::min(at[b] + 1, T - 1);
      next[b] = seqs[b][t];
      any = any || at[b] + 1 < T;
    }
    if (!any) break;
    // Rows already at T are beyond the comparison; keep them within the cache capacity.
    bool full_row = false;
    for (int b = 0; b < 3; ++b) full_row = full_row || cache.length(b) >= T;
    if (full_row) break;
    extend(model, cache, next, 1, TokenStreams{}, ws, got);
    for (int b = 0; b < 3; ++b) ++at[b];
    compare(at);
  }
  // Same math in another summation order: agreement to fp32 rounding, relative to the logits'
  // magnitude.
  EXPECT_LT(worst, 1e-5) << "max relative logit difference";
}

TEST_P(KvCache, BlockwiseExtendMatchesTheFullForwardPass) {
  const ModelConfig config = testing::small_config(GetParam());
  Transformer model(config);
  model.init_weights(7);
  Rng rng(23);
  const int T = 14, V = config.vocab_size, B = 2;
  std::vector<std::vector<int32_t>> seqs(B);
  for (auto& s : seqs)
    for (int t = 0; t < T; ++t) s.push_back(int32_t(rng.below(V)));
  const Batch full = make_batch(seqs, 0);
  std::vector<int32_t> all(B * T);
  for (int n = 0; n < B * T; ++n) all[n] = n;
  std::vector<float> ref;
  testing::logits_of(model, full, all, ref);

  KVCache cache(model, B, T);
  Workspace ws(model);
  double worst = 0;
  int start = 0;
  for (int Q : {5, 1, 8}) {  // blocks of different sizes, covering the 14 tokens
    std::vector<int32_t> tokens, pos;
    for (int b = 0; b < B; ++b)
      for (int t = start; t < start + Q; ++t) {
        const size_t n = size_t(b) * T + t;
        tokens.push_back(full.tokens[n]);
        pos.push_back(full.pos[n]);
      }
    std::vector<float> got;
    TokenStreams supplied;
    supplied.of[int(Stream::Position)] = pos.data();
    extend(model, cache, tokens, Q, supplied, ws, got);
    for (int b = 0; b < B; ++b)
      for (int a = 0; a < Q; ++a) {
        const float* r = ref.data() + (size_t(b) * T + start + a) * V;
        const float* g = got.data() + (size_t(b) * Q + a) * V;
        float scale = 0;
        for (int v = 0; v < V; ++v) scale = std::max(scale, std::abs(r[v]));
        for (int v = 0; v < V; ++v) worst = std::max(worst, double(std::abs(r[v] - g[v])) / scale);
      }
    start += Q;
  }
  EXPECT_EQ(cache.length(0), T);
  EXPECT_LT(worst, 1e-5) << "max relative logit difference";
}

// An evaluation decodes batch after batch with one DecodeScratch: a reused cache (rows, streams
// and the encoding's stream state emptied, buffers kept when large enough) gives what fresh
// calls give, bit for bit, for batches that grow and shrink in rows and length.
TEST_P(KvCache, AReusedScratchDecodesAsAFreshOne) {
  Transformer model(testing::small_config(GetParam()));
  model.init_weights(9);
  const std::vector<std::vector<std::vector<int32_t>>> batches = {
      {{3, 1, 4}, {1, 5}},
      {{9, 2, 6, 5, 3, 5, 8}, {9}, {7, 9, 3}},
      {{2, 7}},
      {{1, 8, 2, 8, 1, 8, 2, 8, 4}, {5, 9, 0, 4}}};
  DecodeScratch scratch(model);
  for (size_t i = 0; i < batches.size(); ++i)
    EXPECT_EQ(greedy_decode(model, scratch, batches[i], 5, /*eos_id=*/-1),
              greedy_decode(model, batches[i], 5, -1))
        << "batch " << i;
}

INSTANTIATE_TEST_SUITE_P(AllEncodings, KvCache, ::testing::ValuesIn(testing::all_model_cases()),
                         [](const auto& info) { return info.param.label(); });

TEST(GreedyDecode, BatchedEqualsOneByOneAndStopsAtEos) {
  const ModelConfig config = testing::small_config({"t5", "t5_bias"});
  Transformer model(config);
  model.init_weights(8);
  const std::vector<std::vector<int32_t>> prompts = {{1, 2, 3}, {4}, {5, 6, 7, 8, 9}};
  const auto batched = greedy_decode(model, prompts, 6, /*eos_id=*/2);
  for (size_t i = 0; i < prompts.size(); ++i) {
    const auto single = greedy_decode(model, {prompts[i]}, 6, 2);
    EXPECT_EQ(batched[i], single[0]) << "prompt " << i;
    EXPECT_LE(batched[i].size(), 6u);
    for (size_t t = 0; t + 1 < batched[i].size(); ++t) EXPECT_NE(batched[i][t], 2);
  }
  // Greedy = argmax of the full-forward logits of prompt + generated prefix.
  std::vector<int32_t> seq = prompts[0];
  for (int32_t tok : batched[0]) {
    std::vector<float> lg;
    const Batch b = make_batch({seq}, 0);
    testing::logits_of(model, b, {int32_t(seq.size()) - 1}, lg);
    EXPECT_EQ(int32_t(std::max_element(lg.begin(), lg.end()) - lg.begin()), tok);
    seq.push_back(tok);
  }
}

TEST(Score, LogProbsAreNormalisedAndMatchLogits) {
  const ModelConfig config = testing::small_config({"llama", "rotary"});
  Transformer model(config);
  model.init_weights(9);
  const Batch batch = testing::sample_batch(config.vocab_size, 4);
  const std::vector<float> lp = testing::score_of(model, batch);
  std::vector<int32_t> rows(batch.B * batch.T);
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = int32_t(i);
  std::vector<float> lg;
  testing::logits_of(model, batch, rows, lg);
  const int V = config.vocab_size;
  for (size_t n = 0; n < rows.size(); ++n) {
    double z = 0;
    for (int v = 0; v < V; ++v) z += std::exp(double(lg[n * V + v]));
    EXPECT_NEAR(lp[n], lg[n * V + batch.targets[n]] - std::log(z), 1e-5);
  }
}

}  // namespace
}  // namespace lengen
