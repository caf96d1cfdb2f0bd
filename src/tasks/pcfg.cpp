#include "tasks/pcfg.h"

#include <algorithm>
#include <array>
#include <unordered_set>
#include <vector>

#include "util/error.h"

namespace lengen::tasks {

namespace {

using symbolic::Rng;
using Seq = std::vector<std::string_view>;

// Unary functions first, then binary; the order is that of the reference task definition.
// clang-format off
constexpr std::array<std::string_view, 10> kFunctions{
    "copy", "reverse", "shift", "echo", "swap_first_last", "repeat",
    "append", "prepend", "remove_first", "remove_second"};
// clang-format on
constexpr int kUnaryCount = 6;
constexpr int kBinaryCount = 4;

int function_index(std::string_view word) {
  const auto it = std::find(kFunctions.begin(), kFunctions.end(), word);
  return it == kFunctions.end() ? -1 : static_cast<int>(it - kFunctions.begin());
}

// Guards against hostile imported programs: nesting depth (recursion) and result size
// (nested `repeat` doubles it).
constexpr int kMaxDepth = 2000;
constexpr size_t kMaxSymbols = 1u << 20;

// Recursive descent over the words. Prefix notation with fixed arities is unambiguous: a
// string argument is a maximal run of symbols, ended by ',' (closing the first argument of the
// innermost binary function still waiting for its comma) or by the end of the program.
class Evaluator {
 public:
  explicit Evaluator(const std::string& program)
      : program_(program), words_(symbolic::split_words(program)) {}

  Seq run() {
    if (!words_.empty() && function_index(words_[0]) < 0)
      error(0, "a program starts with a function");
    Seq out = expression(0);
    if (pos_ != words_.size()) error(pos_, "unexpected word after the complete program");
    return out;
  }

 private:
  [[noreturn]] void error(size_t i, std::string_view why) const {
    if (i < words_.size())
      fail("PCFG program '{}': {} (word {} '{}')", program_, why, i + 1, words_[i]);
    fail("PCFG program '{}': {} (at the end, after word {})", program_, why, words_.size());
  }

  Seq expression(int depth) {
    if (depth > kMaxDepth) error(pos_, "nested too deeply");
    if (pos_ == words_.size()) error(pos_, "missing argument");
    const std::string_view word = words_[pos_];
    if (word == ",") error(pos_, "missing argument before ','");
    const int f = function_index(word);
    if (f < 0) return string_argument();
    const size_t at = pos_++;
    if (f < kUnaryCount) return apply_unary(f, expression(depth + 1), at);
    Seq first = expression(depth + 1);
    if (pos_ == words_.size() || words_[pos_] != ",")
      error(pos_,
            fmt::format("expected ',' after the first argument of '{}' (word {})", word, at + 1));
    ++pos_;
    Seq second = expression(depth + 1);
    return apply_binary(f, std::move(first), std::move(second), at);
  }

  Seq string_argument() {
    Seq out;
    while (pos_ < words_.size() && words_[pos_] != "," && function_index(words_[pos_]) < 0) {
      if (words_[pos_] == "(" || words_[pos_] == ")")
        error(pos_, "brackets are not supported (use the bracket-free notation)");
      out.push_back(words_[pos_++]);
    }
    return out;
  }

  Seq apply_unary(int f, Seq x, size_t at) const {
    switch (f) {
      case 0:  // copy
        break;
      case 1:  // reverse
        std::reverse(x.begin(), x.end());
        break;
      case 2:  // shift: first element moved to the end
        std::rotate(x.begin(), x.begin() + 1, x.end());
        break;
      case 3:  // echo: the last element repeated
        x.push_back(x.back());
        break;
      case 4:  // swap_first_last; on one symbol the reference code ([-1] + [1:-1] + [0]) doubles it
        if (x.size() == 1)
          x.push_back(x.front());
        else
          std::swap(x.front(), x.back());
        break;
      default:  // repeat: the sequence twice
        check_size(x.size() * 2, at);
        x.insert(x.end(), x.begin(), x.end());
        break;
    }
    return x;
  }

  Seq apply_binary(int f, Seq x, Seq y, size_t at) const {
    switch (f - kUnaryCount) {
      case 0:  // append x y = x y
        check_size(x.size() + y.size(), at);
        x.insert(x.end(), y.begin(), y.end());
        return x;
      case 1:  // prepend x y = y x
        check_size(x.size() + y.size(), at);
        y.insert(y.end(), x.begin(), x.end());
        return y;
      case 2:  // remove_first x y = y
        return y;
      default:  // remove_second x y = x
        return x;
    }
  }

  void check_size(size_t n, size_t at) const {
    if (n > kMaxSymbols) error(at, fmt::format("result longer than {} symbols", kMaxSymbols));
  }

