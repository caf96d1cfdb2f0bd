// The synthetic task suite: formats, checkers, scratchpads and split invariants (SPEC 3).
#include <algorithm>
#include <cctype>
#include <map>
#include <regex>
#include <set>
#include <unordered_set>

#include <gtest/gtest.h>

#include "file_test_support.h"

#include "data/jsonl.h"
#include "data/tokenizer.h"
#include "tasks/scratchpad.h"
#include "tasks/task.h"
#include "tasks/task_util.h"
#include "util/error.h"

using namespace lengen::tasks;
using lengen::data::normalize_text;
using lengen::data::split_words;

namespace {

struct TaskSplit {
  std::string task, split;
};

std::vector<TaskSplit> all_task_splits() {
  std::vector<TaskSplit> out;
  for (const auto& t : task_names()) {
    if (t == "scan" || t == "pcfg") continue;  // tested on their own branch
    for (const auto& s : make_task(t)->splits()) out.push_back({t, s});
  }
  return out;
}

bool has_variables(const std::string& task) { return task != "sort" && task != "lego"; }

// none, full, minimal and every full-minus-one (SPEC 3.1); sort/LEGO never use v.
std::vector<std::string> scratchpad_settings(const std::string& task) {
  const bool v = has_variables(task);
  std::vector<std::string> out{"", v ? "i1_c1_o1_v1_r1" : "i1_c1_o1_v0_r1", "i0_c1_o1_v0_r0",
                               v ? "i0_c1_o1_v1_r1" : "i0_c1_o1_v0_r1",
                               v ? "i1_c0_o1_v1_r1" : "i1_c0_o1_v0_r1",
                               v ? "i1_c1_o0_v1_r1" : "i1_c1_o0_v0_r1",
                               v ? "i1_c1_o1_v1_r0" : "i1_c1_o1_v0_r0"};
  if (v) out.push_back("i1_c1_o1_v0_r1");
  return out;
}

// The answer with its last content word changed: always a different answer.
std::string corrupt(const std::string& target) {
  static const std::set<std::string> frame{"The", "answer", "is", "sorted", "list", "[",
                                           "]",   ",",      ".",  "NEXT"};
  auto w = split_words(target);
  for (size_t i = w.size(); i-- > 0;) {
    if (frame.count(w[i])) continue;
    std::string& t = w[i];
    if (t == "Yes") t = "No";
    else if (t == "No") t = "Yes";
    else if (t == "+1") t = "-1";
    else if (t == "-1") t = "+1";
    else if (t.size() == 1 && std::isdigit(static_cast<unsigned char>(t[0])))
      t = std::string(1, static_cast<char>('0' + (t[0] - '0' + 1) % 10));
    else t = t == "Z" ? "Y" : "Z";
    break;
  }
  return join(w, " ");
}

std::string prediction_of(const Example& e) {
  return e.scratchpad ? *e.scratchpad + " " + e.target : e.target;
}

GenerateOptions small(uint64_t seed = 1, const std::string& flags = "") {
  GenerateOptions o;
  o.seed = seed;
  o.train_size = 300;
  o.test_size = 160;
  if (!flags.empty()) o.scratchpad = ScratchpadFlags::parse(flags);
  return o;
}

using lengen::testing::error_of;

// Upstream's category labels: "a-by-b" (addition), "[n, query]" (LEGO), the length elsewhere.
bool category_matches(const std::string& task, const Example& e) {
  std::smatch m;
  if (task == "addition" || (task == "add" && e.category.find("-by-") != std::string::npos)) {
    static const std::regex re(R"((\d+)-by-(\d+))");
    return std::regex_match(e.category, m, re) &&
           std::max(std::stoi(m[1]), std::stoi(m[2])) == e.length;
  }
  if (task == "lego") {
    static const std::regex re(R"(\[(\d+), (\d+)\])");
    if (!std::regex_match(e.category, m, re)) return false;
    const int n = std::stoi(m[1]), q = std::stoi(m[2]);
    return n == e.length && q >= (n + 1) / 2 && q < n;
  }
  return e.category == std::to_string(e.length);
}

// The split's training and test lengths.
std::pair<int, int> length_range(const std::vector<Bin>& bins) {
  int lo = bins.front().length, hi = lo;
  for (const auto& b : bins) lo = std::min(lo, b.length), hi = std::max(hi, b.length);
  return {lo, hi};
}

}  // namespace

