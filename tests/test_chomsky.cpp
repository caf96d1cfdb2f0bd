// The Chomsky-hierarchy tasks (src/tasks/chomsky_*.cpp): hand-made examples of each task's
// output, the upstream docstrings' examples among them, edge cases (one symbol, no symbol),
// the split protocol, and generated targets that follow the definitions.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include "data/tokenizer.h"
#include "file_test_support.h"
#include "tasks/chomsky_common.h"
#include "tasks/task.h"

namespace lengen::tasks {
namespace {

const ChomskyTask& chomsky(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Task>> made;
  auto& t = made[name];
  if (!t) t = make_task(name);
  return dynamic_cast<const ChomskyTask&>(*t);
}

struct Case {
  std::string task, source, target;
};

TEST(Chomsky, HandMadeExamples) {
  const Case cases[] = {
      // even pairs: class 1 when the unequal neighbours (01, 10) are odd in number
      {"even_pairs", "0 0 1 1 1 0", "0"},  // one 01 and one 10
      {"even_pairs", "0 1 0 1 0 0 1", "1"},  // 01 01 01 and 10 10: five
      {"even_pairs", "1", "0"},
      {"even_pairs", "", "0"},
      // parity check: the number of 1s mod 2
      {"parity_check", "1 0 1 0 1 0 0", "1"},
      {"parity_check", "0 1 1 1 1", "0"},
      {"parity_check", "1", "1"},
      {"parity_check", "", "0"},
      // cycle navigation on 5 states from 0
      {"cycle_navigation", "right left stay left left", "3"},  // -2 mod 5
      {"cycle_navigation", "right right right left", "2"},
      {"cycle_navigation", "left", "4"},
      {"cycle_navigation", "right right right right right", "0"},
      // modular arithmetic mod 5, * before + and -
      {"modular_arithmetic", "1 + 2 * 3", "2"},
      {"modular_arithmetic", "1 - 1 - 1", "4"},
      {"modular_arithmetic", "0 * 1 + 4 * 3 - 2", "0"},
      {"modular_arithmetic", "2 - 3 * 4", "0"},  // -10
      {"modular_arithmetic", "4 * 4 * 4 - 1 * 2", "2"},  // 62
      {"modular_arithmetic", "3", "3"},
      // string tasks
      {"reverse_string", "0 1 1 0 1 0", "0 1 0 1 1 0"},
      {"reverse_string", "1", "1"},
      {"duplicate_string", "1 0 1", "1 0 1 1 0 1"},
      {"duplicate_string", "0", "0 0"},
      {"odds_first", "0 0 1 1 0 1 0 1", "0 1 1 1 0 1 0 0"},  // s[1::2] then s[::2]
      {"odds_first", "1 1 0", "1 1 0"},
      {"odds_first", "1", "1"},
      {"bucket_sort", "1 0 2 0 4 1 1 2", "0 0 1 1 1 2 2 4"},
      {"bucket_sort", "4", "4"},
      {"missing_duplicate_string", "0 1 1 0 0 ? 1 0", "1"},  // upstream's 01100210
      {"missing_duplicate_string", "1 0 1 1 ? 1 pad", "0"},  // upstream's 1011213
      {"missing_duplicate_string", "? 1 0 1", "0"},
      {"missing_duplicate_string", "1", "1"},
      // the stack is given bottom to top and returned top to bottom
      {"stack_manipulation", "0 1 1 0 push1 pop pop", "1 1 0"},
      {"stack_manipulation", "1 1 0 pop pop pop", "empty"},
      {"stack_manipulation", "0 pop pop push1 push0", "0 1"},  // a pop of an empty stack
      {"stack_manipulation", "1", "1"},
      {"modular_arithmetic_brackets", "( ( 1 + 2 ) - ( - 4 ) )", "2"},  // 7
      {"modular_arithmetic_brackets", "- 3", "2"},
      {"modular_arithmetic_brackets", "( - 1 )", "4"},
      {"modular_arithmetic_brackets", "( 4 )", "4"},
      {"modular_arithmetic_brackets", "3", "3"},
      {"solve_equation", "( x + 2 ) = 1", "4"},
      {"solve_equation", "( 1 - x ) = 3", "3"},  // 1 - 3 = -2
      {"solve_equation", "( - ( x ) - ( 2 + 4 ) ) = 0", "4"},  // -4 - 6 = -10
      {"solve_equation", "x = 3", "3"},
      // little-endian binary: upstream's 001 + 01101 = 4 + 22 = 26, 1001 + 000001 = 9 + 32 = 41
      {"binary_addition", "0 0 1 + 0 1 1 0 1", "0 1 0 1 1"},
      {"binary_addition", "1 0 0 1 + 0 0 0 0 0 1", "1 0 0 1 0 1"},
      {"binary_addition", "1 + 1", "0 1"},
      {"binary_multiplication", "1 1 * 1 1", "1 0 0 1"},  // 3 * 3 = 9
      {"binary_multiplication", "0 1 * 0 0 1", "0 0 0 1"},  // 2 * 4 = 8
      {"binary_multiplication", "1 * 1", "1"},
      // big-endian: 100101 = 37 -> 6 = 110 (3 bits); 111 = 7 -> 2 = 10
      {"compute_sqrt", "1 0 0 1 0 1", "1 1 0"},
      {"compute_sqrt", "1 1 1", "1 0"},
      {"compute_sqrt", "1", "1"},
      {"compute_sqrt", "0 1 0 0", "1 0"},  // 4 -> 2
      // the repository's extra tasks; upstream docstrings: 000100 -> 001000, 00001 -> 00100,
      // 010000 -> 010000 (the one-hot p becomes ceil(p / 2))
      {"divide_by_two", "0 0 0 1 0 0", "0 0 1 0 0 0"},
      {"divide_by_two", "0 0 0 0 1", "0 0 1 0 0"},
      {"divide_by_two", "0 1 0 0 0 0", "0 1 0 0 0 0"},
      {"divide_by_two", "1 0 0", "1 0 0"},
      {"divide_by_two", "1", "1"},
      // upstream: 01000 -> 0 (l = m), 0001100 -> 1 (m = r), 011110 -> 2 (l = r),
      // 000111000 -> 0 (l = m = r)
      {"equal_repeats", "0 1 0 0 0", "0"},
      {"equal_repeats", "0 0 0 1 1 0 0", "1"},
      {"equal_repeats", "0 1 1 1 1 0", "2"},
      {"equal_repeats", "0 0 0 1 1 1 0 0 0", "0"},
      {"equal_repeats", "0 1", "0"},
      {"equal_repeats", "1 0", "1"},
      {"equal_repeats", "0 0", "2"},  // 0^1 1^0 0^1
      // upstream: 01102110 -> 0, 2111 -> 1
      {"missing_palindrome", "0 1 1 0 ? 1 1 0", "0"},
      {"missing_palindrome", "? 1 1 1", "1"},
      {"missing_palindrome", "1 0 ? 0 1 0 1", "1"},
      {"missing_palindrome", "? 0", "0"},
  };
  for (const Case& c : cases)
    EXPECT_EQ(chomsky(c.task).target_of(c.source), c.target) << c.task << ": " << c.source;
}

TEST(Chomsky, GeneratedExamplesFollowTheDefinitionsAndTheProtocol) {
  GenerateOptions o;
  o.seed = 4, o.train_size = 400, o.test_size = 460;
  for (const char* name : {"even_pairs", "parity_check", "cycle_navigation", "modular_arithmetic",
                           "reverse_string", "duplicate_string", "odds_first", "bucket_sort",
                           "missing_duplicate_string", "stack_manipulation",
                           "modular_arithmetic_brackets", "solve_equation", "binary_addition",
                           "binary_multiplication", "compute_sqrt", "divide_by_two",
                           "equal_repeats", "missing_palindrome"}) {
    SCOPED_TRACE(name);
    const ChomskyTask& t = chomsky(name);
    EXPECT_EQ(t.default_split(), "len_tr40_ts500");
    const Dataset d = t.generate("len_tr40_ts500", o);
    std::set<int> train_lengths, test_lengths;
    for (const auto* part : {&d.train, &d.test})
      for (const Example& e : *part) {
        ASSERT_EQ(t.target_of(e.source), e.target) << e.source;
        // the input has n symbols (modular arithmetic: n rounded down to odd)
        const size_t symbols = data::split_words(e.source).size();
        const int n = e.length;
        ASSERT_EQ(symbols, size_t(std::string(name) == "modular_arithmetic" && n % 2 == 0 ? n - 1 : n));
        (part == &d.train ? train_lengths : test_lengths).insert(n);
      }
    // solve_equation: x, =, the value; the binary operations: a, the operator, b
    const std::string task = name;
    const int shortest =
        task == "solve_equation" || task == "binary_addition" || task == "binary_multiplication" ? 3
        : task == "equal_repeats" || task == "missing_palindrome"                                ? 2
                                                                                                 : 1;
    EXPECT_EQ(*train_lengths.begin(), shortest);
    EXPECT_EQ(*train_lengths.rbegin(), 40);
    EXPECT_EQ(int(train_lengths.size()), 41 - shortest);
    EXPECT_EQ(*test_lengths.begin(), 41);
    EXPECT_EQ(*test_lengths.rbegin(), 500);
    EXPECT_EQ(test_lengths.size(), 460u);  // one example per test length
  }
}

// Numbers of hundreds of bits (the test lengths reach 500): against 64-bit arithmetic on the
// low words and identities that hold at any size.
TEST(Chomsky, BinaryArithmeticIsExactAtHundredsOfBits) {
  std::string a;  // 2^300 - 1 little-endian: 300 ones
  for (int i = 0; i < 300; ++i) a += i ? " 1" : "1";
  // (2^300 - 1) + 1 = 2^300: 300 zeros and a one
  std::string want;
  for (int i = 0; i < 300; ++i) want += "0 ";
  EXPECT_EQ(chomsky("binary_addition").target_of(a + " + 1"), want + "1");
  // (2^300 - 1)^2 = 2^600 - 2^301 + 1: bit 0, bits 301..599 set
  std::string square = "1";
  for (int i = 1; i < 600; ++i) square += i >= 301 ? " 1" : " 0";
  EXPECT_EQ(chomsky("binary_multiplication").target_of(a + " * " + a), square);
  // sqrt of 2^600 - 1 (600 ones, big-endian) is 2^300 - 1: 300 ones
  std::string all_ones = a + " " + a;
  EXPECT_EQ(chomsky("compute_sqrt").target_of(all_ones), a);
}

TEST(Chomsky, UnknownSymbolsAndMalformedInputsAreErrors) {
  const std::string e = testing::error_of([] { chomsky("parity_check").target_of("0 1 2"); });
  EXPECT_NE(e.find("'2'"), std::string::npos) << e;
  EXPECT_NE(e.find("parity_check"), std::string::npos) << e;
  for (const char* bad : {"( 1 +", "( 1 + 2", "1 2", ")", ""})
    EXPECT_NE(testing::error_of([&] { chomsky("modular_arithmetic_brackets").target_of(bad); }), "") << bad;
  for (const char* bad : {"x", "( x + 1 )", "x = x"})
    EXPECT_NE(testing::error_of([&] { chomsky("solve_equation").target_of(bad); }), "") << bad;
  for (const char* bad : {"1 0 1", "1 + 1 + 1"})
    EXPECT_NE(testing::error_of([&] { chomsky("binary_addition").target_of(bad); }), "") << bad;
  for (const char* bad : {"0 0", "1 1", ""})  // not one-hot
    EXPECT_NE(testing::error_of([&] { chomsky("divide_by_two").target_of(bad); }), "") << bad;
  for (const char* bad : {"1 0 1", "0 1 1 0 0 0 0"})  // not 0^l 1^m 0^r; no two runs equal
    EXPECT_NE(testing::error_of([&] { chomsky("equal_repeats").target_of(bad); }), "") << bad;
  for (const char* bad : {"1 ? 1", "0 1 1 0", "? ?"})  // the middle; no '?'; two
    EXPECT_NE(testing::error_of([&] { chomsky("missing_palindrome").target_of(bad); }), "") << bad;
}

// The generators: each equal_repeats case a third, palindromes around the '?', and the hidden
// position uniform over the answerable places.
TEST(Chomsky, ExtraTasksSampleAsUpstream) {
  GenerateOptions o;
  o.seed = 9, o.train_size = 3000, o.test_size = 460;
  std::map<std::string, int> classes;
  for (const Example& e : chomsky("equal_repeats").generate("len_tr40_ts500", o).train)
    ++classes[e.target];
  for (const char* c : {"0", "1", "2"}) EXPECT_NEAR(classes[c], 1000, 120) << c;
  int hidden_first_half = 0, odd = 0;
  for (const Example& e : chomsky("missing_palindrome").generate("len_tr40_ts500", o).train) {
    auto w = data::split_words(e.source);
    const size_t q = size_t(std::find(w.begin(), w.end(), "?") - w.begin());
    ASSERT_LT(q, w.size());
    w[q] = e.target;
    ASSERT_TRUE(std::equal(w.begin(), w.end(), w.rbegin())) << e.source;
    hidden_first_half += q < w.size() / 2;
    odd += w.size() % 2;
  }
  EXPECT_GT(odd, 1000);
  EXPECT_NEAR(hidden_first_half, 1500, 150);
  // divide_by_two's per-token accuracy scores the answer's 1 and the symbol before it
  const Example gold = chomsky("divide_by_two").generate("len_tr40_ts500", o).test.back();
  const auto scored = chomsky("divide_by_two").scored_target_positions(gold);
  ASSERT_EQ(scored.size(), 2u);
  EXPECT_EQ(data::split_words(gold.target)[scored[1]], "1");
  EXPECT_EQ(scored[0] + 1, scored[1]);
}

}  // namespace
}  // namespace lengen::tasks
