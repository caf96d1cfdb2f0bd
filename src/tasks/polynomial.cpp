// Polynomial evaluation mod 10 (SPEC 3):
// "Evaluate at x = - 2 in - 2 * x ** 2 + 3 * x ** 0 ?" -> "The answer is 5."
// Coefficients in [-3, 3], degrees in [0, 3], x in [-2, 2]; the answer is the value mod 10
// (non-negative); the length is the number of terms: 4..8 -> 9..16 (builder default train_min
// 4, scripts/dataset_builders/make_poly_dataset.py), plus `_from1`.
#include "tasks/builtin_tasks.h"
#include "tasks/task_util.h"

namespace lengen::tasks {
namespace {

struct Term {
  int64_t coeff = 0, degree = 0;
};

int64_t ipow(int64_t x, int64_t e) {
  int64_t r = 1;
  while (e-- > 0) r *= x;
  return r;
}

std::string term_text(const Term& t) {
  return spaced_digits(t.coeff) + " * x ** " + spaced_digits(t.degree);
}

std::vector<ScratchpadStep> poly_steps(const std::vector<Term>& terms, int64_t x) {
  std::vector<ScratchpadStep> steps;
  int64_t sum = 0;  // running value mod 10
  for (size_t i = 0; i < terms.size(); ++i) {
    const Term& t = terms[i];
    const int64_t power = ipow(x, t.degree), value = t.coeff * power;
    const int64_t next = floor_mod(sum + value, 10);
    std::vector<std::string> rest;
    for (size_t j = i + 1; j < terms.size(); ++j) rest.push_back(term_text(terms[j]));
    ScratchpadStep st;
    st.input = term_text(t);
    st.computation = spaced_digits(t.coeff) + " * " + spaced_digits(x) + " ** " +
                     spaced_digits(t.degree) + " = " + spaced_digits(t.coeff) + " * " +
                     spaced_digits(power);
    st.output = spaced_digits(value);
    st.variables = {"sum: " + spaced_digits(sum) + " + " + st.output + " = " + spaced_digits(next)};
    st.remaining = join(rest, " + ");
    sum = next;
    steps.push_back(std::move(st));
  }
  return steps;
}

class PolyTask final : public LengthSplitTask {
 public:
  std::string name() const override { return "poly"; }
  bool supports_scratchpad() const override { return true; }
  std::vector<std::string> alphabet(const std::string&) const override {
    std::vector<std::string> words = digit_words();
    words.insert(words.end(), {"-", "+", "*", "**", "x", "="});
    return words;
  }
  bool is_correct(const Example& gold, const std::string& prediction) const override {
    return number_answer_matches(gold, prediction);
  }

 protected:
  const std::vector<SplitDef>& split_defs() const override {
    static const std::vector<SplitDef> defs =
        upstream_split_and_from1("n_terms_tr8_ts16", 4, 8, 0, "terms");
    return defs;
  }

  std::vector<Example> sample_bin(Rng& rng, const BinRequest& req) const override {
    std::vector<Example> out;
    for (int64_t k = 0; k < req.count; ++k) {
      std::vector<Term> terms(static_cast<size_t>(req.bin.length));
      for (auto& t : terms) {
        t.coeff = rng.uniform(-3, 3);
        t.degree = rng.uniform(0, 3);
      }
      const int64_t x = rng.uniform(-2, 2);
      int64_t value = 0;
      std::vector<std::string> words;
      for (const auto& t : terms) {
        value += t.coeff * ipow(x, t.degree);
        words.push_back(term_text(t));
      }
      std::vector<ScratchpadStep> steps;
      if (req.flags.any()) steps = poly_steps(terms, x);
      out.push_back(make_example(
          "Evaluate at x = " + spaced_digits(x) + " in " + join(words, " + ") + " ?",
          "The answer is " + spaced_digits(floor_mod(value, 10)) + ".", req.bin.length, &steps,
          req.flags));
    }
    return out;
  }
};

}  // namespace

std::unique_ptr<Task> make_poly_task() { return std::make_unique<PolyTask>(); }

}  // namespace lengen::tasks