TEST(Registry, KnowsAllTasksAndRejectsUnknownNames) {
  for (const char* t : {"addition", "sum", "parity", "poly", "sort", "lego", "copy", "reverse",
                        "scan", "pcfg", "add", "mul"})
    EXPECT_EQ(make_task(t)->name(), t);
  const auto msg = error_of([] { make_task("additon"); });
  EXPECT_NE(msg.find("'additon'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("add, addition, binary_addition, binary_multiplication, bucket_sort, "
                     "compute_sqrt, copy, cycle_navigation, divide_by_two, duplicate_string, "
                     "equal_repeats, even_pairs, lego, missing_duplicate_string, "
                     "missing_palindrome, modular_arithmetic, "
                     "modular_arithmetic_brackets, mul, odds_first, parity, parity_check, pcfg, "
                     "poly, reverse, reverse_string, scan, solve_equation, sort, "
                     "stack_manipulation, sum"),
            std::string::npos)
      << msg;
}

TEST(Registry, SplitNamesMatchTheSpec) {
  EXPECT_EQ(make_task("sort")->splits(),
            (std::vector<std::string>{"len_sngd_tr8_ts16", "len_sngd_tr8_ts16_from1",
                                      "len_mltd_tr8_ts16", "len_mltd_tr8_ts16_from1"}));
  EXPECT_EQ(make_task("lego")->splits(),
            (std::vector<std::string>{"len_tr8_ts16", "len_tr8_ts16_perm"}));
  EXPECT_EQ(make_task("copy")->splits(),
            (std::vector<std::string>{"rsc_tr20_ts40", "rsc2x_tr20_ts40", "rdc_tr20_ts40",
                                      "cmc_tr20_ts40", "cmc2x_tr20_ts40"}));
  EXPECT_EQ(make_task("reverse")->splits(),
            (std::vector<std::string>{"mc_tr20_ts40", "mc2x_tr20_ts40", "mcrv_tr20_ts40"}));
  EXPECT_EQ(make_task("poly")->splits(),
            (std::vector<std::string>{"n_terms_tr8_ts16", "n_terms_tr8_ts16_from1"}));
  const auto msg = error_of([] { make_task("sort")->generate("len_tr8_ts16", small()); });
  EXPECT_NE(msg.find("valid splits: len_sngd_tr8_ts16, len_sngd_tr8_ts16_from1, "
                     "len_mltd_tr8_ts16, len_mltd_tr8_ts16_from1"),
            std::string::npos)
      << msg;
}

TEST(ScratchpadFlags, ParseAndNameRoundTrip) {
  for (int bits = 0; bits < 32; ++bits) {
    const std::string name = fmt::format("i{}_c{}_o{}_v{}_r{}", bits & 1, (bits >> 1) & 1,
                                         (bits >> 2) & 1, (bits >> 3) & 1, (bits >> 4) & 1);
    EXPECT_EQ(ScratchpadFlags::parse(name).name(), name);
  }
  EXPECT_FALSE(ScratchpadFlags::parse("i0_c0_o0_v0_r0").any());
  for (const char* bad : {"full", "i1_c1_o1_v1", "i2_c1_o1_v1_r1", "c1_i1_o1_v1_r1", "",
                          "i1_c1_o1_v1_r1 "}) {
    const auto msg = error_of([&] { ScratchpadFlags::parse(bad); });
    EXPECT_NE(msg.find("i1_c1_o1_v1_r1"), std::string::npos) << bad << ": " << msg;
    EXPECT_NE(msg.find("i0_c1_o1_v0_r0"), std::string::npos) << msg;
  }
}

TEST(ScratchpadFlags, RejectedWhereTheTaskHasNoSuchPart) {
  auto msg = error_of([] { make_task("copy")->generate("cmc_tr20_ts40", small(1, "i1_c1_o1_v1_r1")); });
  EXPECT_NE(msg.find("does not support scratchpads"), std::string::npos) << msg;
  msg = error_of([] { make_task("sort")->generate("len_sngd_tr8_ts16", small(1, "i1_c1_o1_v1_r1")); });
  EXPECT_NE(msg.find("v0"), std::string::npos) << msg;
  msg = error_of([] { make_task("lego")->generate("len_tr8_ts16", small(1, "i0_c0_o0_v1_r0")); });
  EXPECT_NE(msg.find("v0"), std::string::npos) << msg;
}

