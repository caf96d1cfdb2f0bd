// Sort (SPEC 3): "Sort the following list [ M, E, F ]." -> "The sorted list is [ E, F, M ]."
// Single-token split: elements from a fixed ordered alphabet of 50 symbols (0-9, a-z, A-N),
// sorted by their rank in that alphabet. Multi-digit split: integers 10..9999 written digit
// by digit, sorted numerically. The length is the number of elements: 4..8 -> 9..16 (builder
// default train_min 4, scripts/dataset_builders/make_sort_dataset.py), plus `_from1`.
#include <algorithm>

#include "tasks/builtin_tasks.h"
#include "tasks/task_util.h"

namespace lengen::tasks {
namespace {

constexpr std::string_view kSymbols = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN";
static_assert(kSymbols.size() == 50);

enum Variant { kSingle = 0, kMulti = 1 };

// Selection sort as the reference narrates it: each step looks at the current front,
// emits the minimum of the unsorted portion and shows what is left unsorted after swapping.
// `keys` order the items; `text` renders one.
std::vector<ScratchpadStep> selection_sort_steps(std::vector<int64_t> keys,
                                                 std::vector<std::string> text) {
  std::vector<ScratchpadStep> steps;
  for (size_t i = 0; i < keys.size(); ++i) {
    const size_t m = static_cast<size_t>(
        std::min_element(keys.begin() + static_cast<long>(i), keys.end()) - keys.begin());
    ScratchpadStep st;
    st.input = text[i];
    st.computation = "The minimum of the unsorted portion";
    st.output = text[m];
    std::swap(keys[i], keys[m]);
    std::swap(text[i], text[m]);
    st.remaining = bracket_list({text.begin() + static_cast<long>(i) + 1, text.end()});
    steps.push_back(std::move(st));
  }
  return steps;
}

class SortTask final : public LengthSplitTask {
 public:
  std::string name() const override { return "sort"; }
  bool supports_scratchpad() const override { return true; }
  std::vector<std::string> alphabet(const std::string& split) const override {
    std::vector<std::string> out;
    const auto& def = split_def(split);
    const std::string_view chars = def.variant == kSingle ? kSymbols : kSymbols.substr(0, 10);
    for (char c : chars) out.emplace_back(1, c);
    return out;
  }

  // The list after "The sorted list is", elements compared as the reference: single tokens
  // as strings, multi-digit elements as integers (digit words concatenated).
  bool is_correct(const Example& gold, const std::string& prediction) const override {
    auto want = parse_list_answer(gold.target);
    auto got = parse_list_answer(final_output(prediction));
    if (!want || !got) return false;
    if (want->size() != got->size()) return false;
    for (size_t i = 0; i < want->size(); ++i) {
      const auto& w = (*want)[i];
      // Gold multi-digit elements always span several digit words (10..9999).
      const bool numeric = w.find(' ') != std::string::npos;
      if (numeric ? as_integer(w) != as_integer((*got)[i]) : w != (*got)[i]) return false;
    }
    return true;
  }

 protected:
  const std::vector<SplitDef>& split_defs() const override {
    static const std::vector<SplitDef> defs = [] {
      auto d = upstream_split_and_from1("len_sngd_tr8_ts16", 4, 8, kSingle, "elements",
                                        " from 50 single-token symbols");
      for (auto& m : upstream_split_and_from1("len_mltd_tr8_ts16", 4, 8, kMulti, "integers",
                                              " 10..9999 written digit by digit"))
        d.push_back(std::move(m));
      return d;
    }();
    return defs;
  }
  bool scratchpad_has_variables() const override { return false; }

  std::vector<Example> sample_bin(Rng& rng, const BinRequest& req) const override {
    std::vector<Example> out;
    const size_t n = static_cast<size_t>(req.bin.length);
    for (int64_t k = 0; k < req.count; ++k) {
      std::vector<int64_t> keys(n);
      std::vector<std::string> text(n);
      for (size_t i = 0; i < n; ++i) {
        if (req.split.variant == kSingle) {
          keys[i] = rng.uniform(0, static_cast<int64_t>(kSymbols.size()) - 1);
          text[i] = std::string(1, kSymbols[static_cast<size_t>(keys[i])]);
        } else {
          keys[i] = rng.uniform(10, 9999);
          text[i] = spaced_digits(keys[i]);
        }
      }
      std::vector<size_t> order(n);
      for (size_t i = 0; i < n; ++i) order[i] = i;
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return keys[a] < keys[b]; });
      std::vector<std::string> sorted;
      for (size_t i : order) sorted.push_back(text[i]);
      std::vector<ScratchpadStep> steps;
      if (req.flags.any()) steps = selection_sort_steps(keys, text);
      out.push_back(make_example("Sort the following list " + bracket_list(text) + ".",
                                 "The sorted list is " + bracket_list(sorted) + ".",
                                 req.bin.length, &steps, req.flags));
    }
    return out;
  }

 private:
  // Digit words concatenated, leading zeros dropped ("0 8 8 1" -> "881"); "" if not a number.
  static std::string as_integer(const std::string& element) {
    std::string digits;
    for (char c : element) {
      if (c == ' ') continue;
      if (c < '0' || c > '9') return "";
      digits.push_back(c);
    }
    if (digits.empty()) return "";
    const size_t nz = digits.find_first_not_of('0');
    return nz == std::string::npos ? "0" : digits.substr(nz);
  }
};

}  // namespace

std::unique_ptr<Task> make_sort_task() { return std::make_unique<SortTask>(); }

}  // namespace lengen::tasks
