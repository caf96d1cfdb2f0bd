#include "model/cost.h"

namespace lengen {
namespace {

// Multiply-adds per token of the linear layers: q, k, v, o projections, the FFN matrices and
// the output head.
double linear_macs_per_token(const ModelConfig& c) {
  const double D = c.d_model, HD = c.hd(), F = c.d_ff;
  const double ffn_mats = c.gated_ffn() ? 3 : 2;
  return c.n_layers * (4 * D * HD + ffn_mats * D * F) + D * c.vocab_size;
}

// Multiply-adds of q k^T and P v for `queries` queries against `keys` keys, all layers.
double attention_macs(const ModelConfig& c, double queries, double keys) {
  return c.n_layers * 2.0 * queries * keys * c.hd();
}

}  // namespace

double forward_flops(const ModelConfig& c, int B, int T) {
  return 2.0 * (double(B) * T * linear_macs_per_token(c) + B * attention_macs(c, T, T));
}

double training_step_flops(const ModelConfig& c, int B, int T) { return 3.0 * forward_flops(c, B, T); }

double decode_flops(const ModelConfig& c, int B, int prompt, int new_tokens) {
  // The first new token comes from the prompt's forward; step s = 1.. feeds token s - 1 back
  // and attends over prompt + s keys.
  double macs = 0;
  for (int s = 1; s < new_tokens; ++s)
    macs += linear_macs_per_token(c) + attention_macs(c, 1, prompt + s);
  return forward_flops(c, B, prompt) + 2.0 * B * macs;
}

TrainingMemory training_memory(const ModelConfig& c, size_t num_parameters, int B, int T) {
  const size_t f = sizeof(float), N = size_t(B) * T, D = c.d_model, HD = c.hd(), F = c.d_ff;
  const size_t H = c.n_heads, L = c.n_layers;
  const size_t ffn_saved = (c.gated_ffn() ? 3 : 2) * N * F;
  // Fused attention keeps one log-sum-exp per (query, head), no probabilities.
  const size_t per_layer = 4 * N * D + 4 * N * HD + N * H + ffn_saved + 4 * N;
  TrainingMemory m;
  m.parameters = num_parameters * f;
  m.gradients = num_parameters * f;
  m.optimizer = 2 * num_parameters * f;  // AdamW first and second moments
  m.activations = (L * per_layer + 2 * N * D + N * c.vocab_size) * f;
  // Backward scratch: residual, branch and norm gradients [N, D], FFN gradients [N, F] (two,
  // three for SwiGLU), attention gradients d_att, dq, dk, dv [N, HD] (plus a fixed tile of
  // scores per thread).
  m.scratch = (3 * N * D + (c.gated_ffn() ? 3 : 2) * N * F + 4 * N * HD) * f;
  return m;
}

}  // namespace lengen
