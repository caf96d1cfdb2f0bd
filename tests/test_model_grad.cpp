// Whole-model finite-difference gradient checks, for every encoding and both families: every
// parameter tensor (learned encoding tensors included) at its largest-gradient coordinates.
#include <gtest/gtest.h>

#include "model/transformer.h"
#include "model_fixtures.h"
#include "test_support.h"

namespace lengen {
namespace {

using testing::ModelCase;

class ModelGrad : public ::testing::TestWithParam<ModelCase> {};

void check_model_gradients(ModelConfig config, uint64_t dropout_key) {
  Transformer model(config);
  model.init_weights(3);
  // Loss in fp32 with rows of ~10 tokens: ~1e-7 relative rounding of a loss ~3. With h = 2e-3
  // the quotient's noise is ~3e-7 * 3 / 4e-3 = 2e-4; abs_tol 5e-4 leaves room for it and
  // rel_tol 2e-2 for the O(h^2) curvature term, while a wrong backward is off by O(|grad|).
  const Batch batch = testing::sample_batch(config, 11);
  model.zero_grads();
  model.forward_backward(batch, dropout_key);
  const std::vector<float> grads = model.grads();
  auto f = [&] {
    model.zero_grads();
    return model.forward_backward(batch, dropout_key);
  };
  for (const auto& t : model.layout().tensors()) {
    auto coords = testing::top_coordinates(grads.data() + t.offset, t.numel, 4);
    for (auto& c : coords) c += t.offset;
    std::vector<float>& params = model.params();
    testing::expect_gradient(t.name, params, grads, f, 2e-3, 5e-4, 2e-2, coords);
    // A gradient that is zero everywhere would pass trivially: every tensor must be reached
    // (the embedding of tokens in the batch, every block, the encoding's tables).
    double norm = 0;
    for (size_t i = 0; i < t.numel; ++i) norm += std::abs(grads[t.offset + i]);
    EXPECT_GT(norm, 0.0) << t.name << " has no gradient";
  }
}

TEST_P(ModelGrad, EveryTensorMatchesCentralDifferences) {
  check_model_gradients(testing::small_config(GetParam()), 0);
}

INSTANTIATE_TEST_SUITE_P(AllEncodings, ModelGrad, ::testing::ValuesIn(testing::all_model_cases()),
                         [](const auto& info) { return info.param.label(); });

TEST(ModelGradDropout, T5FamilyWithDropoutMasksFixedByTheKey) {
  ModelConfig c = testing::small_config({"t5", "t5_bias"});
  c.dropout = 0.2f;
  check_model_gradients(c, 12345);
}

TEST(ModelGradDropout, DropoutChangesTheLossAndTheKeyIsDeterministic) {
  ModelConfig c = testing::small_config({"t5", "rotary"});
  c.dropout = 0.3f;
  Transformer model(c);
  model.init_weights(1);
  const Batch batch = testing::sample_batch(c.vocab_size, 2);
  const double a = model.forward_backward(batch, 1), b = model.forward_backward(batch, 1);
  const double other = model.forward_backward(batch, 2), eval = model.loss(batch);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, other);
  EXPECT_NE(a, eval);
}

}  // namespace
}  // namespace lengen
