// The decoder-only transformer (both SPEC families by configuration): parameters in one
// buffer with named views, explicit forward and backward, teacher-forced scoring and
// incremental decoding with a KV cache.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "model/config.h"
#include "model/params.h"
#include "pe/positional_encoding.h"

namespace lengen {

// A right-padded batch: row b holds lengths[b] valid tokens, padding after them.
struct Batch {
  int B = 0, T = 0;
  std::vector<int32_t> tokens;   // [B*T]
  std::vector<int32_t> targets;  // [B*T] next-token targets (ignored where weight is 0)
  std::vector<float> weights;    // [B*T] loss weight of each target (0 = masked)
  std::vector<int32_t> lengths;  // [B]
  std::vector<int32_t> pos, seg, intra;  // [B*T] positions; seg/intra only for bilevel PEs
  Positions positions() const { return {pos.data(), seg.empty() ? nullptr : seg.data(),
                                        intra.empty() ? nullptr : intra.data()}; }
};

// Builds a batch from token rows: tokens[t] predicts tokens[t+1]; the last token of a row
// has no target. `loss_from[b]` = first target index that counts (prompt masking; 0 = all);
// weights are 1/(number of counted targets), so the loss is a mean over them.
// Positions are 0..len-1 per row.
Batch make_batch(const std::vector<std::vector<int32_t>>& rows, int pad_id,
                 const std::vector<int>& loss_from = {});

class KVCache;

class Transformer {
 public:
  explicit Transformer(const ModelConfig& config);
  ~Transformer();

  const ModelConfig& config() const { return cfg_; }
  const ParameterLayout& layout() const { return layout_; }
  const PositionalEncoding& pe() const { return *pe_; }
  std::vector<float>& params() { return params_; }
  const std::vector<float>& params() const { return params_; }
  // Gradients, allocated (zeroed) on first use: inference never pays for them.
  std::vector<float>& grads();
  size_t num_parameters() const;  // excluding alignment padding
  // Which tensors get weight decay by default: all (the paper decays every weight).
  void init_weights(uint64_t seed);
  void zero_grads();

  // Training step: returns sum_n weights[n] * nll(target n) and ADDS its gradient to grads().
  // Dropout (config.dropout) is on, its masks keyed by `dropout_key`.
  double forward_backward(const Batch& batch, uint64_t dropout_key);
  // Same loss, no dropout, no gradients.
  double loss(const Batch& batch);
  // log p(targets[n]) for every token n of the batch (0 where weight would not matter is not
  // special-cased: every position is scored). [B*T]
  std::vector<float> score(const Batch& batch);
  // Logits [rows.size(), V] for the chosen flat token indices, no dropout.
  void logits(const Batch& batch, const std::vector<int32_t>& rows, std::vector<float>& out);

  // Incremental decoding. prefill() runs the prompts (a batch) and fills the cache, returning
  // the logits of each row's last valid token [B, V]. decode_step() appends one token per row
  // at the given positions and returns its logits [B, V].
  void prefill(const Batch& prompts, KVCache& cache, std::vector<float>& last_logits);
  void decode_step(const std::vector<int32_t>& tokens, const Positions& p, KVCache& cache,
                   std::vector<float>& logits);
  // Appends Q tokens to every cache row at once (tokens and positions [B*Q], row b's block
  // first) and returns the logits of all of them [B*Q, V]. Scoring a long sequence block by
  // block this way needs attention memory O(H * Q * length) per row, where the full forward
  // holds O(L * H * length^2) probabilities.
  void extend(const std::vector<int32_t>& tokens, int Q, const Positions& p, KVCache& cache,
              std::vector<float>& logits);

  // Attention probabilities kept by the last batch forward pass (loss, logits, score,
  // forward_backward, prefill; before dropout): the query+1 weights of row `query` over keys
  // 0..query, for one layer, batch row and head. Valid until the next call on the model. The
  // one place that knows the probability layout (read by src/analysis/).
  std::span<const float> attention_row(int layer, int batch_row, int head, int query) const;

 private:
  struct LayerParams;  // offsets of one block's tensors
  struct Activations;
  void build_layout();
  void forward(const Batch& batch, bool training, uint64_t dropout_key);
  void output_logits(const std::vector<int32_t>& rows, int N, bool training, uint64_t dropout_key);
  void backward(const Batch& batch, uint64_t dropout_key);
  // FFN of one block on N rows of `in` (inference): out = down(act(...)); fa, fb, fh [N, F].
  void ffn_rows(const LayerParams& lp, const float* in, int N, float* fa, float* fb, float* fh,
                float* out) const;
  float* P(size_t offset) { return params_.data() + offset; }
  const float* P(size_t offset) const { return params_.data() + offset; }
  float* G(size_t offset) { return grads_.data() + offset; }

  ModelConfig cfg_;
  std::unique_ptr<PositionalEncoding> pe_;
  ParameterLayout layout_;
  std::vector<LayerParams> layers_;
  size_t embed_ = 0, final_norm_w_ = 0, final_norm_b_ = 0, lm_head_ = 0;
  std::vector<float> params_, grads_;
  std::unique_ptr<Activations> act_;
  friend class KVCache;
};

class KVCache {
 public:
  KVCache(const Transformer& model, int batch, int capacity);
  int batch() const { return B_; }
  int capacity() const { return capacity_; }
  int length(int b) const { return length_[b]; }

 private:
  friend class Transformer;
  int B_, capacity_, L_, HD_;
  std::vector<int> length_;
  std::vector<float> k_, v_;             // [L][B][capacity][H*dh], keys after the qk hook
  std::vector<int32_t> pos_, seg_, intra_;  // [B][capacity]
  float* k(int l, int b) { return k_.data() + ((size_t(l) * B_ + b) * capacity_) * HD_; }
  float* v(int l, int b) { return v_.data() + ((size_t(l) * B_ + b) * capacity_) * HD_; }
  Positions positions(int b) const;
};

// Positions of token t (counting the prompt) of row b, for decoding with supplied positions:
// sets pos and, for encodings that need them, seg and intra.
using DecodePositions = std::function<void(int b, int t, int32_t& pos, int32_t& seg, int32_t& intra)>;

// Greedy decoding with the KV cache: for each prompt, generate until `eos_id` or max_new
// tokens. Returns the generated tokens (without the prompt; EOS included when produced).
// Positions are 0, 1, 2, ... unless `positions` is given.
std::vector<std::vector<int32_t>> greedy_decode(Transformer& model,
                                                const std::vector<std::vector<int32_t>>& prompts,
                                                int max_new_tokens, int eos_id, int pad_id = 0,
                                                const DecodePositions& positions = {});

}  // namespace lengen
