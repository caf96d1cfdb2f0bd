// The string-transduction tasks of the Chomsky-hierarchy benchmark (tasks/dcf/ and tasks/cs/ of
// google-deepmind/neural_networks_chomsky_hierarchy), on binary strings as in the paper unless
// said otherwise:
//   reverse_string    s_n .. s_1
//   duplicate_string  s_1 .. s_n s_1 .. s_n
//   odds_first        the symbols at 0-based indices 1, 3, 5, .. then 0, 2, 4, .. (what the
//                     upstream code computes: s[1::2] then s[::2]; its docstring's example
//                     shows the other order)
//   bucket_sort       symbols 0..4 sorted
#include <algorithm>

#include "tasks/builtin_tasks.h"
#include "tasks/chomsky_common.h"

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

}  // namespace

std::unique_ptr<Task> make_reverse_string_task() { return std::make_unique<ReverseString>(); }
std::unique_ptr<Task> make_duplicate_string_task() { return std::make_unique<DuplicateString>(); }
std::unique_ptr<Task> make_odds_first_task() { return std::make_unique<OddsFirst>(); }
std::unique_ptr<Task> make_bucket_sort_task() { return std::make_unique<BucketSort>(); }

}  // namespace lengen::tasks
