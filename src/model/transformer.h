// The decoder-only transformer (both SPEC families by configuration) as data: its config, its
// positional encoding, the parameter layout (one buffer, named views, as in llm.c) and the
// parameters and gradients in buffers of a backend. What runs on it lives beside it:
// model/forward.h (training step, loss, scoring, attention capture), model/decode.h (KV-cache
// decoding), model/block.h (the block all of them share). Code outside the engine reads and
// writes the weights only through the explicit host copies below.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "arch/model_config.h"
#include "arch/param_layout.h"
#include "backend/backend.h"
#include "pe/positional_encoding.h"

namespace lengen {

// Offsets into the parameter buffer of one block's tensors (0 where the family has none).
struct BlockWeights {
  size_t norm1_w = 0, norm1_b = 0, wq = 0, wk = 0, wv = 0, wo = 0;
  size_t norm2_w = 0, norm2_b = 0, w_up = 0, w_gate = 0, w_down = 0;
};

class Transformer {
 public:
  explicit Transformer(const ModelConfig& config, Backend& backend = default_backend());

  const ModelConfig& config() const { return cfg_; }
  const ParameterLayout& layout() const { return layout_; }
  const PositionalEncoding& pe() const { return *pe_; }
  Backend& backend() const { return *backend_; }
  const std::vector<BlockWeights>& blocks() const { return blocks_; }
  size_t embed_offset() const { return embed_; }
  size_t head_offset() const { return cfg_.tie_embeddings ? embed_ : lm_head_; }
  size_t final_norm_w() const { return final_norm_w_; }
  size_t final_norm_b() const { return final_norm_b_; }
  size_t num_parameters() const;  // excluding alignment padding

  // Device pointers into the parameter and gradient buffers (gradients allocated, zeroed, on
  // first use: inference never pays for them).
  float* param(size_t offset) const { return params_.f32(offset); }
  float* grad(size_t offset);
  Buffer& params_buffer() { return params_; }
  Buffer& grads_buffer();
  void zero_grads();

  // Initialises every tensor from `seed` (on the host, then one upload).
  void init_weights(uint64_t seed);

  // Explicit host copies of the whole buffers (layout().total() floats).
  std::vector<float> params_to_host() const;
  void params_from_host(const std::vector<float>& host);
  std::vector<float> grads_to_host();

 private:
  void build_layout();

  ModelConfig cfg_;
  Backend* backend_;
  std::unique_ptr<PositionalEncoding> pe_;
  ParameterLayout layout_;
  std::vector<BlockWeights> blocks_;
  size_t embed_ = 0, final_norm_w_ = 0, final_norm_b_ = 0, lm_head_ = 0;
  Buffer params_, grads_;
};

}  // namespace lengen