// Every gold target and scratchpad is judged correct; every corrupted answer wrong; every
// text round-trips through the tokenizer; lengths respect the split.
TEST(Tasks, GoldIsCorrectAndCorruptionIsWrongForEverySetting) {
  for (const auto& ts : all_task_splits()) {
    const auto task = make_task(ts.task);
    std::vector<std::string> settings{""};
    if (task->supports_scratchpad()) settings = scratchpad_settings(ts.task);
    for (const auto& flags : settings) {
      SCOPED_TRACE(ts.task + "/" + ts.split + "/" + (flags.empty() ? "none" : flags));
      const Dataset d = task->generate(ts.split, small(3, flags));
      const auto vocab = lengen::data::Vocabulary::build(lengen::data::dataset_texts(d),
                                                         task->alphabet(ts.split));
      for (const auto* part : {&d.train, &d.validation, &d.test}) {
        ASSERT_FALSE(part->empty());
        for (const auto& e : *part) {
          ASSERT_EQ(e.scratchpad.has_value(), !flags.empty() && ScratchpadFlags::parse(flags).any());
          ASSERT_TRUE(task->is_correct(e, prediction_of(e))) << e.source << " => " << e.target;
          ASSERT_TRUE(task->is_correct(e, e.target));
          ASSERT_FALSE(task->is_correct(e, corrupt(e.target))) << e.target;
          ASSERT_FALSE(task->is_correct(e, ""));
          ASSERT_TRUE(category_matches(ts.task, e)) << e.category << " (length " << e.length << ")";
          for (const auto* text : {&e.source, &e.target}) {
            ASSERT_EQ(vocab.decode(vocab.encode(*text)), normalize_text(*text));
          }
          if (e.scratchpad) {
            ASSERT_EQ(vocab.decode(vocab.encode(*e.scratchpad)), normalize_text(*e.scratchpad));
            ASSERT_FALSE(task->is_correct(e, *e.scratchpad + " " + corrupt(e.target)));
            const auto score = task->score_scratchpad(e, prediction_of(e));
            ASSERT_EQ(score.step_accuracy, 1.0) << *e.scratchpad;
            ASSERT_EQ(score.part_accuracy, 1.0) << *e.scratchpad;
            ASSERT_GT(score.gold_steps, 0);
          }
        }
      }
    }
  }
}

TEST(Tasks, SplitInvariants) {
  for (const auto& ts : all_task_splits()) {
    SCOPED_TRACE(ts.task + "/" + ts.split);
    const auto task = make_task(ts.task);
    const auto& def = dynamic_cast<const LengthSplitTask&>(*task).split_def(ts.split);
    const auto [train_lo, train_hi] = length_range(def.train_bins);
    const auto [test_lo, test_hi] = length_range(def.test_bins);
    ASSERT_GT(test_lo, train_hi);  // ID and OOD lengths never overlap
    const Dataset d = task->generate(ts.split, small(5));
    EXPECT_EQ(d.train.size(), 300u);
    EXPECT_EQ(d.validation.size(), 23u);  // 7.5% of train, rounded
    // int(160 / bins) per test bin in whole groups (LEGO chains), as the upstream builders.
    int64_t want_test = 0;
    std::vector<int64_t> groups;
    for (const auto& b : def.test_bins) groups.push_back(ts.task == "lego" ? b.length / 2 : 1);
    for (int64_t c : upstream_test_counts(160, groups)) want_test += c;
    EXPECT_EQ(static_cast<int64_t>(d.test.size()), want_test);
    std::unordered_set<std::string> train_sources;
    for (const auto* part : {&d.train, &d.validation})
      for (const auto& e : *part) {
        EXPECT_GE(e.length, train_lo);
        EXPECT_LE(e.length, train_hi);
        train_sources.insert(e.source);
      }
    for (const auto& e : d.test) {
      EXPECT_GE(e.length, test_lo);
      EXPECT_LE(e.length, test_hi);
      EXPECT_FALSE(train_sources.count(e.source)) << e.source;
    }
  }
}

