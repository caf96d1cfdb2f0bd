// `lengen lm compare`: prepares the data (default: the Python standard library corpus), trains
// one language model per encoding with the same budget, seed and data, evaluates each at 1x..6x
// the training length and writes the perplexity table and plot. Runs one after another (each
// resumable), all threads to each. Layout: <out>/data, <out>/runs/<encoding>, <out>/report.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lm/lm_eval.h"

namespace lengen::lm {

struct LmCompareOptions {
  std::vector<std::string> encodings = {"rotary", "alibi", "nope", "bipe_rope", "bipe_alibi"};
  nlohmann::json config;  // run config overrides ({"corpus", "data", "model", "train"})
  std::string out = "runs/lm_compare";
  PerplexityOptions eval;
};

// The Markdown perplexity table.
std::string run_lm_compare(const LmCompareOptions& o);

// The default budget of `lm compare` (sized for ~15-20 minutes on 2 cores, see README).
nlohmann::json default_lm_compare_config();

}  // namespace lengen::lm
