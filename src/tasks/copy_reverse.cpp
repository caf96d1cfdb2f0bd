// Copy and reverse (SPEC 3), one class with a variant table. Lengths 2..20 -> 21..40 source
// tokens (the upstream runs' validation categories are 2..20: results/sanity_check.jsonl), 500
// test examples per length by default (10,000 over 20 lengths).
//   copy:    rsc   "Copy: a a a" -> "a a a"          (one token repeated n times)
//            rsc2x "Copy: a a a" -> "a a a a a a"    (target twice as long)
//            rdc   "Replace 6 with x in 6 6 6" -> "x x x"
//            cmc   "Copy: a Q 7" -> "a Q 7"          (n tokens from 100 symbols)
//            cmc2x "Copy: a Q 7" -> "a Q 7 [NEXT] a Q 7"
//   reverse: mc    "Reverse: a Q 7" -> "7 Q a"
//            mc2x  -> "7 Q a [NEXT] 7 Q a";  mcrv -> "7 Q a [NEXT] a Q 7"
// Symbols: 0-9 a-z A-Z, then 16 punctuation-free signs, then two- and three-character
// alphanumeric strings; the first 100 form the multi-token alphabet. The repeat variants
// (rsc, rsc2x, rdc) draw, per length, distinct symbols (rdc: distinct ordered symbol pairs)
// from the builder's per-length pool (int(1.15 * train / bins) symbols; rdc: all ordered pairs
// of the k symbols with k(k-1) <= that, 78 at the default size), as the reference does with
// the T5 vocabulary, so train and validation never repeat an example; test lengths draw from
// the same pool.
#include <algorithm>

#include "data/tokenizer.h"
#include "tasks/builtin_tasks.h"
#include "tasks/task_util.h"

namespace lengen::tasks {
namespace {

constexpr std::string_view kAlnum = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
constexpr std::string_view kSigns = "$%&*+-/<=>@#^~_|";  // none is split off by the tokenizer
constexpr size_t kMultiAlphabet = 100;

std::string symbol(size_t i) {
  const size_t a = kAlnum.size();
  if (i < a) return std::string(1, kAlnum[i]);
  i -= a;
  if (i < kSigns.size()) return std::string(1, kSigns[i]);
  i -= kSigns.size();
  if (i < a * a) return {kAlnum[i / a], kAlnum[i % a]};
  i -= a * a;
  return {kAlnum[(i / (a * a)) % a], kAlnum[(i / a) % a], kAlnum[i % a]};
}

enum class Kind { kRsc, kRsc2x, kRdc, kCmc, kCmc2x, kMc, kMc2x, kMcrv };

struct Variant {
  const char* prefix;
  Kind kind;
};

std::string repeat(const std::string& tok, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += (i ? " " : "") + tok;
  return out;
}

// `count` distinct indices from [0, pool) in random order (repeating only if count > pool).
std::vector<size_t> distinct_draw(Rng& rng, size_t pool, int64_t count) {
  std::vector<size_t> idx(pool);
  for (size_t i = 0; i < pool; ++i) idx[i] = i;
  rng.shuffle(idx);
  std::vector<size_t> out;
  for (int64_t k = 0; k < count; ++k) out.push_back(idx[static_cast<size_t>(k) % pool]);
  return out;
}

class CopyReverseTask final : public LengthSplitTask {
 public:
  CopyReverseTask(std::string name, std::vector<Variant> variants)
      : name_(std::move(name)), variants_(std::move(variants)) {
    for (size_t v = 0; v < variants_.size(); ++v)
      defs_.push_back({std::string(variants_[v].prefix) + "_tr20_ts40", length_bins(2, 20),
                       length_bins(21, 40), static_cast<int>(v), describe(variants_[v].kind)});
  }

  std::string name() const override { return name_; }
  std::vector<std::string> alphabet(const std::string& split) const override {
    split_def(split);  // validates the name
    std::vector<std::string> out{"[", "NEXT", "]"};
    for (size_t i = 0; i < kMultiAlphabet; ++i) out.push_back(symbol(i));
    return out;
  }
  // The whole target string, compared on normalized words.
  bool is_correct(const Example& gold, const std::string& prediction) const override {
    return data::normalize_text(prediction) == data::normalize_text(gold.target);
  }