TEST(Tasks, SameSeedSameBytesDifferentSeedDifferentData) {
  for (const auto& ts : all_task_splits()) {
    SCOPED_TRACE(ts.task + "/" + ts.split);
    const auto task = make_task(ts.task);
    const auto flags = task->supports_scratchpad() ? scratchpad_settings(ts.task)[1] : "";
    auto bytes = [&](uint64_t seed) {
      const Dataset d = task->generate(ts.split, small(seed, flags));
      return lengen::data::examples_to_jsonl(d.train) + lengen::data::examples_to_jsonl(d.validation) +
             lengen::data::examples_to_jsonl(d.test);
    };
    const auto a = bytes(11);
    EXPECT_EQ(a, bytes(11));
    EXPECT_NE(a, bytes(12));
  }
}

// The real default sizes (SPEC: 100,000 train, 10,000 test spread evenly over the length
// bins, validation = half of 15% extra) for the cheap tasks.
TEST(Tasks, DefaultSizesAndCountsPerLength) {
  struct Case {
    std::string task, split;
    int train_lo, train_hi, test_lo, test_hi;
  };
  for (const Case& c : {Case{"parity", "len_tr8_ts16", 3, 8, 9, 16},
                        Case{"sum", "len_tr8_ts16", 4, 8, 9, 16},
                        Case{"copy", "cmc_tr20_ts40", 2, 20, 21, 40},
                        Case{"copy", "rsc_tr20_ts40", 2, 20, 21, 40}}) {
    SCOPED_TRACE(c.task + "/" + c.split);
    GenerateOptions o;
    o.seed = 7;
    const Dataset d = make_task(c.task)->generate(c.split, o);
    ASSERT_EQ(d.train.size(), 100000u);
    ASSERT_EQ(d.validation.size(), 7500u);
    ASSERT_EQ(d.test.size(), 10000u);
    std::map<int, int64_t> train, valid, test;
    for (const auto& e : d.train) ++train[e.length];
    for (const auto& e : d.validation) ++valid[e.length];
    for (const auto& e : d.test) ++test[e.length];
    const auto want_train = spread_evenly(100000, static_cast<size_t>(c.train_hi - c.train_lo + 1));
    const auto want_valid = spread_evenly(7500, static_cast<size_t>(c.train_hi - c.train_lo + 1));
    const auto want_test = spread_evenly(10000, static_cast<size_t>(c.test_hi - c.test_lo + 1));
    for (int n = c.train_lo; n <= c.train_hi; ++n) {
      EXPECT_EQ(train[n], want_train[static_cast<size_t>(n - c.train_lo)]) << n;
      EXPECT_EQ(valid[n], want_valid[static_cast<size_t>(n - c.train_lo)]) << n;
    }
    for (int n = c.test_lo; n <= c.test_hi; ++n)
      EXPECT_EQ(test[n], want_test[static_cast<size_t>(n - c.test_lo)]) << n;
    if (c.task == "copy") {
      EXPECT_EQ(test[c.test_lo], 500);
    }  // 500 test examples per length
    if (c.split == "rsc_tr20_ts40") {
      // Train and validation never repeat an example of the repeat-one-token variant.
      std::unordered_set<std::string> seen;
      for (const auto* part : {&d.train, &d.validation})
        for (const auto& e : *part) EXPECT_TRUE(seen.insert(e.source).second) << e.source;
    }
  }
}

TEST(Tasks, AdditionBinsAndCounts) {
  GenerateOptions o;
  o.seed = 1;
  o.train_size = 6400;  // 100 per (a, b) digit-count bin
  o.test_size = 1920;   // 10 per test bin: 16*16 - 8*8 = 192 bins
  const Dataset d = make_task("addition")->generate("len_tr8_ts16", o);
  std::map<std::pair<int, int>, int> bins;
  const std::regex re(R"(^Compute ((?:\d )+)\+ ((?:\d )+)\?$)");
  for (const auto* part : {&d.train, &d.test})
    for (const auto& e : *part) {
      std::smatch m;
      ASSERT_TRUE(std::regex_match(e.source, m, re)) << e.source;
      const int a = static_cast<int>(m[1].str().size() / 2), b = static_cast<int>(m[2].str().size() / 2);
      EXPECT_EQ(e.length, std::max(a, b));
      ++bins[{a, b}];
    }
  EXPECT_EQ(bins.size(), 256u);
  for (const auto& [ab, n] : bins) EXPECT_EQ(n, ab.first <= 8 && ab.second <= 8 ? 100 : 10);
}

