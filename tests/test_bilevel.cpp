// Bilevel positions (BiPE, SPEC 6): the segmentation on hand-made sequences, the encodings'
// options and errors, and greedy decoding carrying the segment state across steps.
#include <gtest/gtest.h>

#include "model/transformer.h"
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

TEST(BilevelSegmentation, BatchRowsStartFresh) {
  ModelConfig c = testing::small_config({"llama", "bipe_rope", {{"delimiters", {9}}}});
  Batch b = make_batch({{1, 9, 2, 3}, {4, 5}}, 0);
  add_bilevel_positions(c, b);
  EXPECT_EQ(b.seg, (std::vector<int32_t>{0, 0, 1, 1, 0, 0, 0, 0}));
  EXPECT_EQ(b.intra, (std::vector<int32_t>{0, 1, 0, 1, 0, 1, 2, 3}));
  // Other encodings get no segment ids.
  Batch plain = make_batch({{1, 9}}, 0);
  add_bilevel_positions(testing::small_config({"llama", "rotary"}), plain);
  EXPECT_TRUE(plain.seg.empty());
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
  for (int d = 0; d < c.d_model; ++d) EXPECT_EQ(model.params()[last + d], 0.0f);
  Batch b = make_batch({{2, 3, 4, 5, 6, 7, 8}}, 0);  // one long segment: clamped to row 2
  add_bilevel_positions(c, b);
  model.zero_grads();
  model.forward_backward(b, 0);
  double row0 = 0;
  for (int d = 0; d < c.d_model; ++d) {
    EXPECT_EQ(model.grads()[last + d], 0.0f);
    row0 += std::abs(model.grads()[t.offset + d]);
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
    for (size_t i = 0; i < prompts.size(); ++i) {
      std::vector<int32_t> seq = prompts[i];
      for (int32_t tok : out[i]) {
        Batch b = make_batch({seq}, 0);
        add_bilevel_positions(c, b);
        std::vector<float> lg;
        model.logits(b, {int32_t(seq.size()) - 1}, lg);
        EXPECT_EQ(int32_t(std::max_element(lg.begin(), lg.end()) - lg.begin()), tok) << pe;
        seq.push_back(tok);
      }
    }
  }
}

TEST(BilevelDecode, BatchWithoutSegmentIdsIsRefused) {
  const ModelConfig c = testing::small_config({"llama", "bipe_alibi", {{"delimiters", {1}}}});
  Transformer model(c);
  model.init_weights(1);
  const std::string e = testing::error_of([&] { model.loss(make_batch({{2, 3, 4}}, 0)); });
  EXPECT_NE(e.find("needs segment ids"), std::string::npos) << e;
}

}  // namespace
}  // namespace lengen
