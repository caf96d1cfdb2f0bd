// Split definitions against upstream (McGill-NLP/length-generalization, SPEC section 3 note):
// length ranges per split, counts per length, category labels. Provenance per number is in
// docs/tasks.md.
#include <map>
#include <regex>
#include <set>

#include <gtest/gtest.h>

#include "tasks/task.h"
#include "tasks/task_util.h"

using namespace lengen::tasks;

namespace {

const LengthSplitTask& length_task(const std::unique_ptr<Task>& t) {
  const auto* lt = dynamic_cast<const LengthSplitTask*>(t.get());
  if (!lt) throw std::runtime_error(t->name() + " is not a LengthSplitTask");
  return *lt;
}

std::pair<int, int> range_of(const std::vector<Bin>& bins) {
  std::set<int> lengths;
  for (const auto& b : bins) lengths.insert(b.length);
  // Every length in between is present (no holes).
  EXPECT_EQ(static_cast<int>(lengths.size()), *lengths.rbegin() - *lengths.begin() + 1);
  return {*lengths.begin(), *lengths.rbegin()};
}

template <class Key>
std::map<Key, int64_t> count_by(const std::vector<Example>& part, Key (*key)(const Example&)) {
  std::map<Key, int64_t> out;
  for (const auto& e : part) ++out[key(e)];
  return out;
}
int length_of(const Example& e) { return e.length; }
std::string category_of(const Example& e) { return e.category; }

}  // namespace

// Every synthetic split of the upstream suite, with the lengths upstream trains and tests on,
// and the lengen `_from1` variants (training from 1, the earlier lengen default).
TEST(Splits, LengthRangesMatchUpstream) {
  struct Case {
    std::string task, split;
    int train_lo, train_hi, test_lo, test_hi;
  };
  const std::vector<Case> cases{
      {"addition", "len_tr8_ts16", 1, 8, 1, 16},  // test: pairs with one operand of 9..16
      {"sum", "len_tr8_ts16", 4, 8, 9, 16},
      {"sum", "len_tr8_ts16_from1", 1, 8, 9, 16},
      {"parity", "len_tr8_ts16", 3, 8, 9, 16},
      {"poly", "n_terms_tr8_ts16", 4, 8, 9, 16},
      {"poly", "n_terms_tr8_ts16_from1", 1, 8, 9, 16},
      {"sort", "len_sngd_tr8_ts16", 4, 8, 9, 16},
      {"sort", "len_sngd_tr8_ts16_from1", 1, 8, 9, 16},
      {"sort", "len_mltd_tr8_ts16", 4, 8, 9, 16},
      {"sort", "len_mltd_tr8_ts16_from1", 1, 8, 9, 16},
      {"lego", "len_tr8_ts16", 4, 8, 9, 16},
      {"lego", "len_tr8_ts16_perm", 4, 8, 9, 16},
      {"copy", "rsc_tr20_ts40", 2, 20, 21, 40},
      {"copy", "rsc2x_tr20_ts40", 2, 20, 21, 40},
      {"copy", "rdc_tr20_ts40", 2, 20, 21, 40},
      {"copy", "cmc_tr20_ts40", 2, 20, 21, 40},
      {"copy", "cmc2x_tr20_ts40", 2, 20, 21, 40},
      {"reverse", "mc_tr20_ts40", 2, 20, 21, 40},
      {"reverse", "mc2x_tr20_ts40", 2, 20, 21, 40},
      {"reverse", "mcrv_tr20_ts40", 2, 20, 21, 40},
  };
  std::set<std::pair<std::string, std::string>> covered;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.task + "/" + c.split);
    const auto task = make_task(c.task);
    const SplitDef& def = length_task(task).split_def(c.split);
    EXPECT_EQ(range_of(def.train_bins), std::make_pair(c.train_lo, c.train_hi));
    // Test bins: lengths of the addition pairs are the larger operand, so 9..16 there too.
    EXPECT_EQ(range_of(def.test_bins), std::make_pair(c.train_hi + 1, c.test_hi));
    EXPECT_EQ(def.lengen_variant, c.split.find("_from1") != std::string::npos);
    // `lengen data list` prints the range.
    EXPECT_NE(task->split_description(c.split).find(std::to_string(c.train_lo) + ".."),
              std::string::npos)
        << task->split_description(c.split);
    covered.insert({c.task, c.split});
  }
  // No split of these tasks is left out of the table.
  for (const char* t : {"addition", "sum", "parity", "poly", "sort", "lego", "copy", "reverse"})
    for (const auto& s : make_task(t)->splits()) EXPECT_TRUE(covered.count({t, s})) << t << "/" << s;
}

