// Whole-model finite-difference gradient checks, for every encoding and both families: every
// parameter tensor (learned encoding tensors included) at its largest-gradient coordinates.
#include <gtest/gtest.h>

#include "model/transformer.h"
#include "model_fixtures.h"
#include "model_grad_check.h"
#include "test_support.h"

namespace lengen {
namespace {

using testing::ModelCase;

class ModelGrad : public ::testing::TestWithParam<ModelCase> {};

TEST_P(ModelGrad, EveryTensorMatchesCentralDifferences) {
  testing::check_model_gradients(testing::small_config(GetParam()), 0);
}

INSTANTIATE_TEST_SUITE_P(AllEncodings, ModelGrad, ::testing::ValuesIn(testing::all_model_cases()),
                         [](const auto& info) { return info.param.label(); });

TEST(ModelGradDropout, T5FamilyWithDropoutMasksFixedByTheKey) {
  ModelConfig c = testing::small_config({"t5", "t5_bias"});
  c.dropout = 0.2f;
  testing::check_model_gradients(c, 12345);
}

TEST(ModelGradDropout, DropoutChangesTheLossAndTheKeyIsDeterministic) {
  ModelConfig c = testing::small_config({"t5", "rotary"});
  c.dropout = 0.3f;
  Transformer model(c);
  model.init_weights(1);
  const Batch batch = testing::sample_batch(c.vocab_size, 2);
  const double a = testing::forward_backward_of(model, batch, 1), b = testing::forward_backward_of(model, batch, 1);
  const double other = testing::forward_backward_of(model, batch, 2), eval = testing::loss_of(model, batch);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, other);
  EXPECT_NE(a, eval);
}

}  // namespace
}  // namespace lengen
