// Deterministic context-free tasks of the Chomsky-hierarchy benchmark (tasks/dcf/ of
// google-deepmind/neural_networks_chomsky_hierarchy; reverse_string is in chomsky_strings.cpp):
//   stack_manipulation          a stack of bits (bottom to top), then pop / push0 / push1
//                               actions (a pop of an empty stack does nothing); the final
//                               stack top to bottom, or `empty`
//   modular_arithmetic_brackets an expression of exactly n symbols over 0..4, + -, brackets,
//                               drawn by the upstream recursion; its value mod 5
//   solve_equation              such an expression of n - 2 symbols with one digit replaced by
//                               x, then `= value`; the digit x stands for
#include "tasks/builtin_tasks.h"
#include "tasks/chomsky_common.h"
#include "util/error.h"

namespace lengen::tasks {
namespace {

class StackManipulation final : public ChomskyTask {
 public:
  std::string name() const override { return "stack_manipulation"; }
 protected:
  static constexpr int kPop = 2, kPush0 = 3, kPush1 = 4;
  std::vector<std::string> input_words() const override {
    return {"0", "1", "pop", "push0", "push1"};
  }
  std::vector<std::string> output_words() const override { return {"0", "1", "empty"}; }
  // Length 1: one stack bit. Else a stack of 1..n-1 bits, then actions.
  std::vector<int> sample_input(Rng& rng, int n) const override {
    std::vector<int> s;
    const int stack = n == 1 ? 1 : int(rng.uniform(1, n - 1));
    for (int i = 0; i < n; ++i) s.push_back(i < stack ? int(rng.below(2)) : kPop + int(rng.below(3)));
    return s;
  }
  // The leading bits are the initial stack; a bit after an action (never generated) pushes it.
  std::vector<int> output(const std::vector<int>& s) const override {
    std::vector<int> stack;
    for (int x : s) {
      if (x == kPop) {
        if (!stack.empty()) stack.pop_back();
      } else {
        stack.push_back(x <= 1 ? x : x - kPush0);
      }
    }
    if (stack.empty()) return {2};
    return {stack.rbegin(), stack.rend()};
  }
};

constexpr int kModulus = 5;
// Words of the bracket expressions: digits 0..4, then these.
constexpr int kPlus = 5, kMinus = 6, kOpen = 7, kClose = 8, kX = 9, kEquals = 10;
const std::vector<std::string> kExpressionWords = {"0", "1", "2", "3", "4", "+",
                                                   "-", "(", ")", "x", "="};
const std::vector<std::string> kDigits = {"0", "1", "2", "3", "4"};

// The upstream recursion for an expression of exactly n >= 1 symbols: d, -d, (d), (-d), or
// (L op R) with |L| uniform in 1..n-4; appends to `out`.
void sample_expression(Rng& rng, int n, std::vector<int>& out) {
  const int d = int(rng.below(kModulus));
  switch (n) {
    case 1: out.push_back(d); return;
    case 2: out.insert(out.end(), {kMinus, d}); return;
    case 3: out.insert(out.end(), {kOpen, d, kClose}); return;
    case 4: out.insert(out.end(), {kOpen, kMinus, d, kClose}); return;
    default: break;
  }
  const int left = int(rng.uniform(1, n - 4));
  out.push_back(kOpen);
  sample_expression(rng, left, out);
  out.push_back(rng.below(2) ? kMinus : kPlus);
  sample_expression(rng, n - left - 3, out);
  out.push_back(kClose);
}

// Recursive descent over that grammar: E = d | x | -E | ( E [op E] ). Throws on other input.
class ExpressionReader {
 public:
  ExpressionReader(const std::vector<int>& s, size_t end, int x) : s_(s), end_(end), x_(x) {}
  int64_t value() {
    const int64_t v = term();
    if (at_ != end_) fail("expression: unexpected '{}' at symbol {}", kExpressionWords[size_t(s_[at_])], at_);
    return v;
  }

 private:
  int next() {
    if (at_ >= end_) fail("expression: ends early");
    return s_[at_++];
  }
  int64_t term() {
    const int t = next();
    if (t < kModulus) return t;
    if (t == kX) return x_;
    if (t == kMinus) return -term();
    if (t != kOpen) fail("expression: unexpected '{}' at symbol {}", kExpressionWords[size_t(t)], at_ - 1);
    int64_t v = term();
    const int op = next();
    if (op == kClose) return v;
    if (op != kPlus && op != kMinus) fail("expression: expected + or - at symbol {}", at_ - 1);
    v += op == kPlus ? term() : -term();
    if (next() != kClose) fail("expression: expected ) at symbol {}", at_ - 1);
    return v;
  }
  const std::vector<int>& s_;
  size_t end_, at_ = 0;
  int x_;
};

class ModularArithmeticBrackets final : public ChomskyTask {
 public:
  std::string name() const override { return "modular_arithmetic_brackets"; }
 protected:
  std::vector<std::string> input_words() const override {
    return {kExpressionWords.begin(), kExpressionWords.begin() + kClose + 1};
  }
  std::vector<std::string> output_words() const override { return kDigits; }
  std::vector<int> sample_input(Rng& rng, int n) const override {
    std::vector<int> s;
    sample_expression(rng, n, s);
    return s;
  }
  std::vector<int> output(const std::vector<int>& s) const override {
    return {int(floor_mod(ExpressionReader(s, s.size(), 0).value(), kModulus))};
  }
};

// Needs n >= 3: an expression of at least one symbol, `=` and the value.
class SolveEquation final : public ChomskyTask {
 public:
  SolveEquation() : ChomskyTask(3) {}
  std::string name() const override { return "solve_equation"; }
 protected:
  std::vector<std::string> input_words() const override { return kExpressionWords; }
  std::vector<std::string> output_words() const override { return kDigits; }
  // Upstream: a uniform position, moved right (cyclically) to the next digit, becomes x.
  std::vector<int> sample_input(Rng& rng, int n) const override {
    std::vector<int> s;
    sample_expression(rng, n - 2, s);
    const int64_t value = floor_mod(ExpressionReader(s, s.size(), 0).value(), kModulus);
    size_t at = size_t(rng.below(s.size()));
    while (s[at] >= kModulus) at = (at + 1) % s.size();
    s[at] = kX;
    s.insert(s.end(), {kEquals, int(value)});
    return s;
  }
  // x enters with coefficient +-1 (no products), so exactly one digit solves it.
  std::vector<int> output(const std::vector<int>& s) const override {
    if (s.size() < 3 || s[s.size() - 2] != kEquals || s.back() >= kModulus)
      fail("solve_equation: expected '<expression> = <digit>'");
    for (int x = 0; x < kModulus; ++x)
      if (floor_mod(ExpressionReader(s, s.size() - 2, x).value(), kModulus) == s.back()) return {x};
    fail("solve_equation: no digit solves the equation");
  }
};

}  // namespace

std::unique_ptr<Task> make_stack_manipulation_task() { return std::make_unique<StackManipulation>(); }
std::unique_ptr<Task> make_modular_arithmetic_brackets_task() {
  return std::make_unique<ModularArithmeticBrackets>();
}
std::unique_ptr<Task> make_solve_equation_task() { return std::make_unique<SolveEquation>(); }

}  // namespace lengen::tasks
