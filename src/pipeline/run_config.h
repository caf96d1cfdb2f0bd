// The configuration of one task run: which data, which model, how to train and evaluate.
// Assembled from layered JSON/Jsonnet files (shipped presets by name, e.g. "models/tiny" or
// "tasks/copy_cmc") and --set overrides; the fully resolved object is saved in the run.
//   {"data": {...}, "model": {...}, "train": {...}, "eval": {...}}
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipeline/curriculum.h"
#include "train/train_config.h"

namespace lengen {

struct DataConfig {
  std::string task, split;   // generate with the task suite ...
  std::string scratchpad;    // ... with these scratchpad flags ("" = none)
  uint64_t seed = 0;         // data seed (SPEC: the generator seed), independent of train.seed
  int64_t train_size = 0, test_size = 0;  // 0 = the split's default sizes
  std::string dir;           // ... or read an existing dataset directory (JSONL)
  std::string from;          // generate by importing the upstream files here (scan, pcfg)
  // A SentencePiece model file (e.g. t5-base spiece.model): the paper's tokenization
  // (data/text_tokenizer.h). "" = the word-level tokenizer over the data's vocabulary.
  std::string tokenizer;
  // Positions of the tokens (pipeline/position_schemes.h): auto, index, coupled, abacus, and
  // the training-time randomness.
  std::string positions = "auto";
  int random_positions = 0, position_offset = 0;
  bool random_eval_positions = false;  // randomized positions at evaluation too (upstream's)
  CurriculumConfig curriculum;  // a length curriculum (pipeline/curriculum.h), or none
};

struct EvalConfig {
  int batch_size = 64;            // sequences decoded together
  int validation_examples = 512;  // greedy validation during training (subset, fixed)
  int max_per_length = 0;         // cap of examples per length at evaluation (0 = all)
  int extra_tokens = 16;          // decoding budget beyond the gold answer's length
  // The OOD curve: greedy accuracy on this many test examples (spread evenly over the file) at
  // every evaluation during training, logged as test_accuracy in metrics.jsonl. Never used to
  // pick the best checkpoint (that stays validation's). 0 = off.
  int test_examples = 0;
};

struct RunConfig {
  DataConfig data;
  nlohmann::json model;  // ModelConfig keys; vocab_size comes from the data's vocabulary
  TrainConfig train;
  EvalConfig eval;
  // Where the config came from (files and --set, a sweep file's run, ...): errors found later,
  // when the data are known (e.g. a delimiter outside the vocabulary), name it.
  std::string source;

  // Checks every section, the model keys included (with a stand-in vocabulary size, as the
  // data are not known yet), so a mistake is reported before any data are generated.
  static RunConfig from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;
};

// Directory of the shipped presets ($LENGEN_CONFIG_DIR or the source tree's configs/).
std::string config_dir();
// Resolves each entry of "a,b,c": an existing file as is, else a preset name under
// config_dir() (with .jsonnet or .json appended). Unknown names list the presets.
std::vector<std::string> resolve_config_paths(const std::string& list);
// Loads the layered config and applies --set overrides.
nlohmann::json load_run_config_json(const std::string& list, const std::vector<std::string>& sets);
std::vector<std::string> preset_names();

}  // namespace lengen