 protected:
  const std::vector<SplitDef>& split_defs() const override { return defs_; }

  std::vector<Example> sample_bin(Rng& rng, const BinRequest& req) const override {
    const Kind kind = variants_[static_cast<size_t>(req.split.variant)].kind;
    const int n = req.bin.length;
    const size_t pool = static_cast<size_t>(std::max(req.pool_size, req.count));
    std::vector<Example> out;
    auto add = [&](std::string source, std::string target) {
      out.push_back(make_example(std::move(source), std::move(target), n, nullptr, req.flags));
    };
    if (kind == Kind::kRsc || kind == Kind::kRsc2x) {
      for (size_t s : distinct_draw(rng, pool, req.count)) {
        const std::string tok = symbol(s);
        add("Copy: " + repeat(tok, n), repeat(tok, kind == Kind::kRsc ? n : 2 * n));
      }
    } else if (kind == Kind::kRdc) {
      // The builder's k: the most symbols whose k*(k-1) ordered pairs fit in the pool
      // (int((1 + sqrt(1 + 4 pool)) / 2)), raised if the bin needs more distinct pairs.
      size_t k = 2;
      while ((k + 1) * k <= static_cast<size_t>(req.pool_size)) ++k;
      while (k * (k - 1) < static_cast<size_t>(req.count)) ++k;
      for (size_t p : distinct_draw(rng, k * (k - 1), req.count)) {
        const size_t from = p / (k - 1), off = p % (k - 1), to = off < from ? off : off + 1;
        add("Replace " + symbol(from) + " with " + symbol(to) + " in " + repeat(symbol(from), n),
            repeat(symbol(to), n));
      }
    } else {
      for (int64_t e = 0; e < req.count; ++e) {
        std::vector<std::string> toks(static_cast<size_t>(n));
        for (auto& t : toks) t = symbol(rng.below(kMultiAlphabet));
        const std::string fwd = join(toks, " ");
        std::reverse(toks.begin(), toks.end());
        const std::string rev = join(toks, " ");
        switch (kind) {
          case Kind::kCmc: add("Copy: " + fwd, fwd); break;
          case Kind::kCmc2x: add("Copy: " + fwd, fwd + " [NEXT] " + fwd); break;
          case Kind::kMc: add("Reverse: " + fwd, rev); break;
          case Kind::kMc2x: add("Reverse: " + fwd, rev + " [NEXT] " + rev); break;
          default: add("Reverse: " + fwd, rev + " [NEXT] " + fwd); break;  // kMcrv
        }
      }
    }
    return out;
  }

 private:
  static std::string describe(Kind k) {
    switch (k) {
      case Kind::kRsc: return "2..20 -> 21..40: one token repeated n times, copied";
      case Kind::kRsc2x: return "2..20 -> 21..40: one token repeated n times, target 2n times";
      case Kind::kRdc: return "2..20 -> 21..40: replace the repeated token by another";
      case Kind::kCmc: return "2..20 -> 21..40: n tokens from 100 symbols, copied";
      case Kind::kCmc2x: return "2..20 -> 21..40: n tokens, target t [NEXT] t";
      case Kind::kMc: return "2..20 -> 21..40: n tokens from 100 symbols, reversed";
      case Kind::kMc2x: return "2..20 -> 21..40: n tokens, target rev [NEXT] rev";
      case Kind::kMcrv: return "2..20 -> 21..40: n tokens, target rev [NEXT] orig";
    }
    return {};
  }

  std::string name_;
  std::vector<Variant> variants_;
  std::vector<SplitDef> defs_;
};

}  // namespace

std::unique_ptr<Task> make_copy_task() {
  return std::make_unique<CopyReverseTask>(
      "copy", std::vector<Variant>{{"rsc", Kind::kRsc},
                                   {"rsc2x", Kind::kRsc2x},
                                   {"rdc", Kind::kRdc},
                                   {"cmc", Kind::kCmc},
                                   {"cmc2x", Kind::kCmc2x}});
}

std::unique_ptr<Task> make_reverse_task() {
  return std::make_unique<CopyReverseTask>(
      "reverse", std::vector<Variant>{{"mc", Kind::kMc}, {"mc2x", Kind::kMc2x}, {"mcrv", Kind::kMcrv}});
}

}  // namespace lengen::tasks
