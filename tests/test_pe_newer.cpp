// Hand-computed values of the encodings beyond the two papers: rotary's context-extension
// frequencies and temperature, xPos's decay, KERPLE's kernels and FIRE's normalised input.
#include <gtest/gtest.h>

#include <cmath>

#include "file_test_support.h"
#include "model/checkpoint.h"
#include "arch/model_config.h"
#include "model/model_overrides.h"
#include "model/transformer.h"
#include "model_fixtures.h"
#include "pe_plan_support.h"
#include "pe/encodings.h"
#include "pe/rotary_math.h"
#include "util/error.h"

namespace lengen {
namespace {

ModelConfig config_with(const nlohmann::json& pe, int n_heads = 2, int d_head = 8) {
  return model_config_from_json({{"family", "llama"}, {"vocab_size", 7}, {"d_model", 16},
                                 {"n_layers", 1}, {"n_heads", n_heads}, {"d_head", d_head},
                                 {"d_ff", 16}, {"pe", pe}},
                                "test");
}

RopeScaling scaling(const std::string& kind, double factor, int original = 0) {
  RopeScaling s;
  s.kind = kind;
  s.factor = factor;
  s.original_max_positions = original;
  return s;
}

TEST(RopeScalingFreq, NoneIsBasePowers) {
  const auto f = rotary_inv_freq(4, 10000, {});
  EXPECT_FLOAT_EQ(f[0], 1.0f);
  EXPECT_FLOAT_EQ(f[1], 0.01f);  // 10000^(-2/4)
}

TEST(RopeScalingFreq, LinearDividesEveryFrequencyByTheFactor) {
  const auto f = rotary_inv_freq(4, 10000, scaling("linear", 2));
  EXPECT_FLOAT_EQ(f[0], 0.5f);
  EXPECT_FLOAT_EQ(f[1], 0.005f);
}

TEST(RopeScalingFreq, NtkRaisesTheBase) {
  // base' = 10000 * 2^(4 / (4 - 2)) = 40000: frequencies 1 and 40000^(-1/2) = 1/200.
  const auto f = rotary_inv_freq(4, 10000, scaling("ntk", 2));
  EXPECT_FLOAT_EQ(f[0], 1.0f);
  EXPECT_NEAR(f[1], 1.0 / 200, 1e-8);
}

TEST(RopeScalingFreq, YarnKeepsFastPairsAndInterpolatesSlowOnes) {
  // rdim 8, base 1e4, factor 4, original context 16, beta 32 / 1:
  // correction dim(32) = 8 ln(16 / (64 pi)) / (2 ln 1e4) = -1.10 -> floor -2 -> clamped 0;
  // correction dim(1)  = 8 ln(16 / (2 pi))  / (2 ln 1e4) =  0.41 -> ceil 1.
  // Ramp (t - 0) / (1 - 0): pair 0 keeps its frequency, pairs 1..3 are divided by 4.
  const auto f = rotary_inv_freq(8, 10000, scaling("yarn", 4, 16));
  EXPECT_FLOAT_EQ(f[0], 1.0f);
  EXPECT_NEAR(f[1], 0.1 / 4, 1e-8);
  EXPECT_NEAR(f[2], 0.01 / 4, 1e-9);
  EXPECT_NEAR(f[3], 0.001 / 4, 1e-10);
  EXPECT_NEAR(rotary_attention_factor(scaling("yarn", 4, 16)), 0.1 * std::log(4.0) + 1, 1e-12);
  EXPECT_EQ(rotary_attention_factor(scaling("ntk", 4)), 1.0);
}

TEST(RopeScalingFreq, YarnRampBetweenBounds) {
  // rdim 64, base 1e4, factor 8, original 64: low = floor(64 ln(64/(64 pi)) / (2 ln 1e4)) =
  // floor(-3.98) -> 0, high = ceil(64 ln(64/(2 pi)) / 18.42) = ceil(8.06) = 9. Pair 4 is
  // 4/9 of the way: inv = theta/8 * 4/9 + theta * 5/9.
  const auto f = rotary_inv_freq(64, 10000, scaling("yarn", 8, 64));
  const double theta4 = std::pow(10000.0, -8.0 / 64);
  EXPECT_NEAR(f[4], theta4 / 8 * 4 / 9 + theta4 * 5 / 9, 1e-6);
  EXPECT_NEAR(f[20], std::pow(10000.0, -40.0 / 64) / 8, 1e-7);
}

TEST(RopeScalingOptions, YarnNeedsTheOriginalLengthAndFactorAtLeastOne) {
  EXPECT_THROW(make_positional_encoding(config_with({{"type", "rotary"}, {"scaling", "yarn"},
                                                     {"scaling_factor", 2.0}})),
               Error);
  EXPECT_THROW(make_positional_encoding(config_with({{"type", "rotary"}, {"scaling", "linear"},
                                                     {"scaling_factor", 0.5}})),
               Error);
  EXPECT_THROW(make_positional_encoding(config_with({{"type", "rotary"}, {"scaling", "big"}})),
               Error);
  EXPECT_THROW(make_positional_encoding(config_with({{"type", "rotary"}, {"scaling", "ntk"},
                                                     {"rotary_dim", 2}})),
               Error);
}

TEST(RopeScalingOptions, YarnTemperatureScalesQueriesAndKeys) {
  const auto pe = make_positional_encoding(config_with(
      {{"type", "rotary"}, {"scaling", "yarn"}, {"scaling_factor", 4.0},
       {"original_max_positions", 16}}, 1, 2));
  std::vector<float> x = {3.0f, 0.0f};
  testing::rotate_at(*pe, 0, x, 1, 2, false);  // no rotation at position 0: only the temperature
  EXPECT_NEAR(x[0], 3 * (0.1 * std::log(4.0) + 1), 1e-6);
  EXPECT_NEAR(x[1], 0.0, 1e-7);
}

TEST(XPos, QueryKeyProductDecaysWithDistance) {
  // One pair per head (d_head 2), scale_base 1: zeta = 0.4 / 1.4, theta = 1.
  // q = k = (1, 0), q at 2, k at 1: q'.k' = zeta^2 zeta^-1 cos(2 - 1) = zeta cos(1).
  const auto pe = make_positional_encoding(
      config_with({{"type", "xpos"}, {"scale_base", 1.0}}, 1, 2));
  std::vector<float> q = {1, 0}, k = {1, 0};
  testing::rotate_at(*pe, 2, q, 1, 2, false);
  testing::rotate_at(*pe, 1, k, 1, 2, true);
  const double zeta = 0.4 / 1.4;
  EXPECT_NEAR(q[0] * k[0] + q[1] * k[1], zeta * std::cos(1.0), 1e-6);
  // The same distance elsewhere gives the same product (relative decay).
  std::vector<float> q2 = {1, 0}, k2 = {1, 0};
  testing::rotate_at(*pe, 7, q2, 1, 2, false);
  testing::rotate_at(*pe, 6, k2, 1, 2, true);
  EXPECT_NEAR(q2[0] * k2[0] + q2[1] * k2[1], zeta * std::cos(1.0), 1e-5);
}

TEST(XPos, PositionsThatOverflowAreAnError) {
  const auto pe = make_positional_encoding(config_with({{"type", "xpos"}, {"scale_base", 1.0}}));
  EXPECT_THROW(check_index_positions(*pe, 101), Error);
  EXPECT_NO_THROW(check_index_positions(*pe, 40));
}

using testing::bias_at;
using testing::set_param;

TEST(Kerple, LogAndPowerKernelsAtInitialisation) {
  // H = 2: ALiBi slopes 2^-4 and 2^-8.
  Transformer log_model(config_with({{"type", "kerple"}, {"variant", "log"}}));
  log_model.init_weights(1);
  EXPECT_NEAR(bias_at(log_model, 5, 2, 0), -std::log(1 + 3.0 / 16), 1e-6);
  EXPECT_NEAR(bias_at(log_model, 5, 2, 1), -std::log(1 + 3.0 / 256), 1e-6);
  Transformer power_model(config_with({{"type", "kerple"}, {"variant", "power"}}));
  power_model.init_weights(1);
  EXPECT_NEAR(bias_at(power_model, 5, 2, 0), -3.0 / 16, 1e-6);  // = ALiBi
  EXPECT_EQ(bias_at(power_model, 4, 4, 0), 0.0f);
  // r1 = 2, r2 = 0.5: -2 * sqrt(9) = -6.
  set_param(power_model, "model.pe.kerple.log_r1", 1, std::log(2.0f));
  set_param(power_model, "model.pe.kerple.log_r2", 1, std::log(0.5f));
  EXPECT_NEAR(bias_at(power_model, 10, 1, 1), -6.0, 1e-5);
}

TEST(Fire, BiasIsTheMlpOfTheNormalisedLogDistance) {
  // c = 1, L = 2, one hidden unit relu(u), heads weighted 1 and 2:
  // b_h(i, j) = w_h * log(1 + |i - j|) / log(1 + max(2, i)).
  Transformer model(config_with({{"type", "fire"}, {"width", 1}}));
  model.init_weights(1);
  set_param(model, "model.pe.fire.log_c", 0, 0.0f);
  set_param(model, "model.pe.fire.log_threshold", 0, std::log(2.0f));
  set_param(model, "model.pe.fire.mlp.0.weight", 0, 1.0f);
  set_param(model, "model.pe.fire.mlp.0.bias", 0, 0.0f);
  set_param(model, "model.pe.fire.mlp.2.weight", 0, 1.0f);
  set_param(model, "model.pe.fire.mlp.2.weight", 1, 2.0f);
  EXPECT_NEAR(bias_at(model, 3, 1, 0), std::log(3.0) / std::log(4.0), 1e-6);
  EXPECT_NEAR(bias_at(model, 3, 1, 1), 2 * std::log(3.0) / std::log(4.0), 1e-6);
  // Below the threshold the normaliser is psi(L): i = 1, j = 0 -> log 2 / log 3.
  EXPECT_NEAR(bias_at(model, 1, 0, 0), std::log(2.0) / std::log(3.0), 1e-6);
  // Same relative distance at the query's own length: always 1.
  EXPECT_NEAR(bias_at(model, 40, 0, 0), 1.0, 1e-6);
  EXPECT_NEAR(bias_at(model, 400, 0, 0), 1.0, 1e-6);
}

TEST(RopeScalingAtEvaluation, OverridesRebuildTheEncodingOnTheSameWeights) {
  testing::TempDir dir;
  Transformer trained(config_with({{"type", "rotary"}}));
  trained.init_weights(9);
  save_model(dir.file("ckpt"), trained);
  const Batch batch = make_batch({{1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6, 1, 2}}, 0);
  auto plain = load_model_with_overrides(dir.file("ckpt"), {});
  auto yarn = load_model_with_overrides(
      dir.file("ckpt"), {"model.pe.scaling=yarn", "pe.scaling_factor=4", "pe.original_max_positions=4"});
  EXPECT_EQ(yarn->config().pe.at("scaling"), "yarn");
  EXPECT_EQ(testing::loss_of(*plain, batch), testing::loss_of(trained, batch));
  EXPECT_NE(testing::loss_of(*yarn, batch), testing::loss_of(trained, batch));
  // A setting that changes the parameters is refused, naming the missing tensor.
  try {
    load_model_with_overrides(dir.file("ckpt"), {"pe.type=t5_bias"});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("t5_bias"), std::string::npos) << e.what();
  }
  EXPECT_THROW(load_model_with_overrides(dir.file("ckpt"), {"pe.scaling=sideways"}), Error);
}

}  // namespace
}  // namespace lengen
