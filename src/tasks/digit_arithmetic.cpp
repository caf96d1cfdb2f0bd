// Digit-level arithmetic in the formats of the length-generalization records after the two
// papers: `add` (a + b) and `mul` (a * b with b a single digit 2..9), operands written most
// significant digit first, the answer zero-padded to a length fixed by the operands
// (max(digits) + 1), optionally
//   _rev   reversed answer: least significant digit first (the order a carry flows);
//   _hint  index hints (Zhou et al. 2024): every digit preceded by a hint word h<k> naming its
//          significance; in training the hints start at a random offset of a pool of 64, so
//          every hint word is trained, at test they start at h1.
// Every example carries per-token position ids: each digit's significance within its number
// (1 = least significant), a hint the id of its digit, other words 0. Position coupling uses
// them as positions, Abacus as its digit-significance stream (src/pipeline/position_schemes.h).
// Because the answer length is fixed by the operands, so are the answer's ids: decoding can
// give each generated token its id without looking at the gold answer's digits.
//   source "3 4 5 + 6 7"  ->  target "0 4 1 2" (plain) / "2 1 4 0" (_rev)
//   ids     3 2 1 0 2 1             4 3 2 1               1 2 3 4
// Splits len_tr10_ts40[_rev][_hint]: operand digit counts [1..10]^2 (mul: [1..10] x 1) in
// training, equal counts 11..40 in test; the length is the larger digit count. add's
// grid_tr10_ts40 tests every pair of digit counts in [1..40]^2 with one above 10, category
// "a-by-b", for the 2-D accuracy grid (the Abacus paper's heat map; `lengen report`).
#include <algorithm>

#include "tasks/builtin_tasks.h"
#include "tasks/task_util.h"
#include "util/error.h"

namespace lengen::tasks {
namespace {

constexpr int kHintPool = 64;
enum Variant { kReversed = 1, kHints = 2, kGrid = 4 };

// A number as digits, most significant first.
using Digits = std::vector<int>;

Digits random_digits(Rng& rng, int n) {
  Digits d(n);
  for (int i = 0; i < n; ++i) d[i] = int(rng.uniform(i == 0 && n > 1 ? 1 : 0, 9));
  return d;
}

// a + b or a * b (b one digit), as `width` digits, most significant first (zero-padded).
Digits compute(const Digits& a, const Digits& b, bool multiply, int width) {
  Digits out(width, 0);
  int carry = 0;
  for (int k = 0; k < width; ++k) {  // k = significance - 1
    const int x = k < int(a.size()) ? a[a.size() - 1 - k] : 0;
    const int y = k < int(b.size()) ? b[b.size() - 1 - k] : 0;
    const int v = multiply ? x * b.back() + carry : x + y + carry;
    out[width - 1 - k] = v % 10;
    carry = v / 10;
  }
  if (carry) fail("internal: {} digits do not hold the result", width);
  return out;
}

// Appends the words and ids of a number written in the given order, with optional hints
// h<offset + significance>.
void append_number(const Digits& msb_first, bool reversed, int hint_offset, bool hints,
                   std::vector<std::string>& words, std::vector<int>& ids) {
  const int n = int(msb_first.size());
  for (int i = 0; i < n; ++i) {
    const int idx = reversed ? n - 1 - i : i;
    const int significance = n - idx;
    if (hints) {
      words.push_back("h" + std::to_string(hint_offset + significance));
      ids.push_back(significance);
    }
    words.push_back(std::to_string(msb_first[idx]));
    ids.push_back(significance);
  }
}

class DigitArithmeticTask final : public LengthSplitTask {
 public:
  explicit DigitArithmeticTask(bool multiply) : multiply_(multiply) {}
  std::string name() const override { return multiply_ ? "mul" : "add"; }
  std::vector<std::string> alphabet(const std::string& split) const override {
    std::vector<std::string> words = digit_words();
    words.push_back(multiply_ ? "*" : "+");
    if (split_def(split).variant & kHints)
      for (int k = 1; k <= kHintPool; ++k) words.push_back("h" + std::to_string(k));
    return words;
  }
  // The whole answer, exactly (leading or trailing padding zeros included).
  bool is_correct(const Example& gold, const std::string& prediction) const override {
    return data_words(prediction) == data_words(gold.target);
  }

