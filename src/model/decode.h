// Incremental decoding with a KV cache: the same block path as training (model/block.h), fed a
// few new tokens per row at a time. A prefill is an extend by the whole (right-padded) prompt;
// a decoding step an extend by one token. The cache also carries each row's position streams
// and the encoding's per-row stream state, so encodings that derive streams from the tokens
// (bilevel segmentation) continue where the prompt left off.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "model/batch.h"
#include "model/transformer.h"
#include "model/workspace.h"

namespace lengen {

class KVCache {
 public:
  KVCache(const Transformer& model, int batch, int capacity);
  // Empties the cache for `batch` rows of `capacity` tokens, reusing its buffers when they are
  // large enough.
  void reset(const Transformer& model, int batch, int capacity);
  int batch() const { return B_; }
  int capacity() const { return capacity_; }
  int length(int b) const { return length_[size_t(b)]; }

 private:
  friend struct CacheAppend;
  int B_ = 0, capacity_ = 0, HD_ = 0;
  Buffer k_, v_;                    // [L][B][capacity][HD], keys after rotation
  std::vector<int32_t> length_;     // [B] tokens held by each row
  StreamSet streams_;               // [B][capacity] of every stream the encoding reads
  std::vector<StreamState> state_;  // [B] the encoding's derivation state
  float* k(int l) const { return k_.f32(size_t(l) * B_ * capacity_ * HD_); }
  float* v(int l) const { return v_.f32(size_t(l) * B_ * capacity_ * HD_); }
};

// Appends Q tokens to every cache row at once (tokens and supplied streams [B*Q], row b's block
// first; an absent Position stream continues each row's positions from its length) and returns
// the logits of all of them [B*Q, V]. Scoring a long sequence block by block this way needs
// memory O(B * Q * (length + D)): attention is fused, nothing is O(length^2).
void extend(Transformer& model, KVCache& cache, const std::vector<int32_t>& tokens, int Q,
            const TokenStreams& supplied, Workspace& ws, std::vector<float>& logits);
// Runs right-padded prompts into an empty cache; returns the logits of each row's last prompt
// token [B, V].
void prefill(Transformer& model, const Batch& prompts, KVCache& cache, Workspace& ws,
             std::vector<float>& last_logits);

// Position id and digit place of token t (counting the prompt) of row b, for decoding with
// supplied positions.
using DecodePositions = std::function<void(int b, int t, int32_t& pos, int32_t& place)>;

// What greedy decoding allocates (KV cache, workspace), kept from one call to the next: an
// evaluation decodes batch after batch with one of these and allocates only when a batch needs
// more than any before.
struct DecodeScratch {
  explicit DecodeScratch(const Transformer& model) : cache(model, 1, 1), ws(model) {}
  KVCache cache;
  Workspace ws;
};

// Greedy decoding with the KV cache: for each prompt, generate until `eos_id` or max_new
// tokens. Returns the generated tokens (without the prompt; EOS included when produced).
// Positions are 0, 1, 2, ... unless `positions` is given.
std::vector<std::vector<int32_t>> greedy_decode(Transformer& model, DecodeScratch& scratch,
                                                const std::vector<std::vector<int32_t>>& prompts,
                                                int max_new_tokens, int eos_id, int pad_id = 0,
                                                const DecodePositions& positions = {});
// The same with a scratch of its own (one-off calls).
std::vector<std::vector<int32_t>> greedy_decode(Transformer& model,
                                                const std::vector<std::vector<int32_t>>& prompts,
                                                int max_new_tokens, int eos_id, int pad_id = 0,
                                                const DecodePositions& positions = {});

}  // namespace lengen
