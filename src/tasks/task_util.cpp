#include "tasks/task_util.h"

#include "tasks/scratchpad.h"

#include <algorithm>
#include <cctype>

#include "data/tokenizer.h"
#include "util/error.h"

namespace lengen::tasks {

std::string spaced_digits(int64_t value) {
  if (value < 0) return "- " + spaced_digits(-value);
  const std::string digits = std::to_string(value);
  std::string out;
  for (char c : digits) {
    if (!out.empty()) out.push_back(' ');
    out.push_back(c);
  }
  return out;
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += sep;
    out += items[i];
  }
  return out;
}

std::string bracket_list(const std::vector<std::string>& items) {
  return items.empty() ? "[ ]" : "[ " + join(items, ", ") + " ]";
}

int64_t floor_mod(int64_t value, int64_t modulus) {
  const int64_t r = value % modulus;
  return r < 0 ? r + modulus : r;
}

std::optional<size_t> after_last(const std::vector<std::string>& words,
                                 const std::vector<std::string>& phrase) {
  if (words.size() < phrase.size()) return std::nullopt;
  for (size_t i = words.size() - phrase.size() + 1; i-- > 0;)
    if (std::equal(phrase.begin(), phrase.end(), words.begin() + static_cast<long>(i)))
      return i + phrase.size();
  return std::nullopt;
}

static const std::vector<std::string> kAnswerIs{"The", "answer", "is"};

static bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

std::optional<std::string> parse_number_answer(const std::string& final_output) {
  const auto w = data::split_words(final_output);
  auto start = after_last(w, kAnswerIs);
  if (!start) return std::nullopt;
  size_t i = *start;
  bool negative = false;
  if (i < w.size() && w[i] == "-") negative = true, ++i;
  std::string digits;
  while (i < w.size() && all_digits(w[i])) digits += w[i++];
  if (digits.empty() || i >= w.size() || w[i] != ".") return std::nullopt;
  const size_t nz = digits.find_first_not_of('0');
  digits = nz == std::string::npos ? "0" : digits.substr(nz);
  return (negative && digits != "0" ? "-" : "") + digits;
}

std::optional<std::string> parse_word_answer(const std::string& final_output) {
  const auto w = data::split_words(final_output);
  auto start = after_last(w, kAnswerIs);
  if (!start) return std::nullopt;
  auto dot = std::find(w.rbegin(), w.rend(), ".");
  if (dot == w.rend()) return std::nullopt;
  const size_t end = static_cast<size_t>(w.rend() - dot) - 1;
  if (end <= *start) return std::nullopt;
  std::string out;
  for (size_t i = *start; i < end; ++i) {
    if (!out.empty()) out.push_back(' ');
    for (unsigned char c : w[i]) out.push_back(static_cast<char>(std::tolower(c)));
  }
  return out;
}

std::optional<std::vector<std::string>> parse_list_answer(const std::string& final_output) {
  const auto w = data::split_words(final_output);
  auto start = after_last(w, {"The", "sorted", "list", "is", "["});
  if (!start) return std::nullopt;
  auto close = std::find(w.rbegin(), w.rend(), "]");
  if (close == w.rend()) return std::nullopt;
  const size_t end = static_cast<size_t>(w.rend() - close) - 1;
  if (end < *start) return std::nullopt;
  std::vector<std::string> items{""};
  for (size_t i = *start; i < end; ++i) {
    if (w[i] == ",") {
      items.emplace_back();
    } else {
      if (!items.back().empty()) items.back().push_back(' ');
      items.back() += w[i];
    }
  }
  return items;
}

std::vector<Bin> length_bins(int lo, int hi) {
  std::vector<Bin> bins;
  for (int n = lo; n <= hi; ++n) bins.push_back({n, 0, 0});
  return bins;
}

std::vector<int64_t> spread_evenly(int64_t total, size_t bins) {
  std::vector<int64_t> out(bins, 0);
  if (bins == 0) return out;
  const auto n = static_cast<int64_t>(bins);
  for (size_t i = 0; i < bins; ++i)
    out[i] = total / n + (static_cast<int64_t>(i) < total % n ? 1 : 0);
  return out;
}

std::vector<int64_t> upstream_test_counts(int64_t total, const std::vector<int64_t>& group_sizes) {
  const auto bins = static_cast<int64_t>(group_sizes.size());
  if (bins == 0) return {};
  const int64_t per_bin = total / bins;
  std::vector<int64_t> out;
  for (int64_t g : group_sizes) {
    if (per_bin < g) return spread_evenly(total, group_sizes.size());
    out.push_back(per_bin / g * g);
  }
  return out;
}

int64_t upstream_pool_per_bin(int64_t train_size, size_t bins) {
  if (bins == 0) return 0;
  return static_cast<int64_t>(1.15 * static_cast<double>(train_size) / static_cast<double>(bins));
}

std::vector<SplitDef> upstream_split_and_from1(const std::string& name, int train_lo,
                                               int train_hi, int variant,
                                               const std::string& unit,
                                               const std::string& what) {
  auto def = [&](const std::string& n, int lo, const std::string& note) {
    SplitDef d{n, length_bins(lo, train_hi), length_bins(train_hi + 1, 2 * train_hi), variant,
               fmt::format("{}..{} -> {}..{} {}{}{}", lo, train_hi, train_hi + 1, 2 * train_hi,
                           unit, what, note)};
    return d;
  };
  SplitDef from1 = def(name + "_from1", 1, " (lengen variant: training from 1)");
  from1.lengen_variant = true;
  return {def(name, train_lo, ""), from1};
}

