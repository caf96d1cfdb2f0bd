#include "pipeline/task_data.h"

#include <algorithm>
#include <numeric>

#include "util/error.h"
#include "util/json_parse.h"
#include "util/rng.h"

namespace lengen {

std::string answer_text(const tasks::Example& e) {
  return e.scratchpad ? *e.scratchpad + " " + e.target : e.target;
}

namespace {

// The task's word-level ids (source words, then target words) with 0 for <bos>, <sep>, <eos>.
std::vector<int32_t> token_aligned_ids(const std::vector<int>& word_ids, const EncodedExample& x,
                                       bool has_scratchpad) {
  const size_t words = x.prompt.size() - 2 + x.answer.size() - 1;
  if (has_scratchpad)
    fail("position_ids cover source and target only; they cannot be used with a scratchpad");
  if (word_ids.size() != words)
    fail("position_ids has {} ids for {} source and target tokens", word_ids.size(), words);
  std::vector<int32_t> ids = {0};
  const size_t src = x.prompt.size() - 2;
  ids.insert(ids.end(), word_ids.begin(), word_ids.begin() + long(src));
  ids.push_back(0);
  ids.insert(ids.end(), word_ids.begin() + long(src), word_ids.end());
  ids.push_back(0);
  return ids;
}

// From token `first` (<sep>) on, each token gets the id of the next one (the last gets 0).
std::vector<int32_t> ids_of_predicted_tokens(std::vector<int32_t> ids, size_t first) {
  for (size_t t = first; t < ids.size(); ++t) ids[t] = t + 1 < ids.size() ? ids[t + 1] : 0;
  return ids;
}

}  // namespace

const std::vector<int32_t>& scheme_ids(const PositionScheme& s, const EncodedExample& x) {
  return s.kind == "coupled" ? x.coupled_ids : x.ids;
}

std::vector<EncodedExample> encode_examples(const std::vector<tasks::Example>& examples,
                                            const data::Vocabulary& vocab,
                                            const std::string& split_name) {
  return encode_examples(examples, data::WordTokenizer(vocab), split_name);
}

std::vector<EncodedExample> encode_examples(const std::vector<tasks::Example>& examples,
                                            const data::TextTokenizer& tokenizer,
                                            const std::string& split_name) {
  std::vector<EncodedExample> out(examples.size());
  // Task positions number the task's words: they need word-level tokens.
  const bool word_level = tokenizer.vocabulary() != nullptr;
  for (size_t i = 0; i < examples.size(); ++i) {
    const auto& e = examples[i];
    auto& x = out[i];
    try {
      x.prompt = tokenizer.encode_prompt(e.source);
      x.answer = tokenizer.encode_answer(answer_text(e));
      x.answer.push_back(tokenizer.eos_id());
      if (e.position_ids && word_level) {
        x.ids = token_aligned_ids(*e.position_ids, x, e.scratchpad.has_value());
        x.coupled_ids = ids_of_predicted_tokens(x.ids, x.prompt.size() - 1);
      }
    } catch (const Error& err) {
      fail("{} example {} (line {}): {}", split_name, i, i + 1, err.what());
    }
    x.length = e.length;
  }
  return out;
}

Batch make_training_batch(const std::vector<EncodedExample>& examples,
                          const std::vector<uint32_t>& indices, int32_t pad_id) {
  std::vector<std::vector<int32_t>> rows;
  std::vector<int> loss_from;
  for (uint32_t i : indices) {
    const auto& e = examples[i];
    std::vector<int32_t> row = e.prompt;
    row.insert(row.end(), e.answer.begin(), e.answer.end());
    rows.push_back(std::move(row));
    loss_from.push_back(int(e.prompt.size()) - 1);  // targets: the answer tokens
  }
  return make_batch(rows, pad_id, loss_from);
}

LengthBatcher::LengthBatcher(const std::vector<EncodedExample>& examples, int batch_size,
                             uint64_t seed, PositionScheme positions, int32_t pad_id)
    : examples_(examples), B_(batch_size), seed_(seed), positions_(std::move(positions)),
      pad_id_(pad_id) {
  if (examples.empty()) fail("no training examples");
  if (B_ <= 0) fail("batch_size must be positive");
  per_epoch_ = std::max<int64_t>(1, int64_t(examples.size()) / B_);
}

void LengthBatcher::build_epoch(int64_t epoch) {
  Rng rng(hash_combine(seed_ ^ 0xBA7C4ull, uint64_t(epoch)));
  const size_t n = examples_.size();
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
  // Fewer examples than a batch: repeat them to fill it.
  while (order.size() < size_t(B_)) order.push_back(order[order.size() % n]);
  const size_t window = size_t(B_) * 64;
  for (size_t w = 0; w < order.size(); w += window) {
    const auto end = order.begin() + long(std::min(order.size(), w + window));
    std::stable_sort(order.begin() + long(w), end, [&](uint32_t a, uint32_t b) {
      return examples_[a].total() < examples_[b].total();
    });
  }
  batches_.clear();
  for (int64_t b = 0; b < per_epoch_; ++b)
    batches_.emplace_back(order.begin() + b * B_, order.begin() + (b + 1) * B_);
  for (size_t i = batches_.size(); i > 1; --i) std::swap(batches_[i - 1], batches_[rng.below(i)]);
  epoch_ = epoch;
}

Batch LengthBatcher::batch(int64_t step) {
  const int64_t epoch = (step - 1) / per_epoch_;
  if (epoch != epoch_) build_epoch(epoch);
  return positioned_training_batch(examples_, batches_[size_t((step - 1) % per_epoch_)],
                                   positions_, seed_, step, pad_id_);
}

Batch positioned_training_batch(const std::vector<EncodedExample>& examples,
                                const std::vector<uint32_t>& indices,
                                const PositionScheme& positions, uint64_t seed, int64_t step,
                                int32_t pad_id) {
  Batch batch = make_training_batch(examples, indices, pad_id);
  if (positions.uses_task_ids() || positions.randomizes_training()) {
    std::vector<const std::vector<int32_t>*> ids;
    for (uint32_t i : indices) ids.push_back(&scheme_ids(positions, examples[i]));
    Rng rng(hash_combine(seed ^ 0x9051710ull, uint64_t(step)));
    assign_positions(positions, ids, &rng, batch);
  }
  return batch;
}

std::unique_ptr<data::TextTokenizer> make_run_tokenizer(const std::string& sentencepiece_model,
                                                        const std::string& task,
                                                        const data::Vocabulary& vocab) {
  if (sentencepiece_model.empty()) return std::make_unique<data::WordTokenizer>(vocab);
  return data::SentencePieceTokenizer::load(sentencepiece_model, data::paper_separator(task));
}

std::unique_ptr<data::TextTokenizer> load_checkpoint_tokenizer(const std::string& ckpt,
                                                               const std::string& sentencepiece_model) {
  const nlohmann::json record = data::read_tokenizer_record(ckpt);
  if (sentencepiece_model.empty()) {
    if (!record.is_null())
      fail("{}: trained with the SentencePiece model {} (tokenizer.json), but the run config has "
           "no data.tokenizer",
           ckpt, json_get_or<std::string>(record, "model", "?", ckpt + "/tokenizer.json"));
    return std::make_unique<data::WordTokenizer>(data::Vocabulary::load(ckpt + "/vocab.json"));
  }
  if (record.is_null())
    fail("{}: trained with the word-level vocabulary (no tokenizer.json), but data.tokenizer is "
         "{}",
         ckpt, sentencepiece_model);
  const std::string origin = ckpt + "/tokenizer.json";
  if (!record.contains("separator") || !record["separator"].is_string())
    fail("{}: key 'separator' missing or not a string", origin);
  auto tok = data::SentencePieceTokenizer::load(sentencepiece_model,
                                                record["separator"].get<std::string>());
  tok->check_record(record, origin);
  return tok;
}

}  // namespace lengen
