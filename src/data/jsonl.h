// Datasets on disk (SPEC section 3): a directory with one JSONL file per split
// (train.jsonl, validation.jsonl, test.jsonl), the vocabulary (vocab.json) and a small
// description (dataset.json). One example per line:
//   {"source": "...", "target": "...", "length": 7, "category": "7", "scratchpad": "..."}
// User data need only "source" and "target": "length" defaults to the number of source words
// and "category" to the length; other keys are ignored. Every file is written to a temporary
// name and renamed into place, so a directory never holds a half-written file.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/tokenizer.h"
#include "tasks/task.h"

namespace lengen::data {

inline const std::vector<std::string>& split_names() {
  static const std::vector<std::string> names{"train", "validation", "test"};
  return names;
}

nlohmann::json example_to_json(const tasks::Example& example);
// `where` is the "file:line" prefix used in error messages.
tasks::Example example_from_json(const nlohmann::json& j, const std::string& where);

std::string examples_to_jsonl(const std::vector<tasks::Example>& examples);
void write_jsonl(const std::string& path, const std::vector<tasks::Example>& examples);
// Validates every line; throws lengen::Error "file:line: message". Blank lines are skipped.
std::vector<tasks::Example> read_jsonl(const std::string& path);

// dataset.json: how the data were made (absent for user data).
struct DatasetInfo {
  std::string task, split;
  uint64_t seed = 0;
  std::string scratchpad;  // flags name, "" when none
  int64_t train = 0, validation = 0, test = 0;
  // Data imported from upstream files (`data make --from`): the directory, format, files with
  // their example counts and sha256, and how validation was carved; null when generated.
  nlohmann::json imported;
  nlohmann::json to_json() const;
  static DatasetInfo from_json(const nlohmann::json& j, const std::string& origin);
};

// Writes the split files, vocab.json and dataset.json. All files are first written to
// temporaries; only when every one succeeded are they renamed into place.
void save_dataset_dir(const std::string& dir, const tasks::Dataset& data, const Vocabulary& vocab,
                      const DatasetInfo& info);

struct LoadedDataset {
  tasks::Dataset data;
  Vocabulary vocab;
  bool vocab_from_file = false;     // false: built from the data (no vocab.json)
  std::optional<DatasetInfo> info;  // from dataset.json when present
  std::vector<std::string> splits_present;
};

// Reads whichever of the three split files exist (at least one must). Without vocab.json the
// vocabulary is built from every source, scratchpad and target of all present splits.
LoadedDataset load_dataset_dir(const std::string& dir);

// Every text of a dataset (sources, scratchpads, targets), e.g. to build a vocabulary.
std::vector<std::string> dataset_texts(const tasks::Dataset& data);

}  // namespace lengen::data
