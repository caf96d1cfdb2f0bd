// PCFG SET (Hupkes et al. 2020, "Compositionality decomposed"): string-edit programs in
// prefix notation over symbols such as `A1 B12`, e.g.
//   append swap_first_last A1 B2 , C3   ->   B2 A1 C3
// Unary functions: copy, reverse, shift, echo, swap_first_last, repeat. Binary functions
// (arguments separated by ` , `): append, prepend, remove_first, remove_second.
// Programs are sampled from the grammar; targets are computed by pcfg_evaluate.
// Splits (productivity, SPEC section 3), length n = number of functions:
//   md_productivity  source "Solve: <program>"; 1..8 functions -> 81,010 programs, of which
//                    10% validation (8,101) and 72,909 train; 9..35 functions -> 11,333 test,
//                    per-length counts mirroring the public data (see pcfg_length_counts)
//   productivity     the same without the "Solve: " prefix
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "tasks/symbolic_common.h"
#include "tasks/task.h"

namespace lengen::tasks {

// Computes the target of a program ("reverse A1 B2" -> "B2 A1"). Throws lengen::Error on a
// malformed program (missing argument or comma, trailing words, brackets), naming the word
// position at fault.
std::string pcfg_evaluate(const std::string& program);

// Number of function words in a program (its length n); no validation.
int pcfg_function_count(std::string_view program);
bool pcfg_is_function(std::string_view word);

// Samples a program with exactly `functions` function words (>= 1): a uniformly random tree
// shape for the drawn unary/binary mix, functions uniform within their arity class, string
// arguments of 2..5 symbols from the 520 symbols A1..Z20 (as in the public data).
std::string pcfg_sample_program(symbolic::Rng& rng, int functions);

// Published per-length example counts of the productivity split: `test` = the 11,333 test
// programs (exact counts of data/pcfgset/productivity/test.src), else the 81,010 training
// programs (train + validation; estimated, see docs/tasks_scan_pcfg.md).
const std::map<int, int64_t>& pcfg_length_counts(bool test);

std::unique_ptr<Task> make_pcfg_task();

}  // namespace lengen::tasks
