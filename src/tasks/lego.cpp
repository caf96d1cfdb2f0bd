// LEGO (SPEC 3): "If q = -1, t = - q, c = + t. Then, what is the value of c?"
// -> "The answer is +1." A chain of n variables (letters from a random permutation of a-z):
// clause 0 "v = ±1", clause i "v_i = ± v_(i-1)". As in the reference, every chain yields one
// example per query variable in its second half (indices ceil(n/2)..n-1, n/2 of them;
// category "[n, query index]" as upstream). The `_perm` split shuffles the clauses of each
// example. Length = chain length: 4..8 -> 9..16 (the builder's default train_min and the
// categories 4_2..8_7 of the runs in results/len_gen_experiments.csv); test lengths hold whole
// chains, as the builder: 9,984 examples by default.
#include <numeric>

#include "tasks/builtin_tasks.h"
#include "tasks/task_util.h"
#include "util/error.h"

namespace lengen::tasks {
namespace {

const char* value_text(int v) { return v ? "+1" : "-1"; }

struct Chain {
  std::vector<std::string> vars;
  std::vector<int> values;        // 0 = -1, 1 = +1
  std::vector<std::string> clauses;  // in chain order
};

Chain random_chain(Rng& rng, int n) {
  std::vector<std::string> letters;
  for (char c = 'a'; c <= 'z'; ++c) letters.emplace_back(1, c);
  rng.shuffle(letters);
  Chain ch;
  ch.vars.assign(letters.begin(), letters.begin() + n);
  for (int i = 0; i < n; ++i) ch.values.push_back(static_cast<int>(rng.uniform(0, 1)));
  ch.clauses.push_back(ch.vars[0] + " = " + value_text(ch.values[0]));
  for (size_t i = 1; i < ch.vars.size(); ++i)
    ch.clauses.push_back(ch.vars[i] + " = " + (ch.values[i] == ch.values[i - 1] ? "+ " : "- ") +
                         ch.vars[i - 1]);
  return ch;
}

// One step per chain variable up to the query; `order` is the clause order of the source.
std::vector<ScratchpadStep> lego_steps(const Chain& ch, const std::vector<size_t>& order,
                                       size_t query) {
  std::vector<ScratchpadStep> steps;
  std::vector<bool> resolved(ch.vars.size(), false);
  for (size_t i = 0; i <= query; ++i) {
    resolved[i] = true;
    ScratchpadStep st;
    st.input = ch.vars[i];
    if (i > 0) {  // the root's value is given, so its computation is empty
      const char* sign = ch.values[i] == ch.values[i - 1] ? "+" : "-";
      st.computation = fmt::format("{} {} = {} {}", sign, ch.vars[i - 1], sign, value_text(ch.values[i - 1]));
    }
    st.output = value_text(ch.values[i]);
    std::vector<std::string> rest;
    for (size_t c : order)
      if (!resolved[c]) rest.push_back(ch.clauses[c]);
    st.remaining = join(rest, ", ");
    steps.push_back(std::move(st));
  }
  return steps;
}

class LegoTask final : public LengthSplitTask {
 public:
  std::string name() const override { return "lego"; }
  bool supports_scratchpad() const override { return true; }
  std::vector<std::string> alphabet(const std::string&) const override {
    std::vector<std::string> out{"+1", "-1", "+", "-", "="};
    for (char c = 'a'; c <= 'z'; ++c) out.emplace_back(1, c);
    return out;
  }
  bool is_correct(const Example& gold, const std::string& prediction) const override {
    auto want = parse_word_answer(gold.target);
    return want && parse_word_answer(final_output(prediction)) == want;
  }

 protected:
  const std::vector<SplitDef>& split_defs() const override {
    static const std::vector<SplitDef> defs{
        {"len_tr8_ts16", length_bins(4, 8), length_bins(9, 16), 0, "chains of 4..8 -> 9..16"},
        {"len_tr8_ts16_perm", length_bins(4, 8), length_bins(9, 16), 1,
         "chains of 4..8 -> 9..16, clauses shuffled"}};
    return defs;
  }
  bool scratchpad_has_variables() const override { return false; }
  int64_t group_size(const Bin& bin) const override { return bin.length / 2; }

  std::vector<Example> sample_bin(Rng& rng, const BinRequest& req) const override {
    const int n = req.bin.length;
    if (n < 2) fail("internal: lego chains need at least 2 variables, got {}", n);
    const size_t first_query = static_cast<size_t>((n + 1) / 2);
    std::vector<Example> out;
    while (static_cast<int64_t>(out.size()) < req.count) {
      const Chain ch = random_chain(rng, n);
      for (size_t q = first_query; q < ch.vars.size() && static_cast<int64_t>(out.size()) < req.count; ++q) {
        std::vector<size_t> order(ch.vars.size());
        std::iota(order.begin(), order.end(), size_t{0});
        if (req.split.variant == 1) rng.shuffle(order);
        std::vector<std::string> clauses;
        for (size_t c : order) clauses.push_back(ch.clauses[c]);
        std::vector<ScratchpadStep> steps;
        if (req.flags.any()) steps = lego_steps(ch, order, q);
        Example e = make_example(
            "If " + join(clauses, ", ") + ". Then, what is the value of " + ch.vars[q] + "?",
            std::string("The answer is ") + value_text(ch.values[q]) + ".", n, &steps, req.flags);
        e.category = fmt::format("[{}, {}]", n, q);
        out.push_back(std::move(e));
      }
    }
    return out;
  }
};

}  // namespace

std::unique_ptr<Task> make_lego_task() { return std::make_unique<LegoTask>(); }

}  // namespace lengen::tasks
