// Language modelling (src/lm/): the SentencePiece tokenizer and its BiPE delimiters, corpus
// ingestion and its errors, blockwise perplexity scoring against the full forward pass, RoPE
// scaling per evaluation length.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "file_test_support.h"
#include "backend/cpu/kernels.h"
#include "lm/corpus.h"
#include "lm/lm_eval.h"
#include "lm/lm_run.h"
#include "lm/tokenizer.h"
#include "model/checkpoint.h"
#include "model/model_overrides.h"
#include "model_fixtures.h"
#include "pe/bilevel.h"

namespace lengen {
namespace {

using testing::error_of;
using testing::TempDir;

std::string sample_text(int i) {
  return "def f" + std::to_string(i) + "(x):\n    return x + " + std::to_string(i) +
         "\n\nThe value is computed. It is returned.\nclass A:\n    pass\n";
}

// A small BPE model trained once for the suite.
const lm::Tokenizer& small_tokenizer() {
  static TempDir dir;
  static const lm::Tokenizer tok = [] {
    std::vector<std::string> docs;
    for (int i = 0; i < 200; ++i) docs.push_back(sample_text(i));
    return lm::Tokenizer::train_bpe(docs, 320, 10000, dir.file("tokenizer.model"));
  }();
  return tok;
}

TEST(LmTokenizer, TrainedBpeRoundTripsNewlinesAndIndentation) {
  const lm::Tokenizer& tok = small_tokenizer();
  const std::string text = "def g(y):\n    return y.\n\n  x = 1\n";
  EXPECT_EQ(tok.decode(tok.encode(text)), text);
  EXPECT_EQ(tok.bos_id(), 1);
}

TEST(LmTokenizer, DefaultDelimitersAreTheNewlineAndFullStopPieces) {
  const lm::Tokenizer& tok = small_tokenizer();
  std::vector<std::string> pieces;
  for (int32_t id : tok.default_delimiters()) pieces.push_back(tok.piece(id));
  EXPECT_NE(std::find(pieces.begin(), pieces.end(), "<0x0A>"), pieces.end());
  for (const auto& p : pieces) EXPECT_TRUE(p == "<0x0A>" || p == "\xe2\x96\x81." || p.find('\n') != std::string::npos) << p;
  // Pieces and decimal ids both name delimiters; the byte pieces follow the 3 specials.
  EXPECT_EQ(tok.resolve_delimiters({"<0x0A>", "5"}), (std::vector<int32_t>{3 + 0x0A, 5}));
}

TEST(LmTokenizer, SegmentationOfRealTokenizerOutputFollowsTheLines) {
  const lm::Tokenizer& tok = small_tokenizer();
  const std::string text = "x = 1\ny = 2\n\nz = 3";
  const std::vector<int32_t> ids = tok.encode(text);
  const int32_t newline = tok.resolve_delimiters({"<0x0A>"})[0];
  const Segmenter seg(BilevelSettings{{newline}, 1024}, tok.vocab_size());
  std::vector<int32_t> s(ids.size()), intra(ids.size());
  seg.segment(ids.data(), int(ids.size()), s.data(), intra.data());
  // Three newlines: four segments; the empty line is a one-token segment.
  EXPECT_EQ(s.back(), 3);
  int newlines = 0;
  for (size_t t = 0; t < ids.size(); ++t) {
    EXPECT_EQ(s[t], newlines) << t;
    if (t > 0 && s[t] != s[t - 1]) EXPECT_EQ(intra[t], 0);
    if (ids[t] == newline) ++newlines;
    // Decoding a segment's tokens gives one line (with its newline).
  }
  std::string first_line;
  std::vector<int32_t> seg0;
  for (size_t t = 0; t < ids.size() && s[t] == 0; ++t) seg0.push_back(ids[t]);
  EXPECT_EQ(tok.decode(seg0), "x = 1\n");
}

TEST(LmTokenizer, BadModelsAndUnknownDelimitersAreClearErrors) {
  TempDir dir;
  EXPECT_NE(error_of([&] { lm::Tokenizer::load(dir.file("none.model")); }).find("not found"),
            std::string::npos);
  const std::string junk = dir.write("junk.model", "this is not a protobuf \x01\x02\x03");
  EXPECT_NE(error_of([&] { lm::Tokenizer::load(junk); }).find("not a SentencePiece model"),
            std::string::npos);
  const lm::Tokenizer& tok = small_tokenizer();
  EXPECT_NE(error_of([&] { tok.resolve_delimiters({"\xe2\x96\x81nonexistentpiece"}); })
                .find("is not in the vocabulary"),
            std::string::npos);
  EXPECT_NE(error_of([&] { tok.resolve_delimiters({"99999"}); }).find("is not in the vocabulary"),
            std::string::npos);
}

TEST(LmCorpus, PreparesSplitsByDocumentWithBosAndReadsJsonl) {
  TempDir dir;
  std::string jsonl;
  for (int i = 0; i < 60; ++i) {
    dir.write("src/file" + std::to_string(i) + ".py", sample_text(i));
    jsonl += nlohmann::json{{"text", sample_text(1000 + i)}}.dump() + "\n";
  }
  dir.write("src/skip.bin", "binary");  // not a listed extension: ignored
  dir.write("src/tests/t.py", "excluded");
  const std::string j = dir.write("docs.jsonl", jsonl);
  lm::CorpusConfig c;
  c.paths = {dir.file("src"), j};
  c.vocab_size = 320;
  c.valid_fraction = 0.2;
  const auto docs = lm::read_documents(c);
  EXPECT_EQ(docs.size(), 120u);
  lm::prepare_lm_data(c, dir.file("data"));
  const lm::LmData data = lm::LmData::open(dir.file("data"));
  const lm::TokenFile train(data.train_path()), valid(data.valid_path());
  EXPECT_GT(train.size(), 0u);
  EXPECT_GT(valid.size(), 0u);
  EXPECT_EQ(train.data()[0], 1);  // BOS first
  EXPECT_EQ(int64_t(train.size() + valid.size()),
            data.info["tokens"]["train"].get<int64_t>() + data.info["tokens"]["valid"].get<int64_t>());
  EXPECT_GT(data.info["documents"]["valid"].get<int>(), 0);
  train.check_vocabulary(data.info["vocab_size"].get<int>());
}

TEST(LmCorpus, EmptyCorpusBadJsonlAndTruncatedTokenFilesAreClearErrors) {
  TempDir dir;
  dir.write("empty/a.txt", "  \n\n");
  lm::CorpusConfig c;
  c.paths = {dir.file("empty")};
  EXPECT_NE(error_of([&] { lm::read_documents(c); }).find("the corpus is empty"), std::string::npos);
  c.paths = {dir.write("bad.jsonl", "{\"text\": \"ok\"}\n{\"body\": 1}\n")};
  EXPECT_NE(error_of([&] { lm::read_documents(c); }).find("bad.jsonl:2"), std::string::npos);
  c.paths = {dir.file("missing_dir")};
  EXPECT_NE(error_of([&] { lm::read_documents(c); }).find("does not exist"), std::string::npos);
  const std::string tokens = dir.write("t.bin", "abcde");
  EXPECT_NE(error_of([&] { lm::TokenFile f(tokens); }).find("not a multiple of 4"), std::string::npos);
  EXPECT_NE(error_of([&] { lm::CorpusConfig::from_json({{"max_token", 3}}, "c.json"); })
                .find("unknown key 'corpus.max_token'"),
            std::string::npos);
}

// Blockwise scoring through the KV cache gives the full forward pass's log-probs.
TEST(LmEval, BlockwiseScoreEqualsTheFullForward) {
  for (const std::string pe : {"bipe_rope", "bipe_alibi", "rotary", "alibi"}) {
    nlohmann::json opts = nlohmann::json::object();
    if (pe.rfind("bipe", 0) == 0) opts = {{"delimiters", {1, 2}}, {"intra_size", 4}};
    const ModelConfig c = testing::small_config({"llama", pe, opts});
    Transformer model(c);
    model.init_weights(3);
    Rng rng(5);
    const int T = 23;
    std::vector<std::vector<int32_t>> rows(2);
    for (auto& r : rows)
      for (int t = 0; t < T; ++t) r.push_back(int32_t(rng.below(c.vocab_size)));
    const std::vector<float> lp = testing::score_of(model, make_batch(rows, 0));
    double expected = 0;
    for (int r = 0; r < 2; ++r)
      for (int t = 0; t + 1 < T; ++t) expected -= lp[size_t(r) * T + t];
    int64_t predictions = 0;
    const double got = lm::score_chunks(model, {rows[0].data(), rows[1].data()}, T, 0, 5, predictions);
    EXPECT_EQ(predictions, 2 * (T - 1));
    EXPECT_NEAR(got, expected, 1e-4 * std::abs(expected)) << pe;
  }
}

TEST(LmEval, SlidingWindowScoresEveryTokenOnceAndBadLengthsAreClearErrors) {
  TempDir dir;
  std::vector<int32_t> ids(200);
  Rng rng(2);
  for (auto& x : ids) x = int32_t(rng.below(11));
  const std::string path = dir.file("v.bin");
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(ids.data()), ids.size() * 4);
  const lm::TokenFile tokens(path);
  Transformer model(testing::small_config({"llama", "alibi"}));
  model.init_weights(1);
  lm::PerplexityOptions o;
  o.multiples = {1, 2};
  o.max_tokens = 200;
  o.block = 7;
  const auto chunks = lm::evaluate_perplexity(model, tokens, 16, o, false);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].length, 16);
  EXPECT_EQ(chunks[1].chunks, 6);  // span 192 = 6 chunks of 32
  EXPECT_EQ(chunks[1].predictions, 6 * 31);
  EXPECT_NEAR(chunks[0].ppl, std::exp(chunks[0].mean_nll), 1e-9);
  o.stride = 8;
  const auto sliding = lm::evaluate_perplexity(model, tokens, 16, o, false);
  // Windows of 32 advancing by 8 over 192 tokens: 31 predictions, then 8 per later window.
  EXPECT_EQ(sliding[1].predictions, 31 + 8 * (sliding[1].chunks - 1));
  // A length the model cannot represent: abs_learned with its 64-row table at 5x16 = 80.
  Transformer small(testing::small_config({"llama", "abs_learned"}));
  o.stride = 0;
  o.multiples = {1, 5};
  const std::string e = error_of([&] { lm::evaluate_perplexity(small, tokens, 16, o, false); });
  EXPECT_NE(e.find("evaluation length 80"), std::string::npos) << e;
  EXPECT_NE(e.find("outside the learned table"), std::string::npos) << e;
  o.multiples = {1, 0};
  EXPECT_NE(error_of([&] { lm::evaluate_perplexity(small, tokens, 16, o, false); })
                .find("multiple 0 must be >= 1"),
            std::string::npos);
}

