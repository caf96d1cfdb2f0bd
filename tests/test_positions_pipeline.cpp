// The digit-arithmetic formats (add, mul: reversed answers, index hints, per-token position
// ids) and how the pipeline turns the ids into positions: randomized positions, position
// coupling with its training offset, Abacus's significance stream, and decoding with them.
#include <gtest/gtest.h>

#include "file_test_support.h"

#include <algorithm>
#include <set>

#include "model_fixtures.h"
#include "pipeline/position_schemes.h"
#include "pipeline/task_data.h"
#include "tasks/task.h"
#include "util/error.h"

namespace lengen {
namespace {

std::vector<std::string> words_of(const std::string& s) {
  std::vector<std::string> w;
  std::istringstream in(s);
  for (std::string x; in >> x;) w.push_back(x);
  return w;
}

// The number written by the digit words of `w` (in the given order), as a digit string, most
// significant first, hint words skipped.
std::string digits_of(const std::vector<std::string>& w, bool reversed) {
  std::string d;
  for (const auto& x : w)
    if (x.size() == 1 && isdigit(x[0])) d += x;
  if (reversed) std::reverse(d.begin(), d.end());
  return d;
}

// Adds or multiplies decimal strings (most significant first) by hand, padded to `width`.
std::string reference_result(const std::string& a, const std::string& b, bool multiply, size_t width) {
  std::string out;
  int carry = 0;
  for (size_t k = 0; k < width; ++k) {
    const int x = k < a.size() ? a[a.size() - 1 - k] - '0' : 0;
    const int y = k < b.size() ? b[b.size() - 1 - k] - '0' : 0;
    const int v = multiply ? x * (b.back() - '0') + carry : x + y + carry;
    out.insert(out.begin(), char('0' + v % 10));
    carry = v / 10;
  }
  return out;
}

struct FormatCase {
  std::string task, split;
};

class DigitFormats : public ::testing::TestWithParam<FormatCase> {};

TEST_P(DigitFormats, AnswersAndPositionIdsFollowTheFormat) {
  const auto [task_name, split] = GetParam();
  const auto task = tasks::make_task(task_name);
  tasks::GenerateOptions o;
  o.seed = 3, o.train_size = 200, o.test_size = 60;
  const tasks::Dataset d = task->generate(split, o);
  const bool reversed = split.find("_rev") != std::string::npos;
  const bool hints = split.find("_hint") != std::string::npos;
  const bool multiply = task_name == "mul";
  std::set<int> hint_starts;
  for (const auto* part : {&d.train, &d.test})
    for (const auto& e : *part) {
      const auto src = words_of(e.source), tgt = words_of(e.target);
      const auto op = std::find(src.begin(), src.end(), multiply ? "*" : "+");
      ASSERT_NE(op, src.end()) << e.source;
      const std::string a = digits_of({src.begin(), op}, false);
      const std::string b = digits_of({op + 1, src.end()}, false);
      const size_t width = std::max(a.size(), b.size()) + 1;
      EXPECT_EQ(digits_of(tgt, reversed), reference_result(a, b, multiply, width)) << e.source;
      EXPECT_EQ(e.length, int(std::max(a.size(), b.size())));
      if (split.rfind("grid", 0) == 0) {
        EXPECT_EQ(e.category, std::to_string(a.size()) + "-by-" + std::to_string(b.size()));
      }
      if (part == &d.test) {
        EXPECT_GE(e.length, 11);
      }
      if (part == &d.train) {
        EXPECT_LE(e.length, 10);
      }
      // Ids: significance of each digit (1 = least significant), its hint the same, else 0.
      ASSERT_TRUE(e.position_ids.has_value());
      std::vector<std::string> all = src;
      all.insert(all.end(), tgt.begin(), tgt.end());
      ASSERT_EQ(e.position_ids->size(), all.size());
      const size_t op_index = size_t(op - src.begin());
      EXPECT_EQ((*e.position_ids)[op_index], 0);
      const auto& ids = *e.position_ids;
      EXPECT_EQ(ids[op_index - 1], 1);  // a's last digit is its units digit
      EXPECT_EQ(ids[src.size() - 1], 1);
      EXPECT_EQ(ids[src.size() + (hints ? 1 : 0)], reversed ? 1 : int(width));
      EXPECT_EQ(ids.back(), reversed ? int(width) : 1);
      if (hints) {
        EXPECT_EQ(all[0][0], 'h');
        EXPECT_EQ(ids[0], ids[1]);  // a hint shares its digit's id
        // h<offset + significance>: the offset is the same for every number of the example.
        const int offset = std::stoi(all[0].substr(1)) - ids[0];
        for (size_t i = 0; i < all.size(); ++i) {
          if (all[i][0] == 'h') {
            EXPECT_EQ(std::stoi(all[i].substr(1)), offset + ids[i]);
          }
        }
        if (part == &d.test) {
          EXPECT_EQ(offset, 0);
        }
        if (part == &d.train) hint_starts.insert(offset);
      }
      EXPECT_TRUE(task->is_correct(e, e.target));
      EXPECT_FALSE(task->is_correct(e, e.target + " 0"));
    }
  if (hints) {
    EXPECT_GT(hint_starts.size(), 20u) << "training hints start at random offsets";
  }
}

INSTANTIATE_TEST_SUITE_P(
    AddAndMul, DigitFormats,
    ::testing::Values(FormatCase{"add", "len_tr10_ts40"}, FormatCase{"add", "len_tr10_ts40_rev"},
                      FormatCase{"add", "len_tr10_ts40_hint"},
                      FormatCase{"add", "len_tr10_ts40_rev_hint"}, FormatCase{"add", "grid_tr10_ts40"},
                      FormatCase{"mul", "len_tr10_ts40"}, FormatCase{"mul", "len_tr10_ts40_rev_hint"}),
    [](const auto& info) { return info.param.task + "_" + info.param.split; });

// The 2-D grid: every pair of operand lengths in [1..40]^2 with one above 10 is a test cell.
TEST(DigitFormats, GridSplitCoversEveryPairOfOperandLengths) {
  tasks::GenerateOptions o;
  o.seed = 5, o.train_size = 100, o.test_size = 1500;
  const tasks::Dataset d = tasks::make_task("add")->generate("grid_tr10_ts40", o);
  std::set<std::string> cells;
  for (const auto& e : d.test) cells.insert(e.category);
  EXPECT_EQ(d.test.size(), 1500u);
  EXPECT_EQ(cells.size(), 1500u);  // 40 * 40 - 10 * 10
  EXPECT_TRUE(cells.count("1-by-40") && cells.count("40-by-1") && cells.count("11-by-3"));
  EXPECT_FALSE(cells.count("10-by-10"));
}

TEST(DigitFormats, HandExample) {
  // 345 + 67 = 412, padded to 4 digits; reversed: "2 1 4 0".
  tasks::Example gold;
  gold.target = "2 1 4 0";
  const auto task = tasks::make_task("add");
  EXPECT_TRUE(task->is_correct(gold, "2 1 4 0"));
  EXPECT_FALSE(task->is_correct(gold, "2 1 4"));
}

// Encoded rows with task ids 1..n for a fake example of n answer tokens.
EncodedExample encoded_with_ids(int prompt_len, int answer_len) {
  EncodedExample e;
  for (int t = 0; t < prompt_len; ++t) e.prompt.push_back(5 + t % 3), e.ids.push_back(t % 4);
  for (int t = 0; t < answer_len; ++t) e.answer.push_back(6), e.ids.push_back(1 + t);
  return e;
}

TEST(TokenAlignedIds, SpecialsGetZero) {
  const auto task = tasks::make_task("add");
  tasks::GenerateOptions o;
  o.train_size = 10, o.test_size = 30;
  const tasks::Dataset d = task->generate("len_tr10_ts40_rev", o);
  std::vector<std::string> texts;
  for (const auto& e : d.train) texts.push_back(e.source + " " + e.target);
  const auto vocab = data::Vocabulary::build(texts, task->alphabet("len_tr10_ts40_rev"));
  const auto enc = encode_examples(d.train, vocab, "train");
  for (size_t i = 0; i < enc.size(); ++i) {
    const auto& x = enc[i];
    ASSERT_EQ(x.ids.size(), x.total());
    EXPECT_EQ(x.ids[0], 0);                     // <bos>
    EXPECT_EQ(x.ids[x.prompt.size() - 1], 0);   // <sep>
    EXPECT_EQ(x.ids.back(), 0);                 // <eos>
    EXPECT_EQ(x.ids[1], (*d.train[i].position_ids)[0]);
  }
  // "3 4 5 + 6 7" -> "2 1 4 0": coupling gives <sep> and each answer token the id of the token
  // it predicts, so the query writing significance k sits where the operands' digits k are.
  tasks::Example hand;
  hand.source = "3 4 5 + 6 7", hand.target = "2 1 4 0", hand.position_ids = {3, 2, 1, 0, 2, 1, 1, 2, 3, 4};
  const auto x = encode_examples({hand}, vocab, "hand")[0];
  EXPECT_EQ(x.ids, (std::vector<int32_t>{0, 3, 2, 1, 0, 2, 1, 0, 1, 2, 3, 4, 0}));
  EXPECT_EQ(x.coupled_ids, (std::vector<int32_t>{0, 3, 2, 1, 0, 2, 1, 1, 2, 3, 4, 0, 0}));
  const PositionScheme coupled{"coupled"}, abacus{"abacus"};
  EXPECT_EQ(&scheme_ids(coupled, x), &x.coupled_ids);
  EXPECT_EQ(&scheme_ids(abacus, x), &x.ids);
  auto bad = d.train;
  bad[0].position_ids->pop_back();
  EXPECT_THROW(encode_examples(bad, vocab, "train"), Error);
}

nlohmann::json run_json(const nlohmann::json& pe, const nlohmann::json& data) {
  return {{"model", {{"pe", pe}}}, {"data", data}};
}

TEST(PositionSchemes, ResolveAndRejectMismatches) {
  EXPECT_EQ(resolve_position_scheme(run_json("abacus", nlohmann::json::object()), "t").kind, "abacus");
  EXPECT_EQ(resolve_position_scheme(run_json("rotary", nlohmann::json::object()), "t").kind, "index");
  EXPECT_THROW(resolve_position_scheme(run_json("rotary", {{"positions", "abacus"}}), "t"), Error);
  EXPECT_THROW(resolve_position_scheme(run_json("abacus", {{"positions", "coupled"}}), "t"), Error);
  EXPECT_THROW(resolve_position_scheme(run_json("nope", {{"positions", "shifted"}}), "t"), Error);
  EXPECT_THROW(resolve_position_scheme(run_json("nope", {{"position_offset", 5}}), "t"), Error);
  EXPECT_THROW(resolve_position_scheme(
                   run_json("nope", {{"positions", "coupled"}, {"random_positions", 50}}), "t"),
               Error);
}

TEST(PositionSchemes, RandomizedPositionsAreOrderedDistinctSubsetsInTrainingOnly) {
  const auto s = resolve_position_scheme(run_json("rotary", {{"random_positions", 64}}), "t");
  const EncodedExample e = encoded_with_ids(9, 6);
  std::vector<std::vector<int32_t>> rows(3, e.prompt);
  rows[1].resize(5);
  Batch batch = make_batch(rows, 0);
  const std::vector<const std::vector<int32_t>*> ids(3, nullptr);
  Rng rng(1);
  assign_positions(s, ids, &rng, batch);
  std::set<std::vector<int32_t>> distinct_rows;
  for (int b = 0; b < 3; ++b) {
    std::vector<int32_t> p(batch.pos.begin() + b * batch.T, batch.pos.begin() + b * batch.T + batch.lengths[b]);
    for (size_t t = 1; t < p.size(); ++t) {
      EXPECT_LT(p[t - 1], p[t]);
    }
    EXPECT_GE(p.front(), 0);
    EXPECT_LT(p.back(), 64);
    distinct_rows.insert(p);
  }
  EXPECT_EQ(distinct_rows.size(), 3u);
  Batch eval_batch = make_batch(rows, 0);
  assign_positions(s, ids, nullptr, eval_batch);  // evaluation: 0, 1, 2, ...
  EXPECT_EQ(eval_batch.pos, make_batch(rows, 0).pos);
}

// data.random_eval_positions: each evaluated example its own ordered subset of [0, L), from
// the data seed and its index only (not the batch it is decoded in).
TEST(PositionSchemes, RandomizedEvaluationPositionsFollowTheExampleIndex) {
  // without randomized training positions it changes nothing (a sweep sets it for all runs)
  EXPECT_FALSE(resolve_position_scheme(run_json("rotary", {{"random_eval_positions", true}}), "t").random_eval);
  const auto s = resolve_position_scheme(
      run_json("rotary", {{"random_positions", 64}, {"random_eval_positions", true}, {"seed", 3}}), "t");
  EXPECT_TRUE(s.random_eval);
  const auto a = eval_random_positions(s, 5, 20), again = eval_random_positions(s, 5, 20);
  EXPECT_EQ(a, again);
  EXPECT_NE(a, eval_random_positions(s, 6, 20));
  auto other_seed = s;
  other_seed.eval_seed = 4;
  EXPECT_NE(a, eval_random_positions(other_seed, 5, 20));
  ASSERT_EQ(a.size(), 20u);
  for (size_t t = 1; t < a.size(); ++t) EXPECT_LT(a[t - 1], a[t]);
  EXPECT_GE(a.front(), 0);
  EXPECT_LT(a.back(), 64);
  EXPECT_EQ(eval_random_positions(s, 0, 64).back(), 63);  // all of [0, L)
  EXPECT_NE(testing::error_of([&] { eval_random_positions(s, 0, 65); }).find("random_positions = 64"),
            std::string::npos);
}

TEST(PositionSchemes, CoupledAndAbacusShiftNonzeroIdsByOneOffsetPerRow) {
  const EncodedExample e = encoded_with_ids(6, 4);
  std::vector<int32_t> row = e.prompt;
  row.insert(row.end(), e.answer.begin(), e.answer.end());
  const std::vector<const std::vector<int32_t>*> ids = {&e.ids};
  for (const std::string kind : {"coupled", "abacus"}) {
    const auto s = resolve_position_scheme(
        run_json(kind == "abacus" ? "abacus" : "abs_learned", {{"positions", kind}, {"position_offset", 40}}), "t");
    Batch batch = make_batch({row}, 0);
    Rng rng(7);
    assign_positions(s, ids, &rng, batch);
    const std::vector<int32_t>& got = kind == "coupled" ? batch.pos : batch.place;
    int offset = -1;
    for (size_t t = 0; t < e.ids.size(); ++t) {
      if (e.ids[t] == 0) {
        EXPECT_EQ(got[t], 0) << kind;
        continue;
      }
      if (offset < 0) offset = got[t] - e.ids[t];
      EXPECT_EQ(got[t], e.ids[t] + offset) << kind << " token " << t;
    }
    EXPECT_GE(offset, 0);
    EXPECT_LE(offset, 40);
    if (kind == "abacus") {
      EXPECT_EQ(batch.pos, make_batch({row}, 0).pos);
    }
    Batch eval_batch = make_batch({row}, 0);
    assign_positions(s, ids, nullptr, eval_batch);
    const std::vector<int32_t>& plain = kind == "coupled" ? eval_batch.pos : eval_batch.place;
    EXPECT_EQ(plain, e.ids) << "no offset at evaluation";
  }
}

TEST(PositionSchemes, TaskIdsAreRequiredWhenTheSchemeUsesThem) {
  const auto s = resolve_position_scheme(run_json("nope", {{"positions", "coupled"}}), "t");
  Batch batch = make_batch({{5, 6, 7}}, 0);
  const std::vector<int32_t> none;
  EXPECT_THROW(assign_positions(s, {&none}, nullptr, batch), Error);
}

TEST(PositionedDecode, GeneratedTokensGetTheirIdsAndMatchTheFullForward) {
  for (const std::string kind : {"coupled", "abacus"}) {
    const ModelConfig c = testing::small_config(
        {"llama", kind == "abacus" ? "abacus" : "rotary", kind == "abacus" ? nlohmann::json{{"max_positions", 8}} : nlohmann::json::object()});
    Transformer model(c);
    model.init_weights(4);
    const auto s = resolve_position_scheme(
        run_json(kind == "abacus" ? "abacus" : "rotary", {{"positions", kind}}), "t");
    const EncodedExample a = encoded_with_ids(5, 6), b = encoded_with_ids(3, 6);
    const int new_tokens = 5;
    const auto out = greedy_decode(model, {a.prompt, b.prompt}, new_tokens, -1, 0,
                                   decode_positions(s, {&a.ids, &b.ids}));
    // Teacher-force prompt + generated tokens with the same ids: each generated token is the
    // argmax of the logits before it.
    for (int r = 0; r < 2; ++r) {
      const EncodedExample& e = r == 0 ? a : b;
      std::vector<int32_t> seq = e.prompt;
      seq.insert(seq.end(), out[r].begin(), out[r].end());
      Batch batch = make_batch({seq}, 0);
      assign_positions(s, {&e.ids}, nullptr, batch);
      std::vector<int32_t> rows;
      for (size_t t = e.prompt.size() - 1; t + 1 < seq.size(); ++t) rows.push_back(int32_t(t));
      std::vector<float> logits;
      testing::logits_of(model, batch, rows, logits);
      for (size_t k = 0; k < rows.size(); ++k) {
        const float* l = logits.data() + k * c.vocab_size;
        EXPECT_EQ(int(std::max_element(l, l + c.vocab_size) - l), out[r][k]) << kind << " row " << r;
      }
    }
  }
}

}  // namespace
}  // namespace lengen
