// Length curricula (pipeline/curriculum.h): the config, the length each kind draws, and batches
// made of one length, reproducible from (seed, step).
#include <gtest/gtest.h>

#include <map>

#include "file_test_support.h"
#include "pipeline/curriculum.h"
#include "pipeline/run_config.h"

namespace lengen {
namespace {

CurriculumConfig parse(const std::string& text) {
  return CurriculumConfig::from_json(nlohmann::json::parse(text), "data.curriculum");
}

TEST(Curriculum, ConfigKindsAndErrorsNamingTheKey) {
  EXPECT_EQ(parse(R"({"kind": "uniform"})").kind, "uniform");
  const auto r = parse(R"({"kind": "regular_increase", "start": 2, "every": 50, "increase": 3, "sample_all": false})");
  EXPECT_EQ(r.start, 2);
  EXPECT_EQ(r.every, 50);
  EXPECT_EQ(r.increase, 3);
  EXPECT_FALSE(r.sample_all);
  EXPECT_EQ(CurriculumConfig::from_json(r.to_json(), "x").to_json(), r.to_json());
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"kind": "exponential"})", "allowed values: uniform, fixed"},
      {R"({"kind": "uniform", "tau": 0.5})", "unknown key 'tau' for kind uniform"},
      {R"({"kind": "fixed"})", "'length' must be a positive integer"},
      {R"({"kind": "reverse_exponential", "tau": 0})", "'tau' must be a positive number"},
      {R"({"kind": "regular_increase", "every": 0})", "'every' must be at least 1"},
      {R"({"kind": "fixed", "length": 2.5})", "'length'"},
      {R"({"length": 3})", "'kind' missing"},
      {R"("uniform")", "must be an object"}};
  for (const auto& item : bad) {
    const std::string& text = item.first;
    const std::string& needle = item.second;
    const std::string e = testing::error_of([&] { parse(text); });
    EXPECT_NE(e.find(needle), std::string::npos) << text << ": " << e;
    EXPECT_NE(e.find("data.curriculum"), std::string::npos) << e;
  }
}

TEST(Curriculum, EachKindDrawsItsDistribution) {
  const std::vector<int> lengths = {1, 2, 3, 4, 5};
  std::map<int, int> uniform, reverse;
  const auto u = parse(R"({"kind": "uniform"})"), rev = parse(R"({"kind": "reverse_exponential", "tau": 0.5})");
  for (int64_t step = 1; step <= 5000; ++step) {
    ++uniform[curriculum_draw(u, lengths, step, 7)];
    ++reverse[curriculum_draw(rev, lengths, step, 7)];
  }
  for (int n : lengths) EXPECT_NEAR(uniform[n], 1000, 120) << n;
  // tau^n: 16 : 8 : 4 : 2 : 1 of 31
  for (int n : lengths) EXPECT_NEAR(reverse[n], 5000.0 * std::pow(0.5, n - 1) / (31.0 / 16.0), 150) << n;
  EXPECT_EQ(curriculum_draw(parse(R"({"kind": "fixed", "length": 4})"), lengths, 9, 7), 4);
  // regular increase: 3 + 2 * (steps before / 10); sample_all draws any stage so far
  const auto inc = parse(R"({"kind": "regular_increase", "start": 3, "every": 10, "increase": 2, "sample_all": false})");
  EXPECT_EQ(curriculum_draw(inc, lengths, 1, 7), 3);
  EXPECT_EQ(curriculum_draw(inc, lengths, 10, 7), 3);
  EXPECT_EQ(curriculum_draw(inc, lengths, 11, 7), 5);
  EXPECT_EQ(curriculum_draw(inc, lengths, 35, 7), 9);
  const auto all = parse(R"({"kind": "regular_increase", "start": 3, "every": 10, "increase": 2})");
  std::map<int, int> seen;
  for (int64_t step = 31; step <= 40; ++step)
    for (uint64_t seed = 0; seed < 40; ++seed) ++seen[curriculum_draw(all, lengths, step, seed)];
  EXPECT_EQ(seen.size(), 4u);  // 3, 5, 7, 9
  EXPECT_TRUE(seen.count(3) && seen.count(9));
}

// Examples whose prompt has `length` tokens, so a batch's width tells its length.
std::vector<EncodedExample> examples_of(const std::vector<int>& lengths, int per_length) {
  std::vector<EncodedExample> out;
  for (int n : lengths)
    for (int k = 0; k < per_length; ++k) {
      EncodedExample x;
      x.length = n;
      x.prompt.assign(size_t(n) + 2, 7 + k);
      x.answer = {5, 2};
      out.push_back(x);
    }
  return out;
}

TEST(Curriculum, BatchesHoldOneLengthAndRepeatFromSeedAndStep) {
  const auto examples = examples_of({3, 4, 5, 8}, 6);
  CurriculumBatcher a(examples, 16, 11, parse(R"({"kind": "uniform"})"));
  CurriculumBatcher b(examples, 16, 11, parse(R"({"kind": "uniform"})"));
  std::map<int, int> lengths;
  for (int64_t step : {9, 1, 2, 3, 4, 5, 6, 7, 8, 30, 31, 32}) {
    const Batch x = a.batch(step);
    const int n = a.length_at(step);
    ++lengths[n];
    EXPECT_EQ(x.B, 16);
    for (int r = 0; r < x.B; ++r) EXPECT_EQ(x.lengths[size_t(r)], n + 2 + 2) << step;  // all rows one length
    EXPECT_EQ(b.batch(step).tokens, x.tokens);  // the step alone decides (resumption is exact)
  }
  EXPECT_GE(lengths.size(), 3u);
  // A drawn length without examples takes the nearest one (the shorter on a tie).
  const auto gaps = examples_of({2, 6, 9}, 2);
  auto at = [&](int n) {
    return CurriculumBatcher(gaps, 4, 0, parse(fmt::format(R"({{"kind": "fixed", "length": {}}})", n))).length_at(1);
  };
  EXPECT_EQ(at(1), 2);
  EXPECT_EQ(at(4), 2);
  EXPECT_EQ(at(5), 6);
  EXPECT_EQ(at(8), 9);
  EXPECT_EQ(at(40), 9);
}

TEST(Curriculum, RunConfigReadsAndWritesIt) {
  const nlohmann::json j = {{"data", {{"task", "parity_check"}, {"curriculum", {{"kind", "uniform"}}}}}};
  const RunConfig c = RunConfig::from_json(j, "cfg");
  EXPECT_EQ(c.data.curriculum.kind, "uniform");
  EXPECT_EQ(c.to_json()["data"]["curriculum"], (nlohmann::json{{"kind", "uniform"}}));
  EXPECT_FALSE(RunConfig::from_json({{"data", {{"task", "copy"}}}}, "cfg").to_json()["data"].contains("curriculum"));
  const std::string e = testing::error_of([] {
    RunConfig::from_json({{"data", {{"task", "copy"}, {"curriculum", {{"kind", "linear"}}}}}}, "cfg");
  });
  EXPECT_NE(e.find("cfg: data.curriculum: key 'kind'"), std::string::npos) << e;
}

}  // namespace
}  // namespace lengen