TEST(LmEval, RopeScalingFollowsTheEvaluationLength) {
  EXPECT_TRUE(lm::rope_scaling_overrides("yarn", 1, 16).empty());
  EXPECT_TRUE(lm::rope_scaling_overrides("none", 4, 16).empty());
  EXPECT_EQ(lm::rope_scaling_overrides("yarn", 3, 16),
            (std::vector<std::string>{"pe.scaling=yarn", "pe.scaling_factor=3",
                                      "pe.original_max_positions=16"}));
  EXPECT_EQ(lm::rope_scaling_overrides("ntk", 2, 16),
            (std::vector<std::string>{"pe.scaling=ntk", "pe.scaling_factor=2"}));
  EXPECT_NE(error_of([] { lm::rope_scaling_overrides("sideways", 2, 16); }).find("sideways"),
            std::string::npos);

  TempDir dir;
  std::vector<int32_t> ids(200);
  Rng rng(4);
  for (auto& x : ids) x = int32_t(rng.below(11));
  std::ofstream(dir.file("v.bin"), std::ios::binary)
      .write(reinterpret_cast<const char*>(ids.data()), ids.size() * 4);
  const lm::TokenFile tokens(dir.file("v.bin"));
  Transformer trained(testing::small_config({"llama", "rotary"}));
  trained.init_weights(6);
  save_model(dir.file("ckpt"), trained);
  lm::PerplexityOptions o;
  o.multiples = {1, 2};
  o.max_tokens = 192;
  const auto plain = lm::evaluate_checkpoint(dir.file("ckpt"), {}, "none", tokens, 16, o, false);
  const auto linear = lm::evaluate_checkpoint(dir.file("ckpt"), {}, "linear", tokens, 16, o, false);
  ASSERT_EQ(linear.size(), 2u);
  EXPECT_EQ(linear[0].mean_nll, plain[0].mean_nll);  // 1x: unscaled
  EXPECT_NE(linear[1].mean_nll, plain[1].mean_nll);
  // 2x: the checkpoint under position interpolation with factor 2.
  auto pi = load_model_with_overrides(dir.file("ckpt"), {"pe.scaling=linear", "pe.scaling_factor=2"});
  lm::PerplexityOptions at2 = o;
  at2.multiples = {2};
  EXPECT_EQ(linear[1].mean_nll, lm::evaluate_perplexity(*pi, tokens, 16, at2, false)[0].mean_nll);
  // Fixed overrides apply at every length: a bad one is an error.
  EXPECT_THROW(lm::evaluate_checkpoint(dir.file("ckpt"), {"pe.scaling=big"}, "none", tokens, 16, o, false),
               Error);
}

}  // namespace
}  // namespace lengen
