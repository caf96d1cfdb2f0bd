// Training: determinism, overfitting a fixed batch, exact resumption, schedules.
#include <gtest/gtest.h>

#include "file_test_support.h"

#include <cmath>
#include <filesystem>

#include "io/safetensors.h"
#include "model/checkpoint.h"
#include "model_fixtures.h"
#include "train/optimizer.h"
#include "train/trainer.h"
#include "util/error.h"

namespace fs = std::filesystem;

namespace lengen {
namespace {

TrainingRun small_run(const std::string& dir, const std::string& pe, float dropout) {
  TrainingRun run;
  run.dir = dir;
  run.model = testing::small_config({"t5", pe});
  run.model.dropout = dropout;
  run.train.steps = 12;
  run.train.batch_size = 3;
  run.train.optim.lr = 1e-2f;
  run.train.optim.weight_decay = 0.05f;
  run.train.schedule.warmup_steps = 3;
  run.train.checkpoint_every = 4;
  run.train.log_every = 2;
  run.quiet = true;
  const int V = run.model.vocab_size;
  run.next_batch = [V](int64_t step) { return testing::sample_batch(V, uint64_t(step)); };
  return run;
}

std::vector<float> final_params(const std::string& dir) {
  auto model = load_model(dir + "/checkpoint");
  return model->params_to_host();
}

TEST(Training, SameSeedGivesBitIdenticalResults) {
  for (const char* pe : {"t5_bias", "rotary", "alibi_learned"}) {
    const std::string a = testing::scratch_dir(std::string("det_a_") + pe), b = testing::scratch_dir(std::string("det_b_") + pe);
    train(small_run(a, pe, 0.1f));
    train(small_run(b, pe, 0.1f));
    EXPECT_EQ(final_params(a), final_params(b)) << pe;
    fs::remove_all(a);
    fs::remove_all(b);
  }
}

TEST(Training, ResumedRunEqualsUninterruptedRun) {
  for (const char* pe : {"t5_bias", "abs_learned", "rotary"}) {
    const std::string straight = testing::scratch_dir(std::string("straight_") + pe);
    const std::string resumed = testing::scratch_dir(std::string("resumed_") + pe);
    train(small_run(straight, pe, 0.1f));
    // Interrupt at step 6 (the last checkpoint was at 4... and the stop writes one at 6), then
    // resume in a fresh model and optimizer.
    TrainingRun first = small_run(resumed, pe, 0.1f);
    first.stop_at_step = 6;
    train(first);
    const TrainResult r = train(small_run(resumed, pe, 0.1f));
    EXPECT_EQ(r.resumed_from, 6);
    EXPECT_EQ(final_params(straight), final_params(resumed)) << pe;
    fs::remove_all(straight);
    fs::remove_all(resumed);
  }
}

TEST(Training, ResumeRefusesADifferentConfig) {
  const std::string dir = testing::scratch_dir("refuse");
  TrainingRun run = small_run(dir, "nope", 0.0f);
  run.stop_at_step = 4;
  train(run);
  TrainingRun other = small_run(dir, "nope", 0.0f);
  other.train.optim.lr = 0.5f;
  try {
    train(other);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("different config"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(Training, TinyModelOverfitsAFixedBatch) {
  // A 2-layer model memorises 3 short sequences: the mean target loss must fall from about
  // log(11) = 2.4 to below 0.05 in 150 Adam steps.
  const ModelConfig c = testing::small_config({"t5", "rotary"});
  Transformer model(c);
  model.init_weights(0);
  OptimizerConfig oc;
  oc.lr = 1e-2f;
  AdamW opt(model, oc);
  const Batch batch = testing::sample_batch(c.vocab_size, 42);
  const double initial = testing::loss_of(model, batch);
  Workspace ws(model);
  for (int s = 0; s < 150; ++s) {
    model.zero_grads();
    forward_backward(model, batch, ws, 0);
    opt.step(model, oc.lr);
  }
  const double final_loss = testing::loss_of(model, batch);
  EXPECT_GT(initial, 1.5);
  EXPECT_LT(final_loss, 0.05) << "initial " << initial;
}

TEST(Schedules, WarmupThenDecay) {
  ScheduleConfig s;
  s.warmup_steps = 10;
  s.kind = "linear";
  s.end_lr = 0.0f;
  EXPECT_FLOAT_EQ(learning_rate(s, 1.0f, 5, 110), 0.5f);
  EXPECT_FLOAT_EQ(learning_rate(s, 1.0f, 10, 110), 1.0f);
  EXPECT_FLOAT_EQ(learning_rate(s, 1.0f, 60, 110), 0.5f);
  EXPECT_FLOAT_EQ(learning_rate(s, 1.0f, 110, 110), 0.0f);
  s.kind = "cosine";
  EXPECT_NEAR(learning_rate(s, 1.0f, 60, 110), 0.5f, 1e-6);
  s.kind = "polynomial";
  s.power = 2.0f;
  EXPECT_NEAR(learning_rate(s, 1.0f, 60, 110), 0.25f, 1e-6);
  s.kind = "constant";
  EXPECT_FLOAT_EQ(learning_rate(s, 1.0f, 100, 110), 1.0f);
  ScheduleConfig f;  // warm-up as a fraction of the steps (the paper: 6%)
  f.warmup_fraction = 0.06;
  f.end_lr = 1e-7f;
  EXPECT_FLOAT_EQ(learning_rate(f, 3e-5f, 60, 1000), 3e-5f);
  EXPECT_NEAR(learning_rate(f, 3e-5f, 30, 1000), 1.5e-5f, 1e-12);
  EXPECT_NEAR(learning_rate(f, 3e-5f, 1000, 1000), 1e-7f, 1e-12);
}

TEST(Optimizer, ClippingAndDecayExclusions) {
  const ModelConfig c = testing::small_config({"t5", "t5_bias"});
  Transformer model(c);
  model.init_weights(0);
  OptimizerConfig oc;
  oc.weight_decay = 0.1f;
  oc.no_decay = {"norm", "pe."};
  oc.grad_clip = 0.5f;
  AdamW opt(model, oc);
  for (size_t i = 0; i < model.layout().tensors().size(); ++i) {
    const auto& name = model.layout()[int(i)].name;
    const bool expect = name.find("norm") == std::string::npos && name.find("pe.") == std::string::npos;
    EXPECT_EQ(opt.decays(int(i)), expect) << name;
  }
  model.zero_grads();
  testing::forward_backward_of(model, testing::sample_batch(c.vocab_size, 1), 0);
  const double norm = opt.step(model, 1e-3f);
  const std::vector<float> g = model.grads_to_host();  // clipped in place
  double after = 0;
  for (float x : g) after += double(x) * x;
  EXPECT_GT(norm, 0.5);
  EXPECT_NEAR(std::sqrt(after), 0.5, 1e-3);
}

// train.lr_scaling = init_std: Adam's first step moves every entry by about lr (m / sqrt(v) is
// +-1 at step 1); scaled, a tensor's entries move by lr times the std it was initialised with,
// so the t5 family's N(0,1) embedding and its (D dh)^-1/2 queries move by the same fraction.
TEST(Optimizer, LrScalingByInitStdScalesEachTensorsStep) {
  const ModelConfig c = testing::small_config({"t5", "nope"});
  for (const bool scaled : {false, true}) {
    Transformer model(c);
    model.init_weights(0);
    OptimizerConfig oc;
    oc.grad_clip = 0;
    oc.lr_scale_by_init = scaled;
    AdamW opt(model, oc);
    const std::vector<float> before = model.params_to_host();
    model.zero_grads();
    testing::forward_backward_of(model, testing::sample_batch(c.vocab_size, 1), 0);
    const std::vector<float> g = model.grads_to_host();
    const float lr = 1e-3f;
    opt.step(model, lr);
    const std::vector<float> after = model.params_to_host();
    for (const auto& t : model.layout().tensors()) {
      const float expected = scaled && t.init == Init::Normal ? lr * t.init_std : lr;
      int checked = 0;
      for (size_t k = 0; k < t.numel; ++k) {
        const size_t i = t.offset + k;
        if (std::fabs(g[i]) < 1e-6f) continue;  // eps dominates: no unit step
        EXPECT_NEAR(std::fabs(after[i] - before[i]), expected, 0.02 * expected) << t.name << "[" << k << "]";
        if (++checked == 8) break;
      }
    }
  }
  EXPECT_TRUE(TrainConfig::from_json({{"lr_scaling", "init_std"}}).optim.lr_scale_by_init);
  EXPECT_EQ(TrainConfig::from_json({{"lr_scaling", "init_std"}}).to_json()["lr_scaling"], "init_std");
  EXPECT_FALSE(TrainConfig::from_json(nlohmann::json::object()).to_json().contains("lr_scaling"));
  EXPECT_THROW(TrainConfig::from_json({{"lr_scaling", "adafactor"}}), Error);
}

}  // namespace
}  // namespace lengen
