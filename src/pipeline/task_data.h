// Task examples as token sequences, and length-aware training batches.
//   prompt = <bos> source <sep>          answer = [scratchpad] target <eos>
// The loss covers the answer tokens only.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/text_tokenizer.h"
#include "model/transformer.h"
#include "pipeline/position_schemes.h"
#include "tasks/task.h"

namespace lengen {

struct EncodedExample {
  std::vector<int32_t> prompt, answer;
  int length = 0;  // the task's length n
  // The task's per-token position ids over prompt + answer (<bos>, <sep>, <eos>: 0), when it
  // supplies them (pipeline/position_schemes.h); empty otherwise.
  std::vector<int32_t> ids;
  // The same ids as position coupling uses them (Cho et al. 2024): from <sep> on, every token
  // takes the id of the token it predicts, so the query that writes the answer digit of
  // significance k sits at the position of the operand digits of significance k.
  std::vector<int32_t> coupled_ids;
  size_t total() const { return prompt.size() + answer.size(); }
};

// The per-token ids a position scheme reads: coupled_ids for "coupled", ids otherwise.
const std::vector<int32_t>& scheme_ids(const PositionScheme& s, const EncodedExample& x);

// Strict encoding: an unknown word is an error naming the split, example and word. Task-supplied
// per-word positions are kept only with a word-level tokenizer.
std::vector<EncodedExample> encode_examples(const std::vector<tasks::Example>& examples,
                                            const data::TextTokenizer& tokenizer,
                                            const std::string& split_name);
std::vector<EncodedExample> encode_examples(const std::vector<tasks::Example>& examples,
                                            const data::Vocabulary& vocab,
                                            const std::string& split_name);

// The tokenizer of a run: word level over `vocab` without data.tokenizer, else the SentencePiece
// model at that path with the separator of `task` (data::paper_separator).
std::unique_ptr<data::TextTokenizer> make_run_tokenizer(const std::string& sentencepiece_model,
                                                        const std::string& task,
                                                        const data::Vocabulary& vocab);
// The tokenizer a checkpoint was trained with, given the run's data.tokenizer: vocab.json
// (word level) or tokenizer.json, whose recorded sha256 must match the model file now at
// `sentencepiece_model`. Mixing them up, or another model file, is an error naming both.
std::unique_ptr<data::TextTokenizer> load_checkpoint_tokenizer(const std::string& checkpoint_dir,
                                                               const std::string& sentencepiece_model);

// The answer text the model must produce: "[scratchpad] target".
std::string answer_text(const tasks::Example& example);

// Batches of similar lengths (little padding), reproducible from (seed, step): each epoch is a
// seeded permutation cut into windows of 64 batches, each window sorted by length and split
// into batches, whose order is shuffled again. A step's batch never depends on earlier steps.
class LengthBatcher {
 public:
  // `positions`: how the rows get their positions (training randomness keyed by the step).
  LengthBatcher(const std::vector<EncodedExample>& examples, int batch_size, uint64_t seed,
                PositionScheme positions = {}, int32_t pad_id = data::Vocabulary::kPad);
  Batch batch(int64_t step);  // 1-based step
  int64_t batches_per_epoch() const { return per_epoch_; }

 private:
  void build_epoch(int64_t epoch);
  const std::vector<EncodedExample>& examples_;
  int B_;
  uint64_t seed_;
  PositionScheme positions_;
  int32_t pad_id_;
  int64_t per_epoch_, epoch_ = -1;
  std::vector<std::vector<uint32_t>> batches_;
};

Batch make_training_batch(const std::vector<EncodedExample>& examples,
                          const std::vector<uint32_t>& indices,
                          int32_t pad_id = data::Vocabulary::kPad);
// The same, with the positions of `positions` (their training randomness keyed by the step).
Batch positioned_training_batch(const std::vector<EncodedExample>& examples,
                                const std::vector<uint32_t>& indices,
                                const PositionScheme& positions, uint64_t seed, int64_t step,
                                int32_t pad_id);

}  // namespace lengen