// Formats of SPEC section 3, one regular expression per task.
TEST(Tasks, FormatsMatchTheSpec) {
  const std::map<std::string, std::pair<std::string, std::string>> formats{
      {"addition/len_tr8_ts16", {R"(Compute (\d )+\+ (\d )+\?)", R"(The answer is \d( \d)*\.)"}},
      {"sum/len_tr8_ts16", {R"(Compute: [1-9]( \+ [1-9])* \.)", R"(The answer is \d \.)"}},
      {"parity/len_tr8_ts16",
       {R"(Is the number of 1's even in the sequence \[ [01](, [01])* \] \?)",
        R"(The answer is (Yes|No)\.)"}},
      {"poly/n_terms_tr8_ts16",
       {R"(Evaluate at x = (- )?[0-2] in (- )?[0-3] \* x \*\* [0-3]( \+ (- )?[0-3] \* x \*\* [0-3])* \?)",
        R"(The answer is \d\.)"}},
      {"sort/len_sngd_tr8_ts16",
       {R"(Sort the following list \[ [0-9a-zA-N](, [0-9a-zA-N])* \]\.)",
        R"(The sorted list is \[ [0-9a-zA-N](, [0-9a-zA-N])* \]\.)"}},
      {"sort/len_mltd_tr8_ts16",
       {R"(Sort the following list \[ [1-9]( \d){1,3}(, [1-9]( \d){1,3})* \]\.)",
        R"(The sorted list is \[ [1-9]( \d){1,3}(, [1-9]( \d){1,3})* \]\.)"}},
      {"lego/len_tr8_ts16",
       {R"(If [a-z] = [-+]1(, [a-z] = [-+] [a-z])*\. Then, what is the value of [a-z]\?)",
        R"(The answer is [-+]1\.)"}},
      {"copy/cmc_tr20_ts40", {R"(Copy: \S+( \S+)*)", R"(\S+( \S+)*)"}},
      {"copy/rdc_tr20_ts40", {R"(Replace (\S+) with (\S+) in \1( \1)*)", R"(\S+( \S+)*)"}},
      {"reverse/mc_tr20_ts40", {R"(Reverse: \S+( \S+)*)", R"(\S+( \S+)*)"}},
  };
  for (const auto& [key, re] : formats) {
    SCOPED_TRACE(key);
    const auto slash = key.find('/');
    const auto task = make_task(key.substr(0, slash));
    const Dataset d = task->generate(key.substr(slash + 1), small(2));
    const std::regex src(re.first), tgt(re.second);
    for (const auto& e : d.train) {
      EXPECT_TRUE(std::regex_match(e.source, src)) << e.source;
      EXPECT_TRUE(std::regex_match(e.target, tgt)) << e.target;
    }
  }
}