std::string LengthSplitTask::default_split() const {
  std::vector<std::string> upstream;
  for (const auto& s : split_defs())
    if (!s.lengen_variant) upstream.push_back(s.name);
  return upstream.size() == 1 ? upstream.front() : std::string();
}

std::vector<std::string> LengthSplitTask::splits() const {
  std::vector<std::string> names;
  for (const auto& s : split_defs()) names.push_back(s.name);
  return names;
}

const SplitDef& LengthSplitTask::split_def(const std::string& split) const {
  for (const auto& s : split_defs())
    if (s.name == split) return s;
  fail("unknown split '{}' for task {}; valid splits: {}", split, name(), join(splits(), ", "));
}

std::string LengthSplitTask::split_description(const std::string& split) const {
  return split_def(split).description;
}

Example LengthSplitTask::make_example(std::string source, std::string target, int length,
                                      const std::vector<ScratchpadStep>* steps,
                                      const ScratchpadFlags& flags) {
  Example e;
  e.source = std::move(source);
  e.target = std::move(target);
  e.length = length;
  e.category = std::to_string(length);
  if (steps && flags.any()) e.scratchpad = render_scratchpad(*steps, flags);
  return e;
}

Dataset LengthSplitTask::generate(const std::string& split, const GenerateOptions& options) const {
  const SplitDef& def = split_def(split);
  const ScratchpadFlags& flags = options.scratchpad;
  if (flags.any() && !supports_scratchpad())
    fail("task {} does not support scratchpads (got --scratchpad {}); the scratchpad tasks are "
         "addition, sum, parity, poly, sort and lego",
         name(), flags.name());
  if (flags.variables && !scratchpad_has_variables())
    fail("task {} has no intermediate variables in its scratchpad: use v0 (e.g. i1_c1_o1_v0_r1 "
         "for full), got {}",
         name(), flags.name());
  if (options.train_size < 0 || options.test_size < 0)
    fail("dataset sizes must be non-negative (train {}, test {})", options.train_size,
         options.test_size);

  const int64_t n_train = options.train_size ? options.train_size : kDefaultTrain;
  const int64_t n_test = options.test_size ? options.test_size : kDefaultTest;
  // SPEC: validation = 15% extra generated with train, half of it used -> 7.5% of train.
  const int64_t n_valid = (n_train * 75 + 500) / 1000;

  // Independent streams, so that e.g. the test set does not change with the train size.
  Rng root(options.seed);
  Rng train_rng = root.fork(), test_rng = root.fork(), shuffle_rng = root.fork();

  Dataset out;
  const auto train_q = spread_evenly(n_train, def.train_bins.size());
  const auto valid_q = spread_evenly(n_valid, def.train_bins.size());
  const int64_t pool_size =
      def.train_bins.empty() ? 0
                             : std::max(upstream_pool_per_bin(n_train, def.train_bins.size()),
                                        train_q.front() + valid_q.front());
  for (size_t b = 0; b < def.train_bins.size(); ++b) {
    Rng rng = train_rng.fork();
    BinRequest req{def, def.train_bins[b], train_q[b] + valid_q[b], false, pool_size, flags};
    auto ex = sample_bin(rng, req);
    if (static_cast<int64_t>(ex.size()) != req.count)
      fail("internal: task {} produced {} examples for a bin of {}", name(), ex.size(), req.count);
    // Within a bin, the first examples go to train and the rest to validation.
    auto mid = ex.begin() + train_q[b];
    out.train.insert(out.train.end(), std::make_move_iterator(ex.begin()), std::make_move_iterator(mid));
    out.validation.insert(out.validation.end(), std::make_move_iterator(mid), std::make_move_iterator(ex.end()));
  }

  // No test source may occur in train or validation (ID and OOD lengths differ for every
  // built-in split, so this only guards custom bins; we redraw rather than drop so that the
  // per-length counts stay exact).
  std::unordered_set<std::string> seen;
  for (const auto* s : {&out.train, &out.validation})
    for (const auto& e : *s) seen.insert(e.source);
  std::vector<int64_t> groups;
  for (const auto& bin : def.test_bins) groups.push_back(group_size(bin));
  const auto test_q = upstream_test_counts(n_test, groups);
  for (size_t b = 0; b < def.test_bins.size(); ++b) {
    Rng rng = test_rng.fork();
    std::vector<Example> kept;
    for (int attempt = 0; static_cast<int64_t>(kept.size()) < test_q[b]; ++attempt) {
      if (attempt == 100)
        fail("task {} split {}: cannot draw {} test examples of length {} that are absent from "
             "training",
             name(), split, test_q[b], def.test_bins[b].length);
      BinRequest req{def, def.test_bins[b], test_q[b] - static_cast<int64_t>(kept.size()), true,
                     pool_size, flags};
      for (auto& e : sample_bin(rng, req))
        if (!seen.count(e.source)) kept.push_back(std::move(e));
    }
    out.test.insert(out.test.end(), std::make_move_iterator(kept.begin()), std::make_move_iterator(kept.end()));
  }

  shuffle_rng.shuffle(out.train);
  shuffle_rng.shuffle(out.validation);
  shuffle_rng.shuffle(out.test);
  return out;
}

ScratchpadScore LengthSplitTask::score_scratchpad(const Example& gold,
                                                  const std::string& prediction) const {
  if (!gold.scratchpad) return {};
  return tasks::score_scratchpad(*gold.scratchpad, prediction);
}

const std::vector<std::string>& digit_words() {
  static const std::vector<std::string> digits{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  return digits;
}

bool number_answer_matches(const Example& gold, const std::string& prediction) {
  const auto want = parse_number_answer(gold.target);
  return want && parse_number_answer(final_output(prediction)) == want;
}

}  // namespace lengen::tasks