  const std::string& program_;
  std::vector<std::string_view> words_;
  size_t pos_ = 0;
};

std::string join(const Seq& seq) {
  std::string out;
  for (std::string_view w : seq) {
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

// ---- Sampler -------------------------------------------------------------------------------

// Fraction of binary functions among the functions of a program with n functions, measured on
// the public PCFG SET data (pcfgset test+dev and productivity test); beyond 24 functions 0.18.
// Longer programs use fewer binary functions there, which keeps their sources short.
constexpr std::array<int, 24> kBinaryPerMille{140, 290, 420, 420, 450, 440, 430, 430,
                                              390, 370, 350, 320, 310, 290, 280, 270,
                                              260, 260, 240, 250, 230, 230, 240, 200};
double binary_fraction(int n) {
  return n <= static_cast<int>(kBinaryPerMille.size()) ? kBinaryPerMille[n - 1] / 1000.0 : 0.18;
}

// String-argument lengths 2..5 with the relative frequencies of the public data.
constexpr std::array<int, 4> kArgumentLengthWeights{17, 29, 28, 26};
constexpr int kLetters = 26, kNumbers = 20;  // symbols A1 .. Z20

void append_string_argument(std::string& out, Rng& rng) {
  int total = 0;
  for (int w : kArgumentLengthWeights) total += w;
  int pick = static_cast<int>(rng.below(static_cast<uint64_t>(total)));
  int length = 2;
  for (int w : kArgumentLengthWeights) {
    if (pick < w) break;
    pick -= w;
    ++length;
  }
  for (int i = 0; i < length; ++i) {
    if (!out.empty()) out += ' ';
    out += static_cast<char>('A' + rng.below(kLetters));
    out += std::to_string(1 + rng.below(kNumbers));
  }
}

// Writes the subtree starting at shape[i] (arity 2, 1 or 0 = string) and returns the index
// after it.
size_t write_tree(const std::vector<int>& shape, size_t i, std::string& out, Rng& rng) {
  const int arity = shape[i++];
  if (arity == 0) {
    append_string_argument(out, rng);
    return i;
  }
  if (!out.empty()) out += ' ';
  if (arity == 1) {
    out += kFunctions[rng.below(kUnaryCount)];
    return write_tree(shape, i, out, rng);
  }
  out += kFunctions[kUnaryCount + rng.below(kBinaryCount)];
  i = write_tree(shape, i, out, rng);
  out += " ,";
  return write_tree(shape, i, out, rng);
}

// Largest-remainder scaling of per-length counts to a new total.
std::map<int, int64_t> scale_counts(const std::map<int, int64_t>& counts, int64_t total) {
  int64_t sum = 0;
  for (const auto& [n, c] : counts) sum += c;
  if (total == sum) return counts;
  std::map<int, int64_t> out;
  std::vector<std::pair<int64_t, int>> remainders;  // (remainder, length)
  int64_t assigned = 0;
  for (const auto& [n, c] : counts) {
    out[n] = c * total / sum;
    assigned += out[n];
    remainders.emplace_back(c * total % sum, n);
  }
  std::sort(remainders.begin(), remainders.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  for (size_t k = 0; assigned < total; ++k, ++assigned)
    ++out[remainders[k % remainders.size()].second];
  return out;
}

struct SplitSpec {
  std::string name;
  bool solve_prefix;
};
const std::vector<SplitSpec>& pcfg_splits() {
  static const std::vector<SplitSpec> splits{{"md_productivity", true}, {"productivity", false}};
  return splits;
}
// Validation = 10% of the training-length pool, as in the reference builder.
constexpr double kValidationFraction = 0.1;
// Nested `repeat`s make rare targets very long; the public data's longest target has 736
// symbols, so longer samples are redrawn (this affects well under 1% of long programs).
constexpr size_t kMaxTargetSymbols = 736;

class PcfgTask : public Task {
 public:
  std::string name() const override { return "pcfg"; }
  std::string split_description(const std::string& split) const override {
    return split == "md_productivity" ? "1..8 functions -> 9..35 functions, 'Solve:' prefix"
                                      : "1..8 functions -> 9..35 functions";
  }
  std::vector<std::string> splits() const override {
    std::vector<std::string> names;
    for (const auto& s : pcfg_splits()) names.push_back(s.name);
    return names;
  }

  Dataset generate(const std::string& split, const GenerateOptions& options) const override {
    const auto& all = pcfg_splits();
    const auto spec =
        std::find_if(all.begin(), all.end(), [&](auto& s) { return s.name == split; });
    if (spec == all.end())
      fail("task pcfg has no split '{}' (valid: md_productivity, productivity)", split);
    if (options.scratchpad.any()) fail("task pcfg has no scratchpad");
    if (options.train_size < 0 || options.test_size < 0) fail("task pcfg: negative dataset size");

    // train_size counts the train part only: the pool holds train + 1/9 more for validation,
    // so the default 72,909 train examples come from a pool of 81,010.
    const auto& train_counts = pcfg_length_counts(false);
    const auto& test_counts = pcfg_length_counts(true);
    const int64_t pool_size =
        options.train_size > 0 ? options.train_size + options.train_size / 9 : 0;
    const auto pool_plan = pool_size > 0 ? scale_counts(train_counts, pool_size) : train_counts;
    const auto test_plan =
        options.test_size > 0 ? scale_counts(test_counts, options.test_size) : test_counts;

    const std::string prefix = spec->solve_prefix ? std::string(symbolic::kSolvePrefix) : "";
    Rng rng(options.seed);
    std::unordered_set<std::string> seen;  // no program twice in the whole dataset
    auto sample = [&](const std::map<int, int64_t>& plan, std::vector<Example>& out) {
      for (const auto& [n, count] : plan) {
        for (int64_t k = 0; k < count; ++k) {
          std::string program, target;
          for (int attempt = 0;; ++attempt) {
            if (attempt == 1000) fail("task pcfg: cannot find new programs with {} functions", n);
            program = pcfg_sample_program(rng, n);
            if (seen.count(program)) continue;
            target = pcfg_evaluate(program);
            if (symbolic::split_words(target).size() <= kMaxTargetSymbols) break;
          }
          seen.insert(program);
          Example ex;
          ex.target = std::move(target);
          ex.source = prefix + program;
          ex.length = n;
          ex.category = std::to_string(n);
          out.push_back(std::move(ex));
        }
      }
    };
    Dataset data;
    std::vector<Example> pool;
    sample(pool_plan, pool);
    sample(test_plan, data.test);
    symbolic::carve_validation(pool, data.validation, kValidationFraction, rng);
    data.train = std::move(pool);
    rng.shuffle(data.test);
    return data;
  }

  bool is_correct(const Example& gold, const std::string& prediction) const override {
    return symbolic::same_words(gold.target, prediction);
  }
};

}  // namespace

std::string pcfg_evaluate(const std::string& program) { return join(Evaluator(program).run()); }

bool pcfg_is_function(std::string_view word) { return function_index(word) >= 0; }

int pcfg_function_count(std::string_view program) {
  int n = 0;
  for (std::string_view w : symbolic::split_words(program)) n += pcfg_is_function(w);
  return n;
}

std::string pcfg_sample_program(Rng& rng, int functions) {
  if (functions < 1) fail("PCFG programs have at least one function (asked for {})", functions);
  const double p = binary_fraction(functions);
  int binary = 0;
  for (int i = 0; i < functions; ++i) binary += rng.uniform() < p;
  // The prefix arity sequence: `binary` 2s, the other functions 1s, binary + 1 strings (0s).
  std::vector<int> shape(static_cast<size_t>(binary), 2);
  shape.resize(static_cast<size_t>(functions), 1);
  shape.resize(static_cast<size_t>(functions + binary + 1), 0);
  rng.shuffle(shape);
  // Cycle lemma: the sum of (arity - 1) is -1, and exactly one rotation is a valid prefix
  // tree: the one starting right after the first minimum of the prefix sums. A shuffled
  // multiset rotated this way is a uniformly random tree with that many nodes of each arity.
  int sum = 0, best = 1;
  size_t best_at = 0;
  for (size_t i = 0; i < shape.size(); ++i) {
    sum += shape[i] - 1;
    if (sum < best) best = sum, best_at = i;
  }
  std::rotate(shape.begin(), shape.begin() + static_cast<std::ptrdiff_t>(best_at + 1), shape.end());
  std::string out;
  write_tree(shape, 0, out, rng);
  return out;
}

const std::map<int, int64_t>& pcfg_length_counts(bool test) {
  // Test: exact per-length counts of data/pcfgset/productivity/test.src (11,333).
  static const std::map<int, int64_t> test_counts{
      {9, 3232}, {10, 2296}, {11, 1738}, {12, 1175}, {13, 811}, {14, 631}, {15, 411}, {16, 271},
      {17, 225}, {18, 154},  {19, 103},  {20, 68},   {21, 67},  {22, 46},  {23, 34},  {24, 18},
      {25, 28},  {26, 5},    {27, 6},    {28, 5},    {29, 2},   {30, 4},   {32, 2},   {35, 1}};
  // Train: the public productivity/train.src was not available to us (only train.tgt, which
  // gives the total). productivity = pcfgset train + test pooled, so the distribution of 1..8
  // in the public pcfgset test+dev files (225, 1870, 2827, 2745, 1931, 1495, 967, 740 of
  // 14,581), scaled to the 81,010 training programs.
  static const std::map<int, int64_t> train_counts{{1, 1424},  {2, 11835}, {3, 17892}, {4, 17373},
                                                   {5, 12221}, {6, 9462},  {7, 6120},  {8, 4683}};
  return test ? test_counts : train_counts;
}

std::unique_ptr<Task> make_pcfg_task() { return std::make_unique<PcfgTask>(); }

}  // namespace lengen::tasks
