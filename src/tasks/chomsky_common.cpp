#include "tasks/chomsky_common.h"

#include <algorithm>

#include "data/tokenizer.h"
#include "util/error.h"

namespace lengen::tasks {
namespace {

std::string render(const std::vector<int>& ids, const std::vector<std::string>& words) {
  std::vector<std::string> w;
  for (int i : ids) w.push_back(words[size_t(i)]);
  return join(w, " ");
}

}  // namespace

std::vector<std::string> ChomskyTask::alphabet(const std::string&) const {
  std::vector<std::string> words = input_words();
  for (const auto& w : output_words())
    if (std::find(words.begin(), words.end(), w) == words.end()) words.push_back(w);
  return words;
}

bool ChomskyTask::is_correct(const Example& gold, const std::string& prediction) const {
  return data::normalize_text(prediction) == data::normalize_text(gold.target);
}

// The papers' protocol (the default), and the test range of the repository's
// experiments/example.py (max_range_test_length 100), quick to evaluate on a CPU.
ChomskyTask::ChomskyTask(int min_length)
    : defs_{{"len_tr40_ts500", length_bins(min_length, 40), length_bins(41, 500), 0,
             fmt::format("{}..40 -> 41..500 symbols (the papers' protocol)", min_length)},
            {"len_tr40_ts100", length_bins(min_length, 40), length_bins(41, 100), 0,
             fmt::format("{}..40 -> 41..100 symbols (the upstream example script's test range)",
                         min_length),
             true}} {}

const std::vector<SplitDef>& ChomskyTask::split_defs() const { return defs_; }

std::string ChomskyTask::target_of(const std::string& source) const {
  const std::vector<std::string> in = input_words();
  std::vector<int> ids;
  for (const auto& w : data::split_words(source)) {
    const auto it = std::find(in.begin(), in.end(), w);
    if (it == in.end())
      fail("{}: '{}' is not an input symbol (symbols: {})", name(), w, join(in, " "));
    ids.push_back(int(it - in.begin()));
  }
  return render(output(ids), output_words());
}

std::vector<int> ChomskyTask::sample_input(Rng& rng, int n) const {
  const int k = int(input_words().size());
  std::vector<int> s(static_cast<size_t>(n));
  for (int& x : s) x = int(rng.below(uint64_t(k)));
  return s;
}

std::vector<Example> ChomskyTask::sample_bin(Rng& rng, const BinRequest& req) const {
  const std::vector<std::string> in = input_words(), out = output_words();
  std::vector<Example> examples;
  for (int64_t k = 0; k < req.count; ++k) {
    const std::vector<int> input = sample_input(rng, req.bin.length);
    examples.push_back(make_example(render(input, in), render(output(input), out),
                                    req.bin.length, nullptr, req.flags));
  }
  return examples;
}

}  // namespace lengen::tasks
