// The string-transduction tasks of the Chomsky-hierarchy benchmark (tasks/dcf/ and tasks/cs/ of
// google-deepmind/neural_networks_chomsky_hierarchy), on binary strings as in the paper unless
// said otherwise:
//   reverse_string    s_n .. s_1
//   duplicate_string  s_1 .. s_n s_1 .. s_n
//   odds_first        the symbols at 0-based indices 1, 3, 5, .. then 0, 2, 4, .. (what the
//                     upstream code computes: s[1::2] then s[::2]; its docstring's example
//                     shows the other order)
//   bucket_sort       symbols 0..4 sorted
//   missing_duplicate_string  a bit string twice with one bit replaced by `?` (odd n: a final
//                     `pad`); the missing bit. n = 1 is the single input `1`, output 1, as upstream
#include <algorithm>

#include "tasks/builtin_tasks.h"
#include "tasks/chomsky_common.h"
#include "util/error.h"

namespace lengen::tasks {
namespace {

class BinaryStringTask : public ChomskyTask {
 protected:
  std::vector<std::string> input_words() const override { return {"0", "1"}; }
};

class ReverseString final : public BinaryStringTask {
 public:
  std::string name() const override { return "reverse_string"; }
 protected:
  std::vector<int> output(const std::vector<int>& s) const override { return {s.rbegin(), s.rend()}; }
};

class DuplicateString final : public BinaryStringTask {
 public:
  std::string name() const override { return "duplicate_string"; }
 protected:
  std::vector<int> output(const std::vector<int>& s) const override {
    std::vector<int> out = s;
    out.insert(out.end(), s.begin(), s.end());
    return out;
  }
};

class OddsFirst final : public BinaryStringTask {
 public:
  std::string name() const override { return "odds_first"; }
 protected:
  std::vector<int> output(const std::vector<int>& s) const override {
    std::vector<int> out;
    for (size_t i = 1; i < s.size(); i += 2) out.push_back(s[i]);
    for (size_t i = 0; i < s.size(); i += 2) out.push_back(s[i]);
    return out;
  }
};

class BucketSort final : public ChomskyTask {
 public:
  std::string name() const override { return "bucket_sort"; }
 protected:
  std::vector<std::string> input_words() const override { return {"0", "1", "2", "3", "4"}; }
  std::vector<int> output(const std::vector<int>& s) const override {
    std::vector<int> out = s;
    std::sort(out.begin(), out.end());
    return out;
  }
};

class MissingDuplicateString final : public ChomskyTask {
 public:
  std::string name() const override { return "missing_duplicate_string"; }
 protected:
  static constexpr int kMissing = 2, kPad = 3;
  std::vector<std::string> input_words() const override { return {"0", "1", "?", "pad"}; }
  std::vector<std::string> output_words() const override { return {"0", "1"}; }
  std::vector<int> sample_input(Rng& rng, int n) const override {
    if (n == 1) return {1};
    std::vector<int> s(static_cast<size_t>(n / 2));
    for (int& b : s) b = int(rng.below(2));
    s.insert(s.end(), s.begin(), s.end());
    const size_t missing = size_t(rng.below(s.size()));
    s[missing] = kMissing;
    if (n % 2) s.push_back(kPad);
    return s;
  }
  // The bit at the same place of the other copy (no `?`: the first symbol, the n = 1 case).
  std::vector<int> output(const std::vector<int>& s) const override {
    const size_t copies = s.size() - (!s.empty() && s.back() == kPad), half = copies / 2;
    for (size_t i = 0; i < copies; ++i)
      if (s[i] == kMissing) {
        const int other = s[i < half ? i + half : i - half];
        if (other > 1) fail("missing_duplicate_string: the other copy has no bit at {}", i);
        return {other};
      }
    if (s.empty() || s[0] > 1) fail("missing_duplicate_string: no '?' and no bit");
    return {s[0]};
  }
};

}  // namespace

std::unique_ptr<Task> make_missing_duplicate_string_task() {
  return std::make_unique<MissingDuplicateString>();
}
std::unique_ptr<Task> make_reverse_string_task() { return std::make_unique<ReverseString>(); }
std::unique_ptr<Task> make_duplicate_string_task() { return std::make_unique<DuplicateString>(); }
std::unique_ptr<Task> make_odds_first_task() { return std::make_unique<OddsFirst>(); }
std::unique_ptr<Task> make_bucket_sort_task() { return std::make_unique<BucketSort>(); }

}  // namespace lengen::tasks