 protected:
  const std::vector<SplitDef>& split_defs() const override {
    static const std::vector<SplitDef> add_defs = make_defs(false), mul_defs = make_defs(true);
    return multiply_ ? mul_defs : add_defs;
  }

  std::vector<Example> sample_bin(Rng& rng, const BinRequest& req) const override {
    const bool reversed = req.split.variant & kReversed, hints = req.split.variant & kHints;
    std::vector<Example> out;
    for (int64_t k = 0; k < req.count; ++k) {
      const Digits a = random_digits(rng, req.bin.a);
      const Digits b = multiply_ ? Digits{int(rng.uniform(2, 9))} : random_digits(rng, req.bin.b);
      const int width = std::max(req.bin.a, req.bin.b) + 1;
      // Training hints start anywhere in the pool that leaves room for the answer.
      const int offset = hints && !req.test ? int(rng.uniform(0, kHintPool - width)) : 0;
      std::vector<std::string> src, tgt;
      std::vector<int> ids;
      append_number(a, false, offset, hints, src, ids);
      src.push_back(multiply_ ? "*" : "+");
      ids.push_back(0);
      append_number(b, false, offset, hints, src, ids);
      append_number(compute(a, b, multiply_, width), reversed, offset, hints, tgt, ids);
      Example e = make_example(join(src, " "), join(tgt, " "), req.bin.length, nullptr, req.flags);
      e.position_ids = std::move(ids);
      if (req.split.variant & kGrid) e.category = fmt::format("{}-by-{}", req.bin.a, req.bin.b);
      out.push_back(std::move(e));
    }
    return out;
  }

 private:
  static std::vector<std::string> data_words(const std::string& text) {
    std::vector<std::string> words;
    size_t i = 0;
    while (i < text.size()) {
      const size_t j = text.find(' ', i);
      const size_t end = j == std::string::npos ? text.size() : j;
      if (end > i) words.push_back(text.substr(i, end - i));
      i = end + 1;
    }
    return words;
  }
  static std::vector<SplitDef> make_defs(bool multiply) {
    std::vector<SplitDef> defs;
    for (int variant = 0; variant < 4; ++variant) {
      SplitDef d;
      d.variant = variant;
      d.name = std::string("len_tr10_ts40") + (variant & kReversed ? "_rev" : "") +
               (variant & kHints ? "_hint" : "");
      d.description = std::string(multiply ? "a * b, a of" : "a + b, operands of") +
                      " 1..10 digits -> 11..40" + (variant & kReversed ? ", reversed answer" : "") +
                      (variant & kHints ? ", index hints" : "");
      for (int a = 1; a <= 10; ++a)
        for (int b = 1; b <= (multiply ? 1 : 10); ++b) d.train_bins.push_back({std::max(a, b), a, b});
      for (int n = 11; n <= 40; ++n) d.test_bins.push_back({n, n, multiply ? 1 : n});
      defs.push_back(std::move(d));
    }
    if (!multiply) {  // the Abacus paper's 2-D evaluation: every pair of operand lengths
      SplitDef g;
      g.name = "grid_tr10_ts40";
      g.variant = kGrid;
      g.description = "a + b, operands of 1..10 digits -> every (a, b) in 1..40 digits with one "
                      "above 10 (category a-by-b: the accuracy grid)";
      for (int a = 1; a <= 10; ++a)
        for (int b = 1; b <= 10; ++b) g.train_bins.push_back({std::max(a, b), a, b});
      for (int a = 1; a <= 40; ++a)
        for (int b = 1; b <= 40; ++b)
          if (std::max(a, b) > 10) g.test_bins.push_back({std::max(a, b), a, b});
      defs.push_back(std::move(g));
    }
    return defs;
  }
  bool multiply_;
};

}  // namespace

std::unique_ptr<Task> make_add_task() { return std::make_unique<DigitArithmeticTask>(false); }
std::unique_ptr<Task> make_mul_task() { return std::make_unique<DigitArithmeticTask>(true); }

}  // namespace lengen::tasks
