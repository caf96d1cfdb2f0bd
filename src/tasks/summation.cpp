// Summation mod 10 (SPEC 3): "Compute: 3 + 9 + 4 ." -> "The answer is 6 ."
// Terms are uniform in 1..9; the length is the number of terms: 4..8 -> 9..16 (builder
// default train_min 4, scripts/dataset_builders/make_sum_dataset.py), plus `_from1`.
#include "tasks/builtin_tasks.h"
#include "tasks/task_util.h"

namespace lengen::tasks {
namespace {

std::vector<ScratchpadStep> sum_steps(const std::vector<int64_t>& terms) {
  std::vector<ScratchpadStep> steps;
  int64_t sum = 0;  // running sum mod 10
  for (size_t i = 0; i < terms.size(); ++i) {
    const int64_t n = terms[i], total = n + sum;
    std::vector<std::string> rest;
    for (size_t j = i + 1; j < terms.size(); ++j) rest.push_back(spaced_digits(terms[j]));
    ScratchpadStep st;
    st.input = spaced_digits(n);
    st.computation = spaced_digits(n) + " + sum = " + spaced_digits(n) + " + " + spaced_digits(sum) + " =";
    st.output = spaced_digits(total);
    st.variables = {"sum: " + spaced_digits(total) + " = " + spaced_digits(total % 10)};
    st.remaining = join(rest, " + ");
    sum = total % 10;
    steps.push_back(std::move(st));
  }
  return steps;
}

class SumTask final : public LengthSplitTask {
 public:
  std::string name() const override { return "sum"; }
  bool supports_scratchpad() const override { return true; }
  std::vector<std::string> alphabet(const std::string&) const override {
    return digit_words();
  }
  bool is_correct(const Example& gold, const std::string& prediction) const override {
    return number_answer_matches(gold, prediction);
  }

 protected:
  const std::vector<SplitDef>& split_defs() const override {
    static const std::vector<SplitDef> defs =
        upstream_split_and_from1("len_tr8_ts16", 4, 8, 0, "terms");
    return defs;
  }

  std::vector<Example> sample_bin(Rng& rng, const BinRequest& req) const override {
    std::vector<Example> out;
    for (int64_t k = 0; k < req.count; ++k) {
      std::vector<int64_t> terms(static_cast<size_t>(req.bin.length));
      std::vector<std::string> words;
      int64_t total = 0;
      for (auto& t : terms) {
        t = rng.uniform(1, 9);
        total += t;
        words.push_back(spaced_digits(t));
      }
      std::vector<ScratchpadStep> steps;
      if (req.flags.any()) steps = sum_steps(terms);
      out.push_back(make_example("Compute: " + join(words, " + ") + " .",
                                 "The answer is " + spaced_digits(total % 10) + " .",
                                 req.bin.length, &steps, req.flags));
    }
    return out;
  }
};

}  // namespace

std::unique_ptr<Task> make_sum_task() { return std::make_unique<SumTask>(); }

}  // namespace lengen::tasks
