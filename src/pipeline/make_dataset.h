// Generating a task's dataset directory (used by `lengen data make` and by training runs).
#pragma once
#include <cstdint>
#include <string>

#include "data/jsonl.h"

namespace lengen {

struct DatasetRequest {
  std::string task, split;  // split "" = the task's only split (an error if it has several)
  std::string scratchpad;   // flags name, "" = none
  uint64_t seed = 0;
  int64_t train_size = 0, test_size = 0;  // 0 = defaults
  // Import the upstream files in this directory instead of generating (scan, pcfg;
  // pipeline/import_upstream.h); dataset.json then records where they came from.
  std::string from;
};

// Generates (or imports) the dataset and writes it (JSONL splits, vocab.json, dataset.json) to
// `out`.
data::DatasetInfo make_dataset_dir(const DatasetRequest& request, const std::string& out);
// The split name a request resolves to (validates task and split names).
std::string resolve_split(const DatasetRequest& request);

}  // namespace lengen
