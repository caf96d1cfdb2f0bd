// Greedy-decoding evaluation: exact match overall and per length, predictions next to the gold
// answers, scratchpad scores when the data have scratchpads.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/text_tokenizer.h"
#include "model/transformer.h"
#include "pipeline/task_data.h"
#include "tasks/task.h"

namespace lengen {

struct EvalOptions {
  int batch_size = 64;
  int extra_tokens = 16;  // decoding stops at <eos> or answer length + extra_tokens
  bool quiet = false;
  std::string label;      // shown on the progress line
  PositionScheme positions;  // task-supplied positions (coupled, abacus) decode with them
};

struct LengthScore {
  int64_t correct = 0, total = 0;
  double token_sum = 0;  // sum of the examples' token accuracies
  double accuracy() const { return total ? double(correct) / double(total) : 0.0; }
  double token_accuracy() const { return total ? token_sum / double(total) : 0.0; }
};

// Per-token accuracy of one prediction (the Chomsky-hierarchy papers' metric): the fraction of
// the gold answer's words that the prediction's final output (tasks::final_output) has at the
// same place; missing words count as wrong, extra words are not counted. An empty gold answer
// scores 1 when the output is empty too, else 0. Non-empty `positions` (word indices of the gold
// answer, Task::scored_target_positions) restrict the count to those words.
double token_accuracy(const std::string& gold_target, const std::string& prediction,
                      const std::vector<size_t>& positions = {});

struct EvalResult {
  std::string split;
  LengthScore overall;
  std::map<int, LengthScore> per_length;
  // By the examples' category label ("3-by-12" for two-operand arithmetic: the 2-D grid);
  // written only where some label says more than the length.
  std::map<std::string, LengthScore> per_category;
  bool has_scratchpad = false;
  double scratchpad_step_accuracy = 0, scratchpad_part_accuracy = 0;
  std::vector<std::string> predictions;  // decoded text per example
  std::vector<char> correct;
  std::vector<double> token_accuracy;  // per example
  nlohmann::json to_json() const;  // without the predictions
};

// `task` may be null (user data): the answer is then compared as normalized text. Generated ids
// are decoded by `tokenizer` and the text is what the task's answer checker reads.
EvalResult evaluate_examples(Transformer& model, const data::TextTokenizer& tokenizer,
                             const tasks::Task* task, const std::vector<tasks::Example>& examples,
                             const std::vector<EncodedExample>& encoded, const EvalOptions& options);

// Writes <dir>/predictions.jsonl (source, gold, prediction, correct, length) and
// <dir>/results.json (with the keys of `extra` added, e.g. what was evaluated), each atomically.
void write_eval_results(const std::string& dir, const EvalResult& result,
                        const std::vector<tasks::Example>& examples,
                        const nlohmann::json& extra = nlohmann::json::object());

// A subset with at most `per_length` examples of each length (first ones in file order).
std::vector<size_t> cap_per_length(const std::vector<tasks::Example>& examples, int per_length);

}  // namespace lengen