TEST(Splits, DefaultSplitIsTheUpstreamOne) {
  EXPECT_EQ(make_task("sum")->default_split(), "len_tr8_ts16");
  EXPECT_EQ(make_task("poly")->default_split(), "n_terms_tr8_ts16");
  EXPECT_EQ(make_task("parity")->default_split(), "len_tr8_ts16");
  EXPECT_EQ(make_task("addition")->default_split(), "len_tr8_ts16");
  EXPECT_EQ(make_task("sort")->default_split(), "");  // two upstream splits: choose one
  EXPECT_EQ(make_task("lego")->default_split(), "");
}

// The builders' arithmetic: int(1.15 * train / bins) per training bin (Python doubles), and
// int(test / bins) per test bin in whole groups.
TEST(Splits, UpstreamCountArithmetic) {
  EXPECT_EQ(upstream_pool_per_bin(100000, 20), 5749);  // 1.15 * 100000 = 114999.99...
  EXPECT_EQ(upstream_pool_per_bin(100000, 19), 6052);
  EXPECT_EQ(upstream_pool_per_bin(100000, 64), 1796);
  const auto add = upstream_test_counts(10000, std::vector<int64_t>(192, 1));
  EXPECT_EQ(add, std::vector<int64_t>(192, 52));
  // LEGO test lengths 9..16 hold whole chains of n/2 queries.
  EXPECT_EQ(upstream_test_counts(10000, {4, 5, 5, 6, 6, 7, 7, 8}),
            (std::vector<int64_t>{1248, 1250, 1250, 1248, 1248, 1246, 1246, 1248}));
  EXPECT_EQ(upstream_test_counts(10000, std::vector<int64_t>(20, 1)),
            std::vector<int64_t>(20, 500));
  // Too small for one group per bin: spread evenly, so the set is not empty.
  EXPECT_EQ(upstream_test_counts(3, {1, 1, 1, 1}), (std::vector<int64_t>{1, 1, 1, 0}));
  EXPECT_EQ(upstream_test_counts(20, {4, 8}), (std::vector<int64_t>{8, 8}));  // whole groups
  EXPECT_EQ(upstream_test_counts(12, {4, 8}), (std::vector<int64_t>{6, 6}));  // 6 < 8: spread
}

// Addition: 52 test examples per operand-length pair (9,984), categories "a-by-b".
TEST(Splits, AdditionCategoriesAndDefaultTestSize) {
  GenerateOptions o;
  o.seed = 2;
  o.train_size = 640;  // 10 per training pair; the test set keeps its default size
  const Dataset d = make_task("addition")->generate("len_tr8_ts16", o);
  ASSERT_EQ(d.test.size(), 9984u);
  const std::regex cat(R"((\d+)-by-(\d+))");
  std::map<std::string, int64_t> test_cats;
  for (const auto& e : d.test) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(e.category, m, cat)) << e.category;
    const int a = std::stoi(m[1]), b = std::stoi(m[2]);
    EXPECT_TRUE(a >= 9 || b >= 9) << e.category;
    EXPECT_EQ(e.length, std::max(a, b));
    // The category names the operands' digit counts, in source order.
    const auto plus = e.source.find(" + ");
    EXPECT_EQ(static_cast<int>(e.source.substr(8, plus - 8).size() + 1) / 2, a) << e.source;
    ++test_cats[e.category];
  }
  EXPECT_EQ(test_cats.size(), 192u);
  for (const auto& [c, n] : test_cats) EXPECT_EQ(n, 52) << c;
  std::set<std::string> train_cats;
  for (const auto& e : d.train) train_cats.insert(e.category);
  EXPECT_EQ(train_cats.size(), 64u);
  EXPECT_TRUE(train_cats.count("1-by-1") && train_cats.count("8-by-8") && train_cats.count("3-by-7"));
}

