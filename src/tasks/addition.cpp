// Addition (SPEC 3): "Compute 1 8 7 5 + 2 7 ?" -> "The answer is 1 9 0 2."
// Bins are pairs of operand digit counts, category "a-by-b" as upstream; the length is the
// larger count. Training pairs [1..8]^2, test pairs [1..16]^2 with at least one operand of
// 9..16 digits: 52 per pair, 9,984 in all (the runs' categories and counts in
// results/scratch_for_attn.jsonl; the builder's default train_min is 4, the runs used 1). A
// 1-digit operand may be 0, as in the reference.
#include "tasks/builtin_tasks.h"
#include "tasks/task_util.h"

namespace lengen::tasks {
namespace {

int64_t pow10(int e) {
  int64_t p = 1;
  while (e-- > 0) p *= 10;
  return p;
}

int64_t random_with_digits(Rng& rng, int digits) {
  return digits == 1 ? rng.uniform(0, 9) : rng.uniform(pow10(digits - 1), pow10(digits) - 1);
}

// Column-by-column addition, right to left (SPEC 3.1).
std::vector<ScratchpadStep> addition_steps(int64_t a, int64_t b) {
  std::string da = std::to_string(a), db = std::to_string(b);
  const size_t width = std::max(da.size(), db.size());
  da.insert(0, width - da.size(), '0');  // the shorter operand is zero-padded
  db.insert(0, width - db.size(), '0');
  // The remaining prefixes are shown as numbers (leading zeros dropped), as the reference.
  auto prefix = [](const std::string& digits, size_t len) {
    return len == 0 ? std::string() : spaced_digits(std::stoll(digits.substr(0, len)));
  };
  std::vector<ScratchpadStep> steps;
  int carry = 0;
  for (size_t i = width; i-- > 0;) {
    const int x = da[i] - '0', y = db[i] - '0', s = x + y + carry;
    ScratchpadStep st;
    st.input = fmt::format("{}, {}", x, y);
    st.computation = fmt::format("{} + {} + carry = {} + {} = {}", x, y, x + y, carry, s);
    st.output = std::to_string(s % 10);
    carry = s / 10;
    st.variables = {fmt::format("carry: {}", carry)};
    st.remaining = prefix(da, i) + " + " + prefix(db, i);
    steps.push_back(std::move(st));
  }
  if (carry > 0) {  // the leftover carry gets a step of its own
    steps.push_back({"0, 0", fmt::format("0 + 0 + carry = 0 + {} = {}", carry, carry),
                     std::to_string(carry), {"carry: 0"}, "+"});
  }
  return steps;
}

class AdditionTask final : public LengthSplitTask {
 public:
  std::string name() const override { return "addition"; }
  bool supports_scratchpad() const override { return true; }
  std::vector<std::string> alphabet(const std::string&) const override {
    return digit_words();
  }

  bool is_correct(const Example& gold, const std::string& prediction) const override {
    return number_answer_matches(gold, prediction);
  }

 protected:
  const std::vector<SplitDef>& split_defs() const override {
    static const std::vector<SplitDef> defs = [] {
      SplitDef d;
      d.name = "len_tr8_ts16";
      d.description = "operand digit counts in [1..8]^2 -> [1..16]^2 with one of 9..16 (52 per pair)";
      for (int a = 1; a <= 16; ++a)
        for (int b = 1; b <= 16; ++b)
          (a <= 8 && b <= 8 ? d.train_bins : d.test_bins).push_back({std::max(a, b), a, b});
      return std::vector<SplitDef>{d};
    }();
    return defs;
  }

  std::vector<Example> sample_bin(Rng& rng, const BinRequest& req) const override {
    std::vector<Example> out;
    for (int64_t k = 0; k < req.count; ++k) {
      const int64_t a = random_with_digits(rng, req.bin.a);
      const int64_t b = random_with_digits(rng, req.bin.b);
      std::vector<ScratchpadStep> steps;
      if (req.flags.any()) steps = addition_steps(a, b);
      Example e = make_example("Compute " + spaced_digits(a) + " + " + spaced_digits(b) + " ?",
                               "The answer is " + spaced_digits(a + b) + ".", req.bin.length,
                               &steps, req.flags);
      e.category = fmt::format("{}-by-{}", req.bin.a, req.bin.b);
      out.push_back(std::move(e));
    }
    return out;
  }
};

}  // namespace

std::unique_ptr<Task> make_addition_task() { return std::make_unique<AdditionTask>(); }

}  // namespace lengen::tasks
