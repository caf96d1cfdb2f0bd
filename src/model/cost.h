// What a shape costs: floating-point operations of a training step and of greedy decoding
// (for achieved GFLOP/s), and the memory a training step needs (for judging peak RSS).
// Counts are of the dense work lengen and the PyTorch baseline both do: attention scores and
// their backward over the full T x T square of each (row, head), causal mask applied after.
#pragma once
#include <cstddef>

#include "arch/model_config.h"

namespace lengen {

// 2 * (multiply-adds) of one forward pass over B rows of T tokens, logits at every token.
double forward_flops(const ModelConfig& c, int B, int T);
// Forward + backward (= 2 x forward: input and weight gradients) of a training step.
double training_step_flops(const ModelConfig& c, int B, int T);
// Greedy decoding of B rows: a prompt of P tokens (one forward, which yields the first new
// token), then new_tokens - 1 steps of one token each against the growing cache.
double decode_flops(const ModelConfig& c, int B, int prompt, int new_tokens);

// Bytes a training step needs, by part (fp32). Activations are the tensors the backward pass
// reads (per layer: block input, attention-residual sum, both norm outputs, q, k, v, attention
// output and its log-sum-exp, FFN pre-activation(s) and hidden; then the final stream, its
// norm and the logits) plus the gradient scratch the backward pass holds at once.
struct TrainingMemory {
  size_t parameters = 0, gradients = 0, optimizer = 0, activations = 0, scratch = 0;
  size_t total() const { return parameters + gradients + optimizer + activations + scratch; }
};
TrainingMemory training_memory(const ModelConfig& c, size_t num_parameters, int B, int T);

}  // namespace lengen
