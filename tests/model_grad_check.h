// Whole-model finite-difference gradient check: every parameter tensor (learned encoding
// tensors included) at its largest-gradient coordinates, on `batch` (default: sample_batch).
#pragma once
#include "model/forward.h"
#include "model_fixtures.h"
#include "test_support.h"

namespace lengen::testing {

inline void check_model_gradients(const ModelConfig& config, uint64_t dropout_key,
                                  const Batch* given_batch = nullptr) {
  Transformer model(config);
  model.init_weights(3);
  // Loss in fp32 with rows of ~10 tokens: ~1e-7 relative rounding of a loss ~3. With h = 2e-3
  // the quotient's noise is ~3e-7 * 3 / 4e-3 = 2e-4; abs_tol 5e-4 leaves room for it and
  // rel_tol 2e-2 for the O(h^2) curvature term, while a wrong backward is off by O(|grad|).
  const Batch batch = given_batch ? *given_batch : sample_batch(config.vocab_size, 11);
  Workspace ws(model);
  model.zero_grads();
  forward_backward(model, batch, ws, dropout_key);
  const std::vector<float> grads = model.grads_to_host();
  std::vector<float> params = model.params_to_host();
  auto f = [&] {  // the loss at the (perturbed) host copy of the parameters
    model.params_from_host(params);
    model.zero_grads();
    return forward_backward(model, batch, ws, dropout_key);
  };
  for (const auto& t : model.layout().tensors()) {
    auto coords = top_coordinates(grads.data() + t.offset, t.numel, 4);
    for (auto& c : coords) c += t.offset;
    expect_gradient(t.name, params, grads, f, 2e-3, 5e-4, 2e-2, coords);
    // A gradient that is zero everywhere would pass trivially: every tensor must be reached
    // (the embedding of tokens in the batch, every block, the encoding's tables).
    double norm = 0;
    for (size_t i = 0; i < t.numel; ++i) norm += std::abs(grads[t.offset + i]);
    EXPECT_GT(norm, 0.0) << t.name << " has no gradient";
  }
}

}  // namespace lengen::testing
