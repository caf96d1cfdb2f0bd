// FLOP and memory accounting of src/model/cost.h against counts worked out by hand.
#include <gtest/gtest.h>

#include "arch/model_config.h"
#include "model/cost.h"

namespace lengen {
namespace {

ModelConfig small_config(FfnKind ffn) {
  ModelConfig c;
  c.vocab_size = 10, c.d_model = 8, c.n_layers = 2, c.n_heads = 2, c.d_head = 4, c.d_ff = 16;
  c.ffn = ffn;
  return c;
}

TEST(Cost, ForwardFlopsCountLinearLayersHeadAndDenseAttention) {
  const ModelConfig c = small_config(FfnKind::Relu);
  // per token: layers 2 * (q,k,v,o 4*8*8 + up/down 2*8*16) + head 8*10 = 2*512 + 80 = 1104 MACs
  // attention per layer per row: q k^T and P v, 2 * T*T * H*dh = 2*3*3*8 = 144 MACs
  const double B = 2, T = 3;
  const double macs = B * T * 1104 + B * 2 * 144;
  EXPECT_DOUBLE_EQ(forward_flops(c, 2, 3), 2 * macs);
  EXPECT_DOUBLE_EQ(training_step_flops(c, 2, 3), 6 * macs);
  // SwiGLU adds the gate matrix: 8*16 more MACs per token per layer.
  EXPECT_DOUBLE_EQ(forward_flops(small_config(FfnKind::SwiGlu), 2, 3), 2 * (macs + B * T * 2 * 128));
}

TEST(Cost, DecodeFlopsArePromptForwardPlusOneTokenStepsAgainstTheCache) {
  const ModelConfig c = small_config(FfnKind::Relu);
  // prompt 3, 3 new tokens: forward of the prompt, then steps with 4 and 5 keys.
  const double step_macs = 1104 + 2 * (2.0 * 4 * 8) + 1104 + 2 * (2.0 * 5 * 8);
  EXPECT_DOUBLE_EQ(decode_flops(c, 2, 3, 3), forward_flops(c, 2, 3) + 2 * 2 * step_macs);
  EXPECT_DOUBLE_EQ(decode_flops(c, 2, 3, 1), forward_flops(c, 2, 3));
}

TEST(Cost, TrainingMemoryAddsStateActivationsAndScratch) {
  const ModelConfig c = small_config(FfnKind::Relu);
  const TrainingMemory m = training_memory(c, 1000, 2, 3);
  EXPECT_EQ(m.parameters, 4000u);
  EXPECT_EQ(m.gradients, 4000u);
  EXPECT_EQ(m.optimizer, 8000u);
  // N = 6: per layer 4*6*8 + 4*6*8 + 6*2 (log-sum-exp per query and head; no probabilities) +
  // 2*6*16 + 4*6 = 192+192+12+192+24 = 612 floats; final stream and norm 2*6*8 = 96, logits
  // 6*10 = 60.
  EXPECT_EQ(m.activations, (2 * 612 + 96 + 60) * 4u);
  EXPECT_EQ(m.scratch, (3 * 48 + 2 * 96 + 4 * 48) * 4u);
  EXPECT_EQ(m.total(), m.parameters + m.gradients + m.optimizer + m.activations + m.scratch);
}

}  // namespace
}  // namespace lengen