// The semantics of the gold answers and scratchpads, checked independently of the generators.
TEST(Tasks, AnswersAndScratchpadsComputeTheRightThing) {
  auto words_of = [](const std::optional<std::vector<std::string>>& w) { return join(*w, " "); };
  // Addition: outputs right to left spell the sum; parity/sum/poly/LEGO: the last step holds
  // the answer; sort: the outputs are the sorted list.
  {
    const Dataset d = make_task("addition")->generate("len_tr8_ts16", small(4, "i1_c1_o1_v1_r1"));
    const std::regex re(R"(Compute ((?:\d ?)+) \+ ((?:\d ?)+) \?)");
    for (const auto& e : d.train) {
      std::smatch m;
      ASSERT_TRUE(std::regex_match(e.source, m, re));
      auto digits = [](std::string s) { s.erase(std::remove(s.begin(), s.end(), ' '), s.end()); return std::stoll(s); };
      const long long sum = digits(m[1]) + digits(m[2]);
      EXPECT_EQ(*parse_number_answer(e.target), std::to_string(sum));
      const auto steps = *parse_scratchpad(*e.scratchpad);
      std::string spelled;
      for (const auto& st : steps) spelled.insert(0, words_of((*st)[2]));
      EXPECT_EQ(std::stoll(spelled), sum) << *e.scratchpad;
      EXPECT_EQ(words_of((*steps.back())[3]), "carry : 0");
    }
  }
  {
    const Dataset d = make_task("parity")->generate("len_tr8_ts16", small(4, "i1_c1_o1_v1_r1"));
    for (const auto& e : d.test) {
      const auto w = split_words(e.source);
      const auto ones = std::count(w.begin(), w.end(), "1");  // "1's" is a word of its own
      EXPECT_EQ(e.target, ones % 2 == 0 ? "The answer is Yes." : "The answer is No.");
      const auto steps = *parse_scratchpad(*e.scratchpad);
      EXPECT_EQ(static_cast<int>(steps.size()), e.length);
      EXPECT_EQ(words_of((*steps.back())[2]), ones % 2 ? "1" : "0");
      EXPECT_EQ(words_of((*steps.back())[4]), "[ ]");
    }
  }
  {
    const Dataset d = make_task("sum")->generate("len_tr8_ts16", small(4, "i1_c1_o1_v1_r1"));
    for (const auto& e : d.test) {
      int total = 0;
      for (const auto& w : split_words(e.source))
        if (std::isdigit(static_cast<unsigned char>(w[0]))) total += std::stoi(w);
      EXPECT_EQ(*parse_number_answer(e.target), std::to_string(total % 10));
      const auto steps = *parse_scratchpad(*e.scratchpad);
      const auto vars = words_of((*steps.back())[3]);
      EXPECT_EQ(vars.substr(vars.size() - 1), std::to_string(total % 10)) << vars;
    }
  }
  {
    const Dataset d = make_task("poly")->generate("n_terms_tr8_ts16", small(4, "i1_c1_o1_v1_r1"));
    for (const auto& e : d.train) {
      const auto steps = *parse_scratchpad(*e.scratchpad);
      EXPECT_EQ(static_cast<int>(steps.size()), e.length);
      const auto vars = split_words(words_of((*steps.back())[3]));
      EXPECT_EQ(vars.back(), *parse_number_answer(e.target));
    }
  }
  for (const char* split : {"len_sngd_tr8_ts16", "len_mltd_tr8_ts16"}) {
    const Dataset d = make_task("sort")->generate(split, small(4, "i1_c1_o1_v0_r1"));
    for (const auto& e : d.train) {
      const auto steps = *parse_scratchpad(*e.scratchpad);
      std::vector<std::string> outs;
      for (const auto& st : steps) outs.push_back(words_of((*st)[2]));
      EXPECT_EQ(outs, *parse_list_answer(e.target));
      // The source list, sorted independently: by alphabet rank or numerically.
      auto sorted = *parse_list_answer("The sorted list is" + e.source.substr(e.source.find(" [")));
      const std::string ranks = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN";
      std::stable_sort(sorted.begin(), sorted.end(), [&](const std::string& a, const std::string& b) {
        if (a.size() == 1 && b.size() == 1) return ranks.find(a) < ranks.find(b);
        return a.size() != b.size() ? a.size() < b.size() : a < b;
      });
      EXPECT_EQ(sorted, outs) << e.source;
    }
  }
  {
    const Dataset d = make_task("lego")->generate("len_tr8_ts16_perm", small(4, "i1_c1_o1_v0_r1"));
    for (const auto& e : d.test) {
      // Resolve the chain from the (shuffled) clauses directly.
      std::map<std::string, std::string> clause;
      const std::regex c(R"(([a-z]) = ([-+]1|[-+] [a-z]))");
      for (auto it = std::sregex_iterator(e.source.begin(), e.source.end(), c); it != std::sregex_iterator(); ++it)
        clause[(*it)[1]] = (*it)[2];
      std::function<int(const std::string&)> value = [&](const std::string& v) {
        const auto& rhs = clause.at(v);
        if (rhs == "+1") return 1;
        if (rhs == "-1") return -1;
        return (rhs[0] == '+' ? 1 : -1) * value(rhs.substr(2));
      };
      const std::string query = e.source.substr(e.source.size() - 2, 1);
      EXPECT_EQ(e.target, value(query) > 0 ? "The answer is +1." : "The answer is -1.");
      const auto steps = *parse_scratchpad(*e.scratchpad);
      EXPECT_EQ(words_of((*steps.back())[0]), query);
      EXPECT_TRUE((*steps.front())[1]->empty());  // the root has no computation
      EXPECT_GE(static_cast<int>(steps.size()), (e.length + 1) / 2);
    }
  }
}

