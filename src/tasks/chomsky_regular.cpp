// The regular tasks of the Chomsky-hierarchy benchmark (tasks/regular/ of
// google-deepmind/neural_networks_chomsky_hierarchy): one class from a string that a finite
// automaton reads.
//   even_pairs          bits; 1 when the number of unequal neighbours (01, 10) is odd, else 0
//   parity_check        bits; the number of 1s mod 2
//   cycle_navigation    moves left / stay / right on a cycle of 5 from 0; the final position
//   modular_arithmetic  terms 0..4 joined by + - * (an even length drops one symbol, as
//                       upstream); the value mod 5, * before + and -
#include "tasks/builtin_tasks.h"
#include "tasks/chomsky_common.h"

namespace lengen::tasks {
namespace {

const std::vector<std::string> kBits = {"0", "1"};

class EvenPairs final : public ChomskyTask {
 public:
  std::string name() const override { return "even_pairs"; }
 protected:
  std::vector<std::string> input_words() const override { return kBits; }
  std::vector<int> output(const std::vector<int>& s) const override {
    int unequal = 0;
    for (size_t i = 1; i < s.size(); ++i) unequal += s[i] != s[i - 1];
    return {unequal % 2};
  }
};

class ParityCheck final : public ChomskyTask {
 public:
  std::string name() const override { return "parity_check"; }
 protected:
  std::vector<std::string> input_words() const override { return kBits; }
  std::vector<int> output(const std::vector<int>& s) const override {
    int ones = 0;
    for (int b : s) ones += b;
    return {ones % 2};
  }
};

class CycleNavigation final : public ChomskyTask {
 public:
  std::string name() const override { return "cycle_navigation"; }
 protected:
  std::vector<std::string> input_words() const override { return {"left", "stay", "right"}; }
  std::vector<std::string> output_words() const override { return {"0", "1", "2", "3", "4"}; }
  std::vector<int> output(const std::vector<int>& moves) const override {
    int64_t at = 0;
    for (int m : moves) at += m - 1;  // word index 0, 1, 2 = move -1, 0, +1
    return {int(floor_mod(at, 5))};
  }
};

constexpr int kModulus = 5;
const std::vector<std::string> kArithmeticWords = {"0", "1", "2", "3", "4", "+", "-", "*"};
constexpr int kPlus = 5, kMinus = 6, kTimes = 7;

class ModularArithmetic final : public ChomskyTask {
 public:
  std::string name() const override { return "modular_arithmetic"; }
 protected:
  std::vector<std::string> input_words() const override { return kArithmeticWords; }
  std::vector<std::string> output_words() const override {
    return {kArithmeticWords.begin(), kArithmeticWords.begin() + kModulus};
  }
  std::vector<int> sample_input(Rng& rng, int n) const override {
    const int symbols = n % 2 ? n : n - 1;  // terms and operators alternate: odd length
    std::vector<int> s(size_t(std::max(symbols, 0)));
    for (size_t i = 0; i < s.size(); ++i)
      s[i] = i % 2 ? kPlus + int(rng.below(3)) : int(rng.below(kModulus));
    return s;
  }
  // Sum of products: each + or - closes a product and starts the next with its sign.
  std::vector<int> output(const std::vector<int>& s) const override {
    int64_t total = 0, product = 1, sign = 1;
    for (size_t i = 0; i < s.size(); ++i) {
      if (i % 2 == 0) {
        product = product * s[i] % kModulus;
      } else if (s[i] != kTimes) {
        total += sign * product;
        sign = s[i] == kPlus ? 1 : -1;
        product = 1;
      }
    }
    if (!s.empty()) total += sign * product;
    return {int(floor_mod(total, kModulus))};
  }
};

}  // namespace

std::unique_ptr<Task> make_even_pairs_task() { return std::make_unique<EvenPairs>(); }
std::unique_ptr<Task> make_parity_check_task() { return std::make_unique<ParityCheck>(); }
std::unique_ptr<Task> make_cycle_navigation_task() { return std::make_unique<CycleNavigation>(); }
std::unique_ptr<Task> make_modular_arithmetic_task() { return std::make_unique<ModularArithmetic>(); }

}  // namespace lengen::tasks
