// The extra tasks of the Chomsky-hierarchy repository outside the paper's 15
// (divide_by_two.py, equal_repeats.py, missing_palindrome.py of
// google-deepmind/neural_networks_chomsky_hierarchy's tasks/), on binary strings:
//   divide_by_two       a one-hot number 0^p 1 0^(n-p-1); the one-hot ceil(p / 2), n symbols.
//                       Per-token accuracy scores the 1 and the symbol before it, as upstream's
//                       accuracy_mask (an all-0 answer would otherwise score ~100%)
//   equal_repeats       0^l 1^m 0^r with l = m, m = r or l = r (each case a third of the
//                       examples); class 0 when l = m (also l = m = r), 1 when m = r, 2 when l = r
//   missing_palindrome  a bit palindrome with one symbol replaced by `?`; the missing bit
#include "data/tokenizer.h"
#include "tasks/builtin_tasks.h"
#include "tasks/chomsky_common.h"
#include "util/error.h"

namespace lengen::tasks {
namespace {

const std::vector<std::string> kBits = {"0", "1"};

int one_hot_index(const std::vector<int>& s, const char* task) {
  int at = -1;
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] == 1) {
      if (at >= 0) fail("{}: more than one 1 in a one-hot input", task);
      at = int(i);
    }
  if (at < 0) fail("{}: no 1 in a one-hot input", task);
  return at;
}

class DivideByTwo final : public ChomskyTask {
 public:
  std::string name() const override { return "divide_by_two"; }
  std::vector<size_t> scored_target_positions(const Example& gold) const override {
    const auto words = data::split_words(gold.target);
    for (size_t i = 0; i < words.size(); ++i)
      if (words[i] == "1") return i ? std::vector<size_t>{i - 1, i} : std::vector<size_t>{i};
    return {};
  }
 protected:
  std::vector<std::string> input_words() const override { return kBits; }
  std::vector<int> sample_input(Rng& rng, int n) const override {
    std::vector<int> s(static_cast<size_t>(n), 0);
    s[size_t(rng.below(uint64_t(n)))] = 1;
    return s;
  }
  std::vector<int> output(const std::vector<int>& s) const override {
    const int p = one_hot_index(s, "divide_by_two");
    std::vector<int> out(s.size(), 0);
    out[size_t((p + 1) / 2)] = 1;
    return out;
  }
};

class EqualRepeats final : public ChomskyTask {
 public:
  EqualRepeats() : ChomskyTask(2) {}  // n = 1 fits no case: upstream labels "0" 0, 1 or 2
  std::string name() const override { return "equal_repeats"; }
 protected:
  std::vector<std::string> input_words() const override { return kBits; }
  std::vector<std::string> output_words() const override { return {"0", "1", "2"}; }
  // As upstream: l = m: 0^k 1^k 0^(n-2k); m = r: its mirror; l = r: 0^z 1^(n-2z) 0^z, with
  // k, z uniform in 1..n/2.
  std::vector<int> sample_input(Rng& rng, int n) const override {
    const int kase = int(rng.below(3));
    const int k = 1 + int(rng.below(uint64_t(n / 2)));
    std::vector<int> s(static_cast<size_t>(n), 0);
    for (int i = 0; i < n; ++i) {
      if (kase == 0) s[size_t(i)] = i >= k && i < 2 * k;
      if (kase == 1) s[size_t(i)] = i >= n - 2 * k && i < n - k;
      if (kase == 2) s[size_t(i)] = i >= k && i < n - k;
    }
    return s;
  }
  // The class of 0^l 1^m 0^r; no 1 at all is the l = r case with m = 0 (only it makes one).
  std::vector<int> output(const std::vector<int>& s) const override {
    size_t l = 0;
    while (l < s.size() && s[l] == 0) ++l;
    size_t m = 0;
    while (l + m < s.size() && s[l + m] == 1) ++m;
    const size_t r = s.size() - l - m;
    for (size_t i = l + m; i < s.size(); ++i)
      if (s[i] != 0) fail("equal_repeats: the input is not of the form 0^l 1^m 0^r");
    if (m == 0) return {2};
    if (l == m) return {0};
    if (m == r) return {1};
    if (l == r) return {2};
    fail("equal_repeats: 0^{} 1^{} 0^{} has no two equal runs", l, m, r);
  }
};

class MissingPalindrome final : public ChomskyTask {
 public:
  // n = 1 has only the middle symbol, which nothing determines (see sample_input).
  MissingPalindrome() : ChomskyTask(2) {}
  std::string name() const override { return "missing_palindrome"; }
 protected:
  static constexpr int kMissing = 2;
  std::vector<std::string> input_words() const override { return {"0", "1", "?"}; }
  std::vector<std::string> output_words() const override { return kBits; }
  // Upstream hides a uniform position; when it is the middle of an odd palindrome the answer is
  // a coin flip no input determines. lengen hides a uniform position other than that middle,
  // so every example has one answer (a difference of at most 1/n of the examples).
  std::vector<int> sample_input(Rng& rng, int n) const override {
    std::vector<int> s(static_cast<size_t>(n));
    for (int i = 0; i < (n + 1) / 2; ++i) s[size_t(i)] = s[size_t(n - 1 - i)] = int(rng.below(2));
    int hide = int(rng.below(uint64_t(n % 2 ? n - 1 : n)));
    if (n % 2 && hide >= n / 2) ++hide;  // skip the middle
    s[size_t(hide)] = kMissing;
    return s;
  }
  std::vector<int> output(const std::vector<int>& s) const override {
    for (size_t i = 0; i < s.size(); ++i)
      if (s[i] == kMissing) {
        const size_t mirror = s.size() - 1 - i;
        if (mirror == i) fail("missing_palindrome: the middle symbol is missing: no answer");
        if (s[mirror] == kMissing) fail("missing_palindrome: more than one '?'");
        return {s[mirror]};
      }
    fail("missing_palindrome: no '?' in the input");
  }
};

}  // namespace

std::unique_ptr<Task> make_divide_by_two_task() { return std::make_unique<DivideByTwo>(); }
std::unique_ptr<Task> make_equal_repeats_task() { return std::make_unique<EqualRepeats>(); }
std::unique_ptr<Task> make_missing_palindrome_task() { return std::make_unique<MissingPalindrome>(); }

}  // namespace lengen::tasks
