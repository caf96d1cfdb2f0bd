// The paper's own numbers (`lengen report --paper-results FILE`): the upstream repository of
// Kazemnejad et al. 2023 (McGill-NLP/length-generalization) ships its W&B runs as JSONL
// (results/classic.jsonl: SCAN and PCFG, results/sanity_check.jsonl: copy and reverse). One
// line per run; the seeded runs of the best hyperparameters have job_type "best_run_seed_exp",
// their test set holds only lengths beyond training, so "sum__pred/test_acc_overall" (exact
// match over the whole test set) is the run's OOD accuracy. Aggregation as the upstream
// notebook (notebooks/plot_aggregate_final.ipynb): mean over seeds per task split and
// encoding; mean reciprocal rank over the (task split, seed) queries without a scratchpad,
// leaving out pcfg productivity and scan len_tr25_ts48 (the paper ranks their md_ variants).
// Ties share the better rank (lengen's rule; upstream pandas breaks them by row order).
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "report/study.h"

namespace lengen::report {

struct PaperResults {
  std::vector<std::string> files;
  std::vector<RunRecord> runs;     // lengen names: task without "s2s_", encoding nope/t5_bias/...
  std::vector<std::string> notes;  // what was left out, and why
};

// Reads upstream JSONL files. Bad input (not JSON, not an object, a seeded run without its
// dataset/encoding/seed keys, an accuracy that is not a fraction) is a lengen::Error naming
// "FILE:LINE" and the key; a file with no seeded runs is an error too.
PaperResults read_paper_results(const std::vector<std::string>& files);

// The upstream encoding name in lengen's terms ("" for one outside the paper's five).
std::string paper_encoding(const std::string& upstream);

// Whether the paper's MRR counts this run's task split (no scratchpad, not one of the two
// splits upstream leaves out).
bool paper_ranks(const RunRecord& run);

// Task split -> whether lengen can generate it (the CLI asks the task registry).
using KnownSplit = std::function<bool(const std::string& task, const std::string& split)>;

// Markdown: rows = task splits, columns = encodings, cells = mean ± std OOD exact match (%)
// over seeds and the seed count, then the MRR row; notes on what was left out.
std::string paper_table_markdown(const PaperResults& paper, const KnownSplit& known = {});

// Markdown: per task split run by both, paper vs lengen OOD per encoding and whether the best
// and the worst encoding agree; the MRR of each side over the shared splits.
std::string paper_comparison_markdown(const PaperResults& paper, const std::vector<RunRecord>& lengen_runs);

struct PaperReport {
  std::string text;                // what the terminal shows (the Markdown written)
  std::vector<std::string> files;  // written
};

// Reads `files`; writes <out_dir>/paper_results.md (and paper_comparison.md when `lengen_runs`
// is not empty); `out_dir` "" writes nothing.
PaperReport write_paper_report(const std::vector<std::string>& files, const std::vector<RunRecord>& lengen_runs,
                               const std::string& out_dir, const KnownSplit& known = {});

}  // namespace lengen::report
