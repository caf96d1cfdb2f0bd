// Small helpers shared by the symbolic sequence-to-sequence tasks (SCAN, PCFG SET) and their
// text importers: word splitting, the exact-match checker and the
// train/validation carve-out. std:: distributions are avoided on purpose: their output differs
// between standard libraries, and generated datasets must be identical everywhere.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tasks/task.h"
#include "util/rng.h"

namespace lengen::tasks::symbolic {

// Prefix of the "md" split variants (the paper's `scan_bos` / `pcfg_bos` processors).
inline constexpr std::string_view kSolvePrefix = "Solve: ";

// The portable generator of all tasks (util/rng.h).
using Rng = lengen::Rng;

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
