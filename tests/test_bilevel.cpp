// Bilevel positions (BiPE, SPEC 6): the segmentation on hand-made sequences, the encodings'
// options and errors, and greedy decoding carrying the segment state across steps.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "model/decode.h"
#include "model/forward.h"
#include "model_fixtures.h"
#include "pe/bilevel.h"
#include "file_test_support.h"

namespace lengen {
namespace {

struct Ids {
  std::vector<int32_t> seg, intra;
};

Ids segment(const std::vector<int32_t>& tokens, std::vector<int32_t> delimiters, int table) {
  const Segmenter s(BilevelSettings{std::move(delimiters), table}, 10);
  Ids out{std::vector<int32_t>(tokens.size()), std::vector<int32_t>(tokens.size())};
  s.segment(tokens.data(), int(tokens.size()), out.seg.data(), out.intra.data());
  return out;
}

TEST(BilevelSegmentation, DelimiterEndsItsOwnSegment) {
  // tokens: a b . c d e . f   (delimiter 9)
  const Ids ids = segment({3, 4, 9, 5, 6, 7, 9, 8}, {9}, 1024);
  EXPECT_EQ(ids.seg, (std::vector<int32_t>{0, 0, 0, 1, 1, 1, 1, 2}));
  EXPECT_EQ(ids.intra, (std::vector<int32_t>{0, 1, 2, 0, 1, 2, 3, 0}));
}

TEST(BilevelSegmentation, ConsecutiveDelimitersAndDelimiterAtTheStart) {
  // A delimiter as the first token is a one-token segment; so is each of a run of delimiters.
  const Ids ids = segment({9, 9, 9, 3, 8, 8, 4}, {9, 8}, 1024);
  EXPECT_EQ(ids.seg, (std::vector<int32_t>{0, 1, 2, 3, 3, 4, 5}));
  EXPECT_EQ(ids.intra, (std::vector<int32_t>{0, 0, 0, 0, 1, 0, 0}));
}

TEST(BilevelSegmentation, NoDelimiterIsOneSegmentAndIntraIsClampedToTheLastRow) {
  const Ids ids = segment({1, 2, 3, 4, 5, 6, 9, 1, 2}, {9}, 4);
  EXPECT_EQ(ids.seg, (std::vector<int32_t>{0, 0, 0, 0, 0, 0, 0, 1, 1}));
  EXPECT_EQ(ids.intra, (std::vector<int32_t>{0, 1, 2, 3, 3, 3, 3, 0, 1}));
}

TEST(BilevelSegmentation, StateCarriedTokenByTokenEqualsOneCall) {
  const std::vector<int32_t> tokens = {9, 1, 2, 9, 9, 3, 4, 5, 6, 7, 9, 1};
  const Ids whole = segment(tokens, {9}, 3);
  const Segmenter s(BilevelSettings{{9}, 3}, 10);
  Segmenter::State state;
  for (size_t t = 0; t < tokens.size(); ++t) {
    int32_t seg, intra;
    s.next(state, tokens[t], seg, intra);
    EXPECT_EQ(seg, whole.seg[t]) << t;
    EXPECT_EQ(intra, whole.intra[t]) << t;
  }
}

TEST(BilevelSegmentation, TheEncodingDerivesItsStreamsRowByRowFromFreshState) {
  const Transformer model(testing::small_config({"llama", "bipe_rope", {{"delimiters", {9}}}}));
  const StreamSet s = batch_streams(model, make_batch({{1, 9, 2, 3}, {4, 5}}, 0));
  EXPECT_EQ(s[Stream::Segment], (std::vector<int32_t>{0, 0, 1, 1, 0, 0, 0, 0}));
  EXPECT_EQ(s[Stream::IntraSegment], (std::vector<int32_t>{0, 1, 0, 1, 0, 1, 2, 3}));
  // Other encodings derive nothing.
  const Transformer plain(testing::small_config({"llama", "rotary"}));
  EXPECT_TRUE(batch_streams(plain, make_batch({{1, 9}}, 0))[Stream::Segment].empty());
}

TEST(BilevelOptions, BadDelimitersAndTableSizesAreNamedErrors) {
  auto error = [](nlohmann::json pe) {
    return testing::error_of([&] { testing::small_config({"llama", "bipe_alibi", pe}); });
  };
  EXPECT_NE(error(nlohmann::json::object()).find("pe.delimiters"), std::string::npos);
  EXPECT_NE(error({{"delimiters", {3, 11}}}).find("token id 11, which is not in the vocabulary of 11"),
            std::string::npos);
  EXPECT_NE(error({{"delimiters", {"."}}}).find("must hold integers"), std::string::npos);
  EXPECT_NE(error({{"delimiters", {3}}, {"intra_size", 1}}).find("pe.intra_size"), std::string::npos);
  // base is bipe_rope's key only.
  EXPECT_NE(error({{"delimiters", {3}}, {"base", 500}}).find("unknown key 'pe.base'"),
            std::string::npos);
}

TEST(BilevelTable, LastRowStartsAtZeroAndGetsNoGradient) {
  const ModelConfig c =
      testing::small_config({"llama", "bipe_rope", {{"delimiters", {1}}, {"intra_size", 3}}});
  Transformer model(c);
  model.init_weights(4);
  const TensorSpec& t = model.layout()[model.layout().find("model.pe.bipe.intra.weight")];
  ASSERT_EQ(t.shape, (std::vector<int64_t>{3, c.d_model}));
  const size_t last = t.offset + size_t(2) * c.d_model;
  const std::vector<float> params = model.params_to_host();
  for (int d = 0; d < c.d_model; ++d) EXPECT_EQ(params[last + d], 0.0f);
  const Batch b = make_batch({{2, 3, 4, 5, 6, 7, 8}}, 0);  // one long segment: clamped to row 2
  Workspace ws(model);
  model.zero_grads();
  forward_backward(model, b, ws, 0);
  const std::vector<float> grads = model.grads_to_host();
  double row0 = 0;
  for (int d = 0; d < c.d_model; ++d) {
    EXPECT_EQ(grads[last + d], 0.0f);
    row0 += std::abs(grads[t.offset + d]);
  }
  EXPECT_GT(row0, 0.0);
}

TEST(BilevelDecode, GreedyCarriesSegmentsAcrossStepsLikeTheFullForward) {
  for (const std::string pe : {"bipe_rope", "bipe_alibi"}) {
    const ModelConfig c =
        testing::small_config({"llama", pe, {{"delimiters", {1, 2, 3}}, {"intra_size", 4}}});
    Transformer model(c);
    model.init_weights(6);
    const std::vector<std::vector<int32_t>> prompts = {{4, 1, 5}, {6, 7, 8, 9, 10}};
    const auto out = greedy_decode(model, prompts, 8, /*eos_id=*/-1);
    Workspace ws(model);
    for (size_t i = 0; i < prompts.size(); ++i) {
      std::vector<int32_t> seq = prompts[i];
      for (int32_t tok : out[i]) {
        std::vector<float> lg;
        logits(model, make_batch({seq}, 0), {int32_t(seq.size()) - 1}, lg, ws);
        EXPECT_EQ(int32_t(std::max_element(lg.begin(), lg.end()) - lg.begin()), tok) << pe;
        seq.push_back(tok);
      }
    }
  }
}

TEST(EncodingStreams, ASuppliedStreamTheBatchLacksIsANamedError) {
  // abacus reads digit places, which only the task data supply; bilevel encodings need nothing
  // from the caller.
  Transformer abacus(testing::small_config({"llama", "abacus"}));
  abacus.init_weights(1);
  Workspace ws(abacus);
  const std::string e = testing::error_of([&] { loss(abacus, make_batch({{2, 3, 4}}, 0), ws); });
  EXPECT_NE(e.find("'abacus' reads the digit-place stream"), std::string::npos) << e;
  Transformer bipe(testing::small_config({"llama", "bipe_alibi", {{"delimiters", {1}}}}));
  bipe.init_weights(1);
  Workspace ws2(bipe);
  EXPECT_TRUE(std::isfinite(loss(bipe, make_batch({{2, 1, 4}}, 0), ws2)));
}

}  // namespace
}  // namespace lengen
