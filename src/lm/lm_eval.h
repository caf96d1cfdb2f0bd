// `lengen lm eval`: perplexity on held-out tokens at lengths 1x..6x the training length
// (SPEC 6): the same span of validation tokens is cut into non-overlapping chunks of each
// length, positions (and segments) restart at 0 in every chunk, fp32, ppl = exp(mean NLL of
// every next-token prediction inside the chunks). Optional sliding window: windows of the
// length advance by `stride` and score only their last `stride` tokens (the first window all),
// so every token is predicted once with up to length - 1 tokens of context.
//
// Memory: a chunk is scored block by block through the KV cache (Transformer::extend), so
// one call holds the cache (2 * L * rows * T * H*dh floats), the score biases and attention
// scratch (rows * H * block * T + threads * block * T floats) and block activations
// (rows * block * (4 D + 3 F + V) floats): linear in T, never a T x T matrix per head.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lm/corpus.h"
#include "model/transformer.h"

namespace lengen::lm {

struct PerplexityOptions {
  std::vector<int> multiples = {1, 2, 3, 4, 5, 6};  // of the training length
  int64_t max_tokens = 24576;  // span of validation tokens scored at every length
  int block = 256;             // query block of the blockwise scoring
  int rows = 4;                // chunks scored side by side
  int stride = 0;              // 0: non-overlapping chunks; > 0: sliding window
};

struct PerplexityPoint {
  int length = 0;
  double mean_nll = 0, ppl = 0;
  int64_t predictions = 0, chunks = 0;
};

// Sum of -log p over the predictions of `rows` chunks scored side by side: chunk r is
// tokens[r][0..T); predictions of tokens at index >= score_from count. Positions restart at 0.
double score_chunks(Transformer& model, const std::vector<const int32_t*>& chunks, int T,
                    int score_from, int block, int64_t& predictions);

std::vector<PerplexityPoint> evaluate_perplexity(Transformer& model, const TokenFile& tokens,
                                                 int train_length, const PerplexityOptions& o,
                                                 bool progress = true);

// A model to evaluate: a run directory (its best/ or checkpoint/) or a checkpoint directory,
// with the training length it was trained at (train.seq_len of its config, or given).
struct EvaluatedModel {
  std::string label, checkpoint;
  int train_length = 0;
  std::vector<PerplexityPoint> points;
};
EvaluatedModel resolve_evaluated_model(const std::string& path, int train_length_override);

// RoPE context extension at evaluation time, no retraining: the model overrides that evaluate
// a rotary checkpoint at `multiple` x its training length under `method` (none, linear = position
// interpolation, ntk, yarn), scaling factor = the multiple, YaRN's original_max_positions = the
// training length. "none" and multiple 1 give no override.
std::vector<std::string> rope_scaling_overrides(const std::string& method, int multiple,
                                                int train_length);

// Perplexity of a checkpoint at every multiple of o.multiples, loaded under `overrides` (model
// keys that add or remove no parameter) plus, per length, rope_scaling_overrides(rope_scaling).
std::vector<PerplexityPoint> evaluate_checkpoint(const std::string& checkpoint,
                                                 const std::vector<std::string>& overrides,
                                                 const std::string& rope_scaling,
                                                 const TokenFile& tokens, int train_length,
                                                 const PerplexityOptions& o, bool progress = true);

// Table (Markdown/CSV), JSON and the plot of perplexity vs evaluation length, one line per
// model, into `out_dir`; returns the Markdown table.
std::string write_perplexity_report(const std::vector<EvaluatedModel>& models,
                                    const std::string& out_dir);

}  // namespace lengen::lm
