// Parity (SPEC 3): "Is the number of 1's even in the sequence [ 1, 0, 1, 1 ] ?"
// -> "The answer is No." The length is the number of bits: 3..8 -> 9..16 (builder default
// train_min 3, scripts/dataset_builders/make_parity_dataset.py).
#include "tasks/builtin_tasks.h"
#include "tasks/task_util.h"

namespace lengen::tasks {
namespace {

std::vector<ScratchpadStep> parity_steps(const std::vector<int>& bits) {
  std::vector<ScratchpadStep> steps;
  int par = 0;
  for (size_t i = 0; i < bits.size(); ++i) {
    const int b = bits[i];
    std::vector<std::string> rest;
    for (size_t j = i + 1; j < bits.size(); ++j) rest.push_back(std::to_string(bits[j]));
    ScratchpadStep st;
    st.input = std::to_string(b);
    st.computation = fmt::format("{} ** par = {} ** {}", b, b, par);
    par ^= b;
    st.output = std::to_string(par);
    st.variables = {fmt::format("par: {}", par)};
    st.remaining = bracket_list(rest);
    steps.push_back(std::move(st));
  }
  return steps;
}

class ParityTask final : public LengthSplitTask {
 public:
  std::string name() const override { return "parity"; }
  bool supports_scratchpad() const override { return true; }
  std::vector<std::string> alphabet(const std::string&) const override {
    return {"0", "1", "Yes", "No"};
  }
  // The word after "The answer is", case-insensitive, as the reference.
  bool is_correct(const Example& gold, const std::string& prediction) const override {
    auto want = parse_word_answer(gold.target);
    return want && parse_word_answer(final_output(prediction)) == want;
  }

 protected:
  const std::vector<SplitDef>& split_defs() const override {
    static const std::vector<SplitDef> defs{
        {"len_tr8_ts16", length_bins(3, 8), length_bins(9, 16), 0, "3..8 -> 9..16 bits"}};
    return defs;
  }

  std::vector<Example> sample_bin(Rng& rng, const BinRequest& req) const override {
    std::vector<Example> out;
    for (int64_t k = 0; k < req.count; ++k) {
      std::vector<int> bits(static_cast<size_t>(req.bin.length));
      std::vector<std::string> words;
      int ones = 0;
      for (auto& b : bits) {
        b = static_cast<int>(rng.uniform(0, 1));
        ones += b;
        words.push_back(std::to_string(b));
      }
      std::vector<ScratchpadStep> steps;
      if (req.flags.any()) steps = parity_steps(bits);
      out.push_back(make_example(
          "Is the number of 1's even in the sequence " + bracket_list(words) + " ?",
          std::string("The answer is ") + (ones % 2 == 0 ? "Yes" : "No") + ".", req.bin.length,
          &steps, req.flags));
    }
    return out;
  }
};

}  // namespace

std::unique_ptr<Task> make_parity_task() { return std::make_unique<ParityTask>(); }

}  // namespace lengen::tasks