TEST(Checkers, ParseAnswersAsThePaper) {
  const auto add = make_task("addition");
  Example g;
  g.source = "Compute 1 8 7 5 + 2 7 ?";
  g.target = "The answer is 1 9 0 2.";
  EXPECT_TRUE(add->is_correct(g, "The answer is 1 9 0 2."));
  EXPECT_TRUE(add->is_correct(g, "The answer is 1902 ."));  // digits are concatenated
  EXPECT_TRUE(add->is_correct(g, "blah . Thus, The answer is 1 9 0 2."));
  EXPECT_FALSE(add->is_correct(g, "The answer is 1 9 0 2"));  // the final "." is required
  EXPECT_FALSE(add->is_correct(g, "The answer is 1 9 0 3."));
  const auto parity = make_task("parity");
  g.target = "The answer is No.";
  EXPECT_TRUE(parity->is_correct(g, "The answer is no."));  // case-insensitive, as the paper
  EXPECT_FALSE(parity->is_correct(g, "The answer is Yes."));
  const auto sort = make_task("sort");
  g.target = "The sorted list is [ 8 8 1, 2 4 6 8 ].";
  EXPECT_TRUE(sort->is_correct(g, "The sorted list is [ 881, 2 4 6 8 ]."));
  EXPECT_FALSE(sort->is_correct(g, "The sorted list is [ 8 8 1 ]."));
  EXPECT_FALSE(sort->is_correct(g, "The sorted list is [ 2 4 6 8, 8 8 1 ]."));
  g.target = "The sorted list is [ E, F, M ].";
  EXPECT_TRUE(sort->is_correct(g, "The sorted list is [E,F,M]."));
  EXPECT_FALSE(sort->is_correct(g, "The sorted list is [ E, M, F ]."));
  const auto copy = make_task("copy");
  g.target = "a Q 7 [NEXT] a Q 7";
  EXPECT_TRUE(copy->is_correct(g, "a Q 7 [ NEXT ] a Q 7"));
  EXPECT_FALSE(copy->is_correct(g, "a Q 7 [NEXT] a Q"));
}

TEST(Scratchpad, ScorerCountsStepsAndParts) {
  const Dataset d = make_task("parity")->generate("len_tr8_ts16", small(9, "i1_c1_o1_v1_r1"));
  const Example& e = d.test.front();  // >= 9 steps
  const auto steps = *parse_scratchpad(*e.scratchpad);
  const double n = static_cast<double>(steps.size());
  // Break one part (the first step's output) of one step.
  std::string broken = *e.scratchpad;
  const auto out_pos = broken.find(" out ") + 5;
  broken[out_pos] = broken[out_pos] == '0' ? '1' : '0';
  auto s = score_scratchpad(*e.scratchpad, broken + " " + e.target);
  EXPECT_DOUBLE_EQ(s.step_accuracy, (n - 1) / n);
  EXPECT_DOUBLE_EQ(s.part_accuracy, (5 * n - 1) / (5 * n));
  EXPECT_EQ(s.gold_steps, static_cast<int>(n));
  // Drop the last step: that step is wrong.
  std::string shorter = *e.scratchpad;
  shorter = shorter.substr(0, shorter.rfind(" #")) + " . Thus,";
  s = score_scratchpad(*e.scratchpad, shorter);
  EXPECT_DOUBLE_EQ(s.step_accuracy, (n - 1) / n);
  // No scratchpad at all: nothing is right.
  s = score_scratchpad(*e.scratchpad, e.target);
  EXPECT_EQ(s.step_accuracy, 0.0);
  EXPECT_EQ(s.part_accuracy, 0.0);
}

TEST(Scratchpad, RenderedFormat) {
  std::vector<ScratchpadStep> steps{{"7, 8", "7 + 8 + carry = 15 + 0 = 15", "5", {"carry: 1"}, "5 + 6"},
                                    {"q", "", "-1", {}, ""}};
  EXPECT_EQ(render_scratchpad(steps, ScratchpadFlags::parse("i1_c1_o1_v1_r1")),
            "Thinking step by step: in 7, 8 comp 7 + 8 + carry = 15 + 0 = 15 out 5 [ carry: 1 ] re "
            "5 + 6 # in q comp out -1 [ ] re . Thus,");
  EXPECT_EQ(render_scratchpad(steps, ScratchpadFlags::parse("i0_c1_o1_v0_r0")),
            "Thinking step by step: comp 7 + 8 + carry = 15 + 0 = 15 out 5 # comp out -1 . Thus,");
  EXPECT_EQ(final_output("Thinking step by step: comp out 5 . Thus, The answer is 5."),
            "The answer is 5 .");
}
