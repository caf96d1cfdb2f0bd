// Attention analyses and the efficiency measurement (src/analysis/): divergences on hand-made
// rows, head-pair minimum, attended distance, capture storage, and the analyze commands end
// to end on tiny trained runs.
#include <gtest/gtest.h>

#include "file_test_support.h"

#include <cmath>
#include <filesystem>
#include <sstream>

#include "analysis/analyze.h"
#include "analysis/attended_distance.h"
#include "analysis/divergence.h"
#include "data/tokenizer.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "arch/model_config.h"
#include "pipeline/run_config.h"
#include "pipeline/task_run.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace lengen {
namespace {

using analysis::jensen_shannon;
using analysis::kKlEpsilon;
using analysis::symmetric_kl;

std::vector<float> softmax_row(size_t n, uint64_t seed) {
  auto v = testing::random_vector(n, seed, 2.0f);
  float sum = 0;
  for (auto& x : v) sum += (x = std::exp(x));
  for (auto& x : v) x /= sum;
  return v;
}

TEST(AnalysisDivergence, IdenticalRowsAreAtDistanceZero) {
  for (size_t n : {1u, 2u, 7u, 40u}) {
    const auto p = softmax_row(n, n);
    EXPECT_NEAR(symmetric_kl(p, p), 0.0, 1e-12) << n;
    EXPECT_NEAR(jensen_shannon(p, p), 0.0, 1e-12) << n;
  }
  const std::vector<float> one_hot = {0, 0, 1, 0};  // zeros on both sides are no problem
  EXPECT_EQ(symmetric_kl(one_hot, one_hot), 0.0);
  EXPECT_EQ(jensen_shannon(one_hot, one_hot), 0.0);
}

TEST(AnalysisDivergence, DisjointSupportsFollowTheEpsilonPolicy) {
  const std::vector<float> p = {1, 0}, q = {0, 1};
  // JS: no smoothing, exactly ln 2 for disjoint supports.
  EXPECT_NEAR(jensen_shannon(p, q), std::log(2.0), 1e-12);
  // Symmetric KL: both rows smoothed with eps over the 2 causal keys, then renormalised.
  const double e = kKlEpsilon;
  const double expected = 2.0 / (1 + 2 * e) * std::log((1 + e) / e);
  EXPECT_NEAR(symmetric_kl(p, q), expected, 1e-9 * expected);
  EXPECT_TRUE(std::isfinite(symmetric_kl(p, q)));
  // A larger eps smooths more: a smaller, still positive value.
  EXPECT_LT(symmetric_kl(p, q, 1e-2), expected);
  EXPECT_GT(symmetric_kl(p, q, 1e-2), 0.0);
}

TEST(AnalysisDivergence, HandComputedPartialOverlap) {
  const std::vector<float> p = {0.5f, 0.5f}, q = {1.0f, 0.0f};
  // m = (0.75, 0.25): JS = 0.5 [0.5 ln(0.5/0.75) + 0.5 ln(0.5/0.25) + 1 ln(1/0.75)]
  const double js = 0.5 * (0.5 * std::log(0.5 / 0.75) + 0.5 * std::log(2.0) + std::log(1 / 0.75));
  EXPECT_NEAR(jensen_shannon(p, q), js, 1e-7);
  const double e = kKlEpsilon, z = 1 + 2 * e;
  const double a0 = (0.5 + e) / z, a1 = (0.5 + e) / z, b0 = (1 + e) / z, b1 = e / z;
  const double kl = (a0 - b0) * std::log(a0 / b0) + (a1 - b1) * std::log(a1 / b1);
  EXPECT_NEAR(symmetric_kl(p, q), kl, 1e-6 * kl);
}

TEST(AnalysisDivergence, SymmetricAndBounded) {
  for (uint64_t s = 0; s < 20; ++s) {
    const auto p = softmax_row(9, 100 + s), q = softmax_row(9, 200 + s);
    EXPECT_DOUBLE_EQ(symmetric_kl(p, q), symmetric_kl(q, p));
    EXPECT_NEAR(jensen_shannon(p, q), jensen_shannon(q, p), 1e-15);
    EXPECT_GT(symmetric_kl(p, q), 0.0);
    EXPECT_GT(jensen_shannon(p, q), 0.0);
    EXPECT_LE(jensen_shannon(p, q), std::log(2.0) + 1e-12);
  }
  const std::vector<float> two = {0.5f, 0.5f}, three = {0.2f, 0.3f, 0.5f};
  EXPECT_NE(testing::error_of([&] { symmetric_kl(two, three); }).find("2 and 3 keys"), std::string::npos);
}

// A one-layer capture of one example of T tokens whose head h attends with the rows given.
analysis::AttentionCapture synthetic_capture(const std::vector<std::vector<std::vector<float>>>& heads,
                                             int train_seed) {
  analysis::AttentionCapture c;
  c.n_layers = 1;
  c.n_heads = int(heads.size());
  c.info = {{"run", "synthetic"}, {"task", "copy"}, {"data_split", "s"}, {"data_seed", 0},
            {"train_seed", train_seed}, {"split", "test"}, {"encoding", "x"}};
  analysis::CapturedExample x;
  const int T = int(heads[0].size());
  x.length = 2;
  for (int t = 0; t < T; ++t) {
    x.tokens.push_back(t);
    x.words.push_back(fmt::format("w{}", t));
  }
  x.regions = {{0, 1}, {1, 2}, {2, 2}, {2, T}};
  for (const auto& rows : heads)
    for (const auto& row : rows) x.probs.insert(x.probs.end(), row.begin(), row.end());
  c.examples.push_back(x);
  return c;
}

const std::vector<std::vector<float>> kRecent = {{1}, {0, 1}, {0, 0, 1}, {0, 0, 0, 1}};
const std::vector<std::vector<float>> kFirst = {{1}, {1, 0}, {1, 0, 0}, {1, 0, 0, 0}};
const std::vector<std::vector<float>> kUniform = {{1}, {.5f, .5f}, {1 / 3.f, 1 / 3.f, 1 / 3.f}, {.25f, .25f, .25f, .25f}};

TEST(AnalysisDistance, MinimumOverHeadPairsMatchesPermutedHeads) {
  const auto model = synthetic_capture({kRecent, kUniform}, 0);
  const auto same_heads_swapped = synthetic_capture({kUniform, kRecent}, 0);
  auto d = analysis::attention_distance(model, same_heads_swapped, analysis::QueryRows::All);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_NEAR(d[0].mean.js, 0.0, 1e-12);
  EXPECT_NEAR(d[0].mean.sym_kl, 0.0, 1e-12);
  // Against a reference that only looks at the first token: the closest head is the uniform
  // one; rows 1..3 give JS of {1/2,1/3,1/4} vs one-hot, row 0 gives 0.
  const auto first = synthetic_capture({kFirst}, 0);
  d = analysis::attention_distance(model, first, analysis::QueryRows::All);
  double expected = 0;
  for (int i = 0; i < 4; ++i) expected += jensen_shannon(kUniform[size_t(i)], kFirst[size_t(i)]);
  EXPECT_NEAR(d[0].mean.js, expected / 4, 1e-12);
  // Answer rows only (2, 3).
  d = analysis::attention_distance(model, first, analysis::QueryRows::Answer);
  EXPECT_NEAR(d[0].mean.js,
              (jensen_shannon(kUniform[2], kFirst[2]) + jensen_shannon(kUniform[3], kFirst[3])) / 2, 1e-12);
}

TEST(AnalysisDistance, ModelsOfOtherSeedsOrTasksAreRefused) {
  const auto a = synthetic_capture({kRecent}, 0);
  const auto b = synthetic_capture({kRecent}, 1);
  std::string m = testing::error_of([&] { analysis::attention_distance(a, b, analysis::QueryRows::All); });
  EXPECT_NE(m.find("train_seed"), std::string::npos) << m;
  EXPECT_NE(m.find("same seed"), std::string::npos) << m;
  auto c = synthetic_capture({kRecent}, 0);
  c.info["task"] = "reverse";
  m = testing::error_of([&] { analysis::attention_distance(a, c, analysis::QueryRows::All); });
  EXPECT_NE(m.find("task"), std::string::npos) << m;
}

TEST(AnalysisAttended, RelativeDistanceOfTheArgmaxKey) {
  // Answer queries 2 and 3: head 0 attends to itself (0), head 1 to token 0: 2/3 and 3/4.
  const auto c = synthetic_capture({kRecent, kFirst}, 0);
  const auto v = analysis::attended_distances(c, c.examples[0]);
  ASSERT_EQ(v.size(), 4u);
  EXPECT_DOUBLE_EQ(v[0], 0.0);
  EXPECT_DOUBLE_EQ(v[1], 0.0);
  EXPECT_DOUBLE_EQ(v[2], 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(v[3], 3.0 / 4.0);
  const auto f = analysis::histogram_fractions({0.0, 0.1, 0.55, 0.99, 1.0}, 2);
  EXPECT_DOUBLE_EQ(f[0], 0.4);
  EXPECT_DOUBLE_EQ(f[1], 0.6);
}

TEST(AnalysisCapture, SaveLoadRoundTripAndCorruptFilesAreNamed) {
  testing::TempDir dir;
  const auto c = synthetic_capture({kRecent, kUniform}, 3);
  analysis::save_capture(c, dir.file("cap"));
  const auto back = analysis::load_capture(dir.file("cap"));
  ASSERT_EQ(back.examples.size(), 1u);
  EXPECT_EQ(back.examples[0].probs, c.examples[0].probs);
  EXPECT_EQ(back.examples[0].regions.answer.begin, 2);
  EXPECT_EQ(back.info["train_seed"], 3);
  // A tensor of the wrong shape is an error naming the file and tensor.
  const float junk[3] = {0, 0, 0};
  io::save_safetensors(dir.file("cap/attention.safetensors"), {{"example.0", {1, 1, 3}, junk}});
  const std::string m = testing::error_of([&] { analysis::load_capture(dir.file("cap")); });
  EXPECT_NE(m.find("example.0"), std::string::npos) << m;
  EXPECT_NE(testing::error_of([&] { analysis::load_capture(dir.file("nothing")); }).find("no attention capture"),
            std::string::npos);
  analysis::CaptureRequest not_a_run;
  not_a_run.run_dir = dir.file("cap");
  EXPECT_NE(testing::error_of([&] { analysis::capture_attention(not_a_run); }).find("not a run directory"),
            std::string::npos);
  not_a_run.per_length = 0;
  EXPECT_NE(testing::error_of([&] { analysis::capture_attention(not_a_run); }).find("--per-length"),
            std::string::npos);
}

// ---- end to end on tiny trained runs ----

// A few training steps of a very small model on copy: enough for real attention rows.
RunConfig tiny_copy_run(const std::string& pe, const std::string& data_dir, int seed = 7) {
  std::vector<std::string> sets = {
      "model.pe=" + pe, "model.d_model=32", "model.d_head=8", "model.d_ff=64",
      "data.train_size=300", "data.test_size=60", "train.steps=4", "train.batch_size=4",
      "train.seed=" + std::to_string(seed), "eval.validation_examples=4", "eval.max_per_length=1"};
  nlohmann::json j = load_run_config_json("models/tiny,tasks/copy_cmc_tr20_ts40", sets);
  if (!data_dir.empty()) j["data"] = {{"dir", data_dir}};  // share the first run's data
  return RunConfig::from_json(j, "test");
}

std::vector<std::string> csv_lines(const std::string& path) {
  std::istringstream in(io::read_file(path));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool is_png(const std::string& path) { return io::read_file(path).substr(1, 3) == "PNG"; }

TEST(AnalysisEndToEnd, CaptureDistanceAttendedHeatmapsOnTinyRuns) {
  testing::TempDir dir;
  TaskRunOptions quiet;
  quiet.quiet = true;
  const std::string nope = dir.file("nope"), alibi = dir.file("alibi");
  run_task(nope, tiny_copy_run("nope", ""), quiet);
  run_task(alibi, tiny_copy_run("alibi", nope + "/data"), quiet);

  analysis::CaptureSelection sel;
  sel.per_length = 2;
  sel.quiet = true;
  const auto c = analysis::capture_or_load(sel.request(alibi));
  EXPECT_TRUE(fs::exists(alibi + "/analysis/attention/test/attention.safetensors"));
  EXPECT_EQ(c.encoding(), "alibi");
  ASSERT_FALSE(c.examples.empty());
  for (const auto& x : c.examples) {
    EXPECT_GE(x.length, 21);  // test lengths of cmc_tr20_ts40
    EXPECT_EQ(x.tokens[0], data::Vocabulary::kBos);
    EXPECT_EQ(x.tokens[size_t(x.regions.separator.begin)], data::Vocabulary::kSep);
    EXPECT_EQ(x.regions.answer.end, x.T());
    EXPECT_EQ(x.tokens.back(), data::Vocabulary::kEos);
    EXPECT_EQ(x.regions.answer.size(), x.length + 1);  // copy: n tokens + <eos>
    for (int l = 0; l < c.n_layers; ++l)
      for (int i = 0; i < x.T(); i += 7) {
        double sum = 0;
        for (float p : x.row(l, 1, c.n_heads, i)) sum += p;
        EXPECT_NEAR(sum, 1.0, 1e-5);
      }
  }
  EXPECT_EQ(c.examples.size(), 2u * 20u);  // lengths 21..40, 2 each (60 test examples)

  const auto d = analysis::analyze_distance({nope, alibi}, nope, sel, analysis::QueryRows::All, dir.file("dist"));
  const auto lines = csv_lines(dir.file("dist/distance.csv"));
  EXPECT_EQ(lines[0], "encoding,run,length,layer,sym_kl,js,examples");
  EXPECT_EQ(lines.size(), 1u + 20u * 3u);  // 20 lengths x (2 layers + mean)
  EXPECT_NE(io::read_file(dir.file("dist/distance_summary.md")).find("| alibi"), std::string::npos);
  EXPECT_TRUE(is_png(dir.file("dist/distance_per_layer_js.png")));
  EXPECT_TRUE(fs::exists(dir.file("dist/distance_per_layer_kl.svg")));

  analysis::analyze_attended({nope, alibi}, sel, 10, dir.file("att"));
  EXPECT_EQ(csv_lines(dir.file("att/attended_distance.csv")).size(), 1u + 2u * 20u * 10u);
  EXPECT_TRUE(is_png(dir.file("att/attended_distance_hist.png")));

  analysis::HeatmapRequest hr;
  hr.examples = {0};
  hr.layers = {1};
  const auto maps = analysis::write_attention_heatmaps(c, hr, dir.file("maps"));
  ASSERT_EQ(maps.files.size(), size_t(c.n_heads));
  EXPECT_TRUE(is_png(maps.files[0]));

  // A model trained with another seed is refused.
  run_task(dir.file("rotary"), tiny_copy_run("rotary", nope + "/data", 8), quiet);
  const std::string m = testing::error_of(
      [&] { analysis::analyze_distance({dir.file("rotary")}, nope, sel, analysis::QueryRows::All, dir.file("x")); });
  EXPECT_NE(m.find("train_seed"), std::string::npos) << m;
}

TEST(AnalysisEndToEnd, EfficiencyWritesTimesMemoryAndPlots) {
  testing::TempDir dir;
  ModelConfig base = model_preset("tiny");
  base.vocab_size = 16;
  base.d_model = 32;
  base.d_head = 8;
  base.d_ff = 64;
  analysis::EfficiencyOptions o;
  o.encodings = {"nope", "alibi"};
  o.length_from = 1;
  o.length_to = 41;
  o.length_step = 20;
  o.reps = 1;
  o.warmup = 0;
  const auto points = analysis::measure_efficiency(base, o);
  ASSERT_EQ(points.size(), 6u);
  for (const auto& p : points) {
    EXPECT_GT(p.train_step_s, 0.0);
    EXPECT_GT(p.generate_s, 0.0);
    EXPECT_FALSE(std::isnan(p.train_peak_mib) && fs::exists("/proc/self/clear_refs"));
  }
  EXPECT_EQ(points[2].length, 41);
  analysis::write_efficiency_report(points, "tiny", dir.file("eff"));
  const auto lines = csv_lines(dir.file("eff/efficiency.csv"));
  ASSERT_EQ(lines.size(), 7u);
  EXPECT_EQ(lines[0].substr(0, 16), "encoding,L,train");
  EXPECT_TRUE(is_png(dir.file("eff/efficiency_generate.png")));
  EXPECT_NE(testing::error_of([] {
              analysis::EfficiencyOptions bad;
              bad.length_from = 5;
              bad.length_to = 1;
              analysis::efficiency_lengths(bad);
            }).find("from <= to"),
            std::string::npos);
}

}  // namespace
}  // namespace lengen
