// The study's numbers across many runs (`lengen report`): finished task runs found under
// directories, grouped by task split (and scratchpad) and encoding, pooled over seeds.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "report/stats.h"

namespace lengen::report {

// One finished task run (its results.json).
struct RunRecord {
  std::string dir;
  std::string task, split, scratchpad;  // scratchpad "" = none
  std::string encoding;
  uint64_t seed = 0;
  bool has_id = false, has_ood = false;
  double id = 0, ood = 0;                     // exact match, fractions
  // Per-token accuracy of the test lengths, the mean over lengths (the Chomsky-hierarchy
  // papers' metric); absent in results written before lengen recorded it.
  bool has_ood_tokens = false;
  double ood_tokens = 0;
  std::map<int, double> id_by_length, ood_by_length;
  std::map<std::pair<int, int>, double> ood_by_operands;  // the 2-D grid ("a-by-b" categories)
  nlohmann::json scratchpad_scores;           // {"validation": {...}, "test": {...}} when present

  // "copy cmc_tr20_ts40", plus " [sp i1_c1_o1_v1_r1]" with a scratchpad.
  std::string task_key() const;
  std::string task_split() const;  // without the scratchpad
};

// Reads a results.json's contents; task, split and scratchpad come from its "data" section, or
// from the dataset.json of the data directory it names (runs of `compare`).
RunRecord run_record(const nlohmann::json& results, const std::string& dir);

// Every run directory (a results.json with an ID or OOD accuracy) under `roots`, sorted by
// path; directories named in `skip` (e.g. the report's own output) are not entered. A root
// that does not exist is an error naming it.
std::vector<RunRecord> find_runs(const std::vector<std::string>& roots, const std::vector<std::string>& skip = {});

// Calls `visit` once for every directory under `roots` (roots included) that may hold results:
// not a run's checkpoint/, best/, data/ or eval/, nor a directory in `skip`.
void for_each_result_dir(const std::vector<std::string>& roots, const std::vector<std::string>& skip,
                         const std::function<void(const std::filesystem::path&)>& visit);

// The encodings in display order: the paper's (nope, t5_bias, alibi, rotary, abs_sin) first,
// the others after them by name.
std::vector<std::string> encoding_order(const std::vector<RunRecord>& runs);
std::vector<std::string> task_key_order(const std::vector<RunRecord>& runs);  // by name

struct Cell {
  Stats id, ood, ood_tokens;  // over seeds
  std::vector<uint64_t> seeds;
};
// (task_key, encoding) -> mean and sample std over seeds.
std::map<std::pair<std::string, std::string>, Cell> aggregate(const std::vector<RunRecord>& runs);

struct ReciprocalRank {
  double mrr = 0;   // mean of 1/rank over the queries the encoding took part in
  int queries = 0;
};
// Mean reciprocal rank of each encoding over the queries (task split, scratchpad, seed): in
// each query the encodings are ranked by accuracy (OOD, or ID with `ood` false), best = 1;
// tied accuracies share the better rank (1, 1, 3). Runs without that accuracy are left out.
std::map<std::string, ReciprocalRank> mean_reciprocal_rank(const std::vector<RunRecord>& runs, bool ood = true);

struct LengthPoint {
  Stats accuracy;
  bool in_distribution = false;  // a validation (ID) length
};
// Accuracy per length of one task key and encoding, pooled over seeds.
std::map<int, LengthPoint> accuracy_by_length(const std::vector<RunRecord>& runs, const std::string& task_key,
                                              const std::string& encoding);

}  // namespace lengen::report
