// `lengen lm train`: a llama-family language model trained on a prepared data directory
// (lm/corpus.h) with the shared trainer (train/trainer.h): random fixed-length chunks of the
// training tokens, validation loss on the first validation chunks (the best/ checkpoint keeps
// the lowest), resume, metrics. Run config = {"data": {...}, "model": {...}, "train": {...}}:
//   data.dir          the prepared data directory
//   data.delimiters   BiPE delimiters as pieces ("<0x0A>", "▁.") or ids; default: derived from
//                     the tokenizer (Tokenizer::default_delimiters)
// model.vocab_size comes from the tokenizer, and a bilevel encoding's pe.delimiters from
// data.delimiters.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "lm/corpus.h"
#include "model/transformer.h"
#include "train/trainer.h"

namespace lengen::lm {

// The defaults every LM run starts from (a small llama model that trains on 2 cores).
nlohmann::json default_lm_run_config();

struct LmRun {
  std::string out;
  nlohmann::json config;  // the merged run config (defaults + files + --set)
  bool quiet = false;
  std::function<void(int64_t step, int64_t total, double loss, double tokens_per_s)> on_progress;
};

// Resolves the model config of a run against its data (vocabulary, delimiters).
ModelConfig lm_model_config(const nlohmann::json& config, const LmData& data,
                            const std::string& where);
TrainResult train_lm(const LmRun& run);

// The chunks (of length T) of a token file as a batch, one row each (positions restart at 0).
Batch chunk_batch(const TokenFile& tokens, const std::vector<int64_t>& chunks, int T);

}  // namespace lengen::lm
