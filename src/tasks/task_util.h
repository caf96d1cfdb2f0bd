// Shared machinery of the synthetic tasks: number/list formatting, answer parsing, and
// LengthSplitTask, the base class that turns "sample k examples of length bin b" into the
// train/validation/test splits of SPEC section 3 (sizes, even spreading over length bins,
// train/test source disjointness, deterministic seeding, shuffling).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <fmt/core.h>

#include "util/rng.h"
#include "tasks/scratchpad.h"
#include "tasks/task.h"

namespace lengen::tasks {

// ---- formatting -------------------------------------------------------------------------
// Digits separated by spaces, the sign as its own word: -12 -> "- 1 2" (the paper's
// number_to_string).
std::string spaced_digits(int64_t value);
std::string join(const std::vector<std::string>& items, std::string_view sep);
// "[ a, b, c ]" ("[ ]" when empty).
std::string bracket_list(const std::vector<std::string>& items);
// Python's % for a positive modulus: the result is never negative.
int64_t floor_mod(int64_t value, int64_t modulus);

// ---- answer parsing (on normalized words) ------------------------------------------------
// Index just past the last occurrence of `phrase` in `words`, or nullopt.
std::optional<size_t> after_last(const std::vector<std::string>& words,
                                 const std::vector<std::string>& phrase);
// "The answer is <-?digits> ." -> canonical integer text ("-12", "0"; leading zeros dropped,
// digit words concatenated as the paper does), or nullopt when the pattern is absent.
std::optional<std::string> parse_number_answer(const std::string& final_output);
// The ten digit words, the alphabet of every numeric task.
const std::vector<std::string>& digit_words();
// The number after "The answer is" in the prediction's final output equals the gold one's.
bool number_answer_matches(const Example& gold, const std::string& prediction);
// "The answer is <words> ." -> the words up to the last ".", lower-cased (parity, LEGO).
std::optional<std::string> parse_word_answer(const std::string& final_output);
// "The sorted list is [ e1, e2 ] ." -> the elements, each its words joined by spaces.
std::optional<std::vector<std::string>> parse_list_answer(const std::string& final_output);

// ---- splits ------------------------------------------------------------------------------
// One length bin. `a`, `b` are extra coordinates for tasks binned on more than the length
// (addition: the two operands' digit counts); 0 elsewhere.
struct Bin {
  int length = 0;
  int a = 0, b = 0;
};

struct SplitDef {
  std::string name;
  std::vector<Bin> train_bins, test_bins;
  int variant = 0;          // task-specific switch (sort kind, LEGO permuted, copy variant)
  std::string description;  // one line for `lengen data list`
  bool lengen_variant = false;  // not an upstream split (e.g. `_from1`): never the default
};

// An upstream split trained on lengths train_lo..train_hi and tested on train_hi+1..2*train_hi
// (the builders' test range), followed by `<name>_from1`, the same split trained from length
// 1 (lengen's earlier default, kept for comparison with runs made on it). `unit` names the
// length ("terms"), `what` adds to the description.
std::vector<SplitDef> upstream_split_and_from1(const std::string& name, int train_lo,
                                               int train_hi, int variant,
                                               const std::string& unit,
                                               const std::string& what = "");

// Bins for every length in [lo, hi].
std::vector<Bin> length_bins(int lo, int hi);
// `total` spread over `bins` as evenly as possible: the first total % bins get one more.
std::vector<int64_t> spread_evenly(int64_t total, size_t bins);
// Test examples per bin as the upstream builders draw them: int(total / bins) per bin, rounded
// down to whole groups of group_sizes[b] (LEGO: the queries of one chain), the remainder
// dropped (addition: 10,000 over 192 pairs -> 52 each, 9,984). A total too small to give
// every bin one group is spread evenly instead, so tiny smoke-test sets stay non-empty.
std::vector<int64_t> upstream_test_counts(int64_t total, const std::vector<int64_t>& group_sizes);
// The builders' generation count per training bin: int(1.15 * train_size / bins), in the same
// double arithmetic as Python (1.15 * 100000 is 114999.99..., so 20 bins give 5749).
int64_t upstream_pool_per_bin(int64_t train_size, size_t bins);

// What one call of sample_bin must produce.
struct BinRequest {
  const SplitDef& split;
  const Bin& bin;
  int64_t count;          // number of examples to return
  bool test;              // drawing for the test split
  // Per-bin pool of the repeat-token copy variants: the builders' per-bin generation count
  // (upstream_pool_per_bin), at least the largest train+validation bin.
  int64_t pool_size;
  const ScratchpadFlags& flags;
};

class LengthSplitTask : public Task {
 public:
  static constexpr int64_t kDefaultTrain = 100000;
  static constexpr int64_t kDefaultTest = 10000;

  std::vector<std::string> splits() const override;
  std::string default_split() const override;
  std::string split_description(const std::string& split) const override;
  Dataset generate(const std::string& split, const GenerateOptions& options) const override;
  ScratchpadScore score_scratchpad(const Example& gold, const std::string& prediction) const override;

  // The split's definition; throws lengen::Error naming the valid splits.
  const SplitDef& split_def(const std::string& split) const;

 protected:
  virtual const std::vector<SplitDef>& split_defs() const = 0;
  // Exactly `req.count` examples of bin `req.bin`, with scratchpads when req.flags.any().
  virtual std::vector<Example> sample_bin(Rng& rng, const BinRequest& req) const = 0;
  // Whether the scratchpad has intermediate variables (sort and LEGO have none).
  virtual bool scratchpad_has_variables() const { return true; }
  // Examples generated as one unit in a bin (LEGO: one per query of a chain); test bins hold
  // whole units, as upstream.
  virtual int64_t group_size(const Bin&) const { return 1; }
  // Sets length/category and renders the scratchpad: the common tail of every sampler.
  static Example make_example(std::string source, std::string target, int length,
                              const std::vector<ScratchpadStep>* steps,
                              const ScratchpadFlags& flags);
};

}  // namespace lengen::tasks