// LEGO: chains 4..8 in training (the runs' categories 4_2 .. 8_7), whole chains at test
// (9,984), categories "[n, query index]" with the query in the chain's second half.
TEST(Splits, LegoChainsCategoriesAndCounts) {
  GenerateOptions o;
  o.seed = 4;
  o.train_size = 1000;
  const Dataset d = make_task("lego")->generate("len_tr8_ts16", o);
  ASSERT_EQ(d.test.size(), 9984u);
  EXPECT_EQ(count_by(d.test, length_of),
            (std::map<int, int64_t>{{9, 1248}, {10, 1250}, {11, 1250}, {12, 1248}, {13, 1248},
                                    {14, 1246}, {15, 1246}, {16, 1248}}));
  std::set<std::string> train_cats;
  for (const auto* part : {&d.train, &d.validation})
    for (const auto& e : *part) train_cats.insert(e.category);
  EXPECT_EQ(train_cats, (std::set<std::string>{"[4, 2]", "[4, 3]", "[5, 3]", "[5, 4]", "[6, 3]",
                                               "[6, 4]", "[6, 5]", "[7, 4]", "[7, 5]", "[7, 6]",
                                               "[8, 4]", "[8, 5]", "[8, 6]", "[8, 7]"}));
  // Every query of a test chain is asked: int(1250 / (n/2)) chains per length, one example
  // per (n, query) each.
  const auto by_cat = count_by(d.test, category_of);
  EXPECT_EQ(by_cat.size(), 4u + 5 + 5 + 6 + 6 + 7 + 7 + 8);
  for (int n = 9; n <= 16; ++n)
    for (int q = (n + 1) / 2; q < n; ++q)
      EXPECT_EQ(by_cat.at("[" + std::to_string(n) + ", " + std::to_string(q) + "]"), 1250 / (n / 2))
          << n << " " << q;
  // The queried variable is the one clause q defines (clauses in chain order: not _perm).
  for (const auto& e : d.test) {
    const int q = std::stoi(e.category.substr(e.category.find(", ") + 2));
    size_t pos = 3;  // after "If "
    for (int i = 0; i < q; ++i) pos = e.source.find(", ", pos) + 2;
    EXPECT_EQ(e.source.substr(e.source.size() - 2, 1), e.source.substr(pos, 1)) << e.source;
  }
}

// The length-bucket tasks keep the length as their category, as upstream (str(cat)).
TEST(Splits, OtherCategoriesAreTheLength) {
  GenerateOptions o;
  o.seed = 1;
  o.train_size = 200;
  o.test_size = 40;
  for (const auto& [task, split] : std::vector<std::pair<std::string, std::string>>{
           {"sum", "len_tr8_ts16"}, {"parity", "len_tr8_ts16"}, {"poly", "n_terms_tr8_ts16"},
           {"sort", "len_sngd_tr8_ts16"}, {"copy", "rdc_tr20_ts40"}, {"reverse", "mc_tr20_ts40"}}) {
    const Dataset d = make_task(task)->generate(split, o);
    for (const auto* part : {&d.train, &d.validation, &d.test})
      for (const auto& e : *part) ASSERT_EQ(e.category, std::to_string(e.length)) << task;
  }
}

// rdc at the default size: per length, the builder's 78 symbols (78 * 77 = 6,006 ordered pairs
// <= int(1.15 * 100000 / 19) = 6,052), each pair at most once in train + validation.
TEST(Splits, RdcUsesTheBuildersSymbolCount) {
  GenerateOptions o;
  o.seed = 3;
  o.test_size = 200;
  const Dataset d = make_task("copy")->generate("rdc_tr20_ts40", o);
  std::map<int, std::set<std::string>> symbols, sources;
  for (const auto* part : {&d.train, &d.validation})
    for (const auto& e : *part) {
      // "Replace <from> with <to> in ..."
      symbols[e.length].insert(e.source.substr(8, e.source.find(" with ") - 8));
      EXPECT_TRUE(sources[e.length].insert(e.source).second) << e.source;
    }
  ASSERT_EQ(symbols.size(), 19u);
  for (const auto& [n, s] : symbols) EXPECT_EQ(s.size(), 78u) << n;
}
