// Small helpers shared by the symbolic sequence-to-sequence tasks (SCAN, PCFG SET) and their
// text importers: a portable PRNG, word splitting, the exact-match checker and the
// train/validation carve-out. std:: distributions are avoided on purpose: their output differs
// between standard libraries, and generated datasets must be identical everywhere.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tasks/task.h"

namespace lengen::tasks::symbolic {

// Prefix of the "md" split variants (the paper's `scan_bos` / `pcfg_bos` processors).
inline constexpr std::string_view kSolvePrefix = "Solve: ";

// splitmix64 (Steele, Lea & Flood 2014): tiny, fast, and fully specified, so a seed gives the
// same stream on every platform.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n), n > 0. Rejection removes the modulo bias.
  uint64_t below(uint64_t n) {
    const uint64_t threshold = (0 - n) % n;  // 2^64 mod n
    for (;;) {
      const uint64_t r = next();
      if (r >= threshold) return r % n;
    }
  }
  // Uniform in [lo, hi].
  int64_t between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo) + 1));
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform01() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

// Fisher-Yates with our own uniform integers.
template <typename T>
void shuffle(std::vector<T>& items, Rng& rng) {
  for (size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[rng.below(i)]);
}

// Splits on runs of spaces/tabs/CR/LF; never returns empty words.
std::vector<std::string_view> split_words(std::string_view text);

// Exact match of the whole target, insensitive only to the amount of surrounding/separating
// whitespace (the tasks are space-tokenized, so this is exact match on the word sequence).
bool same_words(std::string_view gold, std::string_view prediction);

// Shuffles `pool` with `rng` and moves its first floor(size * fraction) examples to
// `validation` (as the reference builders do: shuffle, then take len // 10).
void carve_validation(std::vector<Example>& pool, std::vector<Example>& validation, double fraction,
                      Rng& rng);

}  // namespace lengen::tasks::symbolic
