// Checkpoints, configs and the run-directory lock: round trips, and bad input rejected with a
// clear error, never a crash (including randomly corrupted files).
#include <gtest/gtest.h>

#include "file_test_support.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "io/atomic_file.h"
#include "io/dir_lock.h"
#include "io/safetensors.h"
#include "model/checkpoint.h"
#include "model_fixtures.h"
#include "util/error.h"

namespace fs = std::filesystem;

namespace lengen {
namespace {

TEST(Checkpoint, SaveLoadRoundTripForEveryEncoding) {
  for (const auto& c : testing::all_model_cases()) {
    const std::string dir = testing::scratch_dir("rt_" + c.label());
    Transformer model(testing::small_config(c));
    model.init_weights(21);
    save_model(dir, model);
    auto loaded = load_model(dir);
    EXPECT_EQ(loaded->params_to_host(), model.params_to_host()) << c.label();
    EXPECT_EQ(loaded->config().to_json(), model.config().to_json());
    const Batch batch = testing::sample_batch(model.config().vocab_size, 3);
    EXPECT_EQ(testing::score_of(*loaded, batch), testing::score_of(model, batch)) << c.label();
    fs::remove_all(dir);
  }
}

TEST(Checkpoint, LlamaStyleTensorNames) {
  Transformer model(testing::small_config({"llama", "t5_bias"}));
  const auto& l = model.layout();
  for (const char* name :
       {"model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight",
        "model.layers.1.self_attn.o_proj.weight", "model.layers.0.mlp.gate_proj.weight",
        "model.layers.0.mlp.up_proj.weight", "model.layers.0.mlp.down_proj.weight",
        "model.layers.0.input_layernorm.weight", "model.layers.0.post_attention_layernorm.weight",
        "model.norm.weight", "lm_head.weight", "model.pe.t5_bias.weight"})
    EXPECT_GE(l.find(name), 0) << name;
  EXPECT_EQ(l[l.find("model.pe.t5_bias.weight")].shape, (std::vector<int64_t>{8, 2}));
  // One table shared by all layers: no per-layer copies.
  int bias_tables = 0;
  for (const auto& t : l.tensors()) bias_tables += t.name.find("t5_bias") != std::string::npos;
  EXPECT_EQ(bias_tables, 1);
}

TEST(Checkpoint, MissingExtraAndMisshapenTensorsAreNamed) {
  const std::string dir = testing::scratch_dir("bad");
  Transformer model(testing::small_config({"t5", "abs_learned"}));
  model.init_weights(1);
  save_model(dir, model);
  const std::string path = dir + "/model.safetensors";
  const std::vector<float> params = model.params_to_host();  // the tensors point into it
  auto write_with = [&](const std::function<void(std::vector<io::TensorToWrite>&)>& edit) {
    std::vector<io::TensorToWrite> ts;
    for (const auto& t : model.layout().tensors()) ts.push_back({t.name, t.shape, params.data() + t.offset});
    edit(ts);
    io::save_safetensors(path, ts);
  };
  write_with([](auto& ts) { ts.erase(ts.begin() + 1); });
  EXPECT_NE(testing::error_of([&] { load_model(dir); }).find("missing tensor"), std::string::npos);
  const float extra[2] = {1, 2};
  write_with([&](auto& ts) { ts.push_back({"model.unknown", {2}, extra}); });
  EXPECT_NE(testing::error_of([&] { load_model(dir); }).find("unexpected tensor 'model.unknown'"),
            std::string::npos);
  write_with([](auto& ts) { ts[0].shape = {ts[0].shape[1], ts[0].shape[0]}; });
  const std::string msg = testing::error_of([&] { load_model(dir); });
  EXPECT_NE(msg.find("has shape"), std::string::npos) << msg;
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  fs::remove_all(dir);
}

TEST(Checkpoint, RandomlyCorruptedFilesAreRejectedOrLoadedNeverCrash) {
  const std::string dir = testing::scratch_dir("fuzz");
  Transformer model(testing::small_config({"t5", "t5_bias"}));
  model.init_weights(2);
  save_model(dir, model);
  const std::string good = io::read_file(dir + "/model.safetensors");
  Rng rng(1234);
  int rejected = 0, loaded = 0;
  for (int trial = 0; trial < 300; ++trial) {
    std::string bad = good;
    switch (trial % 3) {
      case 0:  // truncation anywhere
        bad.resize(rng.below(good.size()));
        break;
      case 1:  // flip bytes in the length prefix and header
        for (int i = 0; i < 1 + int(rng.below(4)); ++i)
          bad[rng.below(std::min<size_t>(bad.size(), 400))] ^= char(1 + rng.below(255));
        break;
      case 2:  // overwrite a random stretch with random bytes
        for (size_t i = rng.below(bad.size()), n = 0; i < bad.size() && n < 16; ++i, ++n)
          bad[i] = char(rng.below(256));
        break;
    }
    io::write_file_atomic(dir + "/model.safetensors", bad);
    try {
      load_model(dir);
      ++loaded;  // corruption confined to the data bytes: a valid file with other values
    } catch (const Error& e) {
      ++rejected;
      EXPECT_NE(std::string(e.what()).find("model.safetensors"), std::string::npos) << e.what();
    }
  }
  EXPECT_GT(rejected, 100);
  fs::remove_all(dir);
}

TEST(Checkpoint, TruncatedOrInvalidConfigIsReported) {
  const std::string dir = testing::scratch_dir("cfg");
  Transformer model(testing::small_config({"t5", "nope"}));
  save_model(dir, model);
  const std::string text = io::read_file(dir + "/config.json");
  io::write_file_atomic(dir + "/config.json", text.substr(0, text.size() / 2));
  std::string msg = testing::error_of([&] { load_model(dir); });
  EXPECT_NE(msg.find("config.json: invalid JSON"), std::string::npos) << msg;
  EXPECT_NE(testing::error_of([&] { load_model(dir + "/nowhere"); }).find("not a checkpoint directory"),
            std::string::npos);
  fs::remove_all(dir);
}

TEST(Checkpoint, InterruptedDirectorySwapFallsBackToThePreviousCheckpoint) {
  const std::string dir = testing::scratch_dir("swap");
  Transformer model(testing::small_config({"t5", "nope"}));
  model.init_weights(4);
  save_model(dir, model);
  // Simulate a kill between "move old aside" and "move new into place".
  fs::rename(dir, dir + ".old");
  fs::create_directories(dir + ".tmp");
  auto loaded = load_model(dir);
  EXPECT_EQ(loaded->params_to_host(), model.params_to_host());
  save_model(dir, model);  // the next save cleans up
  EXPECT_FALSE(fs::exists(dir + ".old"));
  EXPECT_FALSE(fs::exists(dir + ".tmp"));
  fs::remove_all(dir);
}

TEST(RunLock, SecondProcessIsRefusedWithThePidAndAKilledHolderLeavesNoStaleLock) {
  testing::TempDir dir;
  const std::string run = dir.file("run");
  {
    io::DirectoryLock a(run);
    io::DirectoryLock again(run);  // re-entrant within the process
  }
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // holds the lock until killed
    io::DirectoryLock held(run);
    const char c = 1;
    if (::write(ready[1], &c, 1) != 1) ::_exit(2);
    for (;;) ::pause();
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  const std::string e = testing::error_of([&] { io::DirectoryLock b(run); });
  EXPECT_NE(e.find("in use by another lengen process"), std::string::npos) << e;
  EXPECT_NE(e.find("pid " + std::to_string(child)), std::string::npos) << e;
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ::close(ready[0]);
  ::close(ready[1]);
  io::DirectoryLock after(run);  // released by the kernel when the holder died
}

TEST(Config, UnknownKeysAndBadValuesNameTheKeyAndTheAllowedValues) {
  auto err = [](const nlohmann::json& j) { return testing::error_of([&] { model_config_from_json(j, "c.json"); }); };
  std::string m = err({{"d_modle", 4}});
  EXPECT_NE(m.find("c.json: unknown key 'd_modle'"), std::string::npos) << m;
  EXPECT_NE(m.find("d_model"), std::string::npos) << m;
  m = err({{"ffn", "tanh"}});
  EXPECT_NE(m.find("allowed values: relu, gelu, swiglu, geglu"), std::string::npos) << m;
  m = err({{"pe", {{"type", "rope"}}}});
  EXPECT_NE(m.find("'pe.type'"), std::string::npos) << m;
  EXPECT_NE(m.find("alibi, alibi_learned"), std::string::npos) << m;
  m = err({{"pe", {{"type", "t5_bias"}, {"buckets", 8}}}});
  EXPECT_NE(m.find("unknown key 'pe.buckets'"), std::string::npos) << m;
  EXPECT_NE(m.find("num_buckets"), std::string::npos) << m;
  m = err({{"pe", {{"type", "rotary"}, {"pairing", "zigzag"}}}});
  EXPECT_NE(m.find("allowed values: interleaved, half"), std::string::npos) << m;
  m = err({{"n_heads", 0}});
  EXPECT_NE(m.find("'n_heads' must be positive"), std::string::npos) << m;
  m = err({{"family", "bert"}});
  EXPECT_NE(m.find("allowed values: t5, llama, gpt2"), std::string::npos) << m;
}

TEST(Config, FamilyPresetsFollowTheSpec) {
  const ModelConfig t5 = model_config_from_json({{"family", "t5"}});
  EXPECT_FALSE(t5.qk_scale);
  EXPECT_TRUE(t5.tie_embeddings && t5.output_scale);
  EXPECT_EQ(t5.ffn, FfnKind::Relu);
  EXPECT_FLOAT_EQ(t5.norm_eps, 1e-6f);
  const ModelConfig llama = model_config_from_json({{"family", "llama"}});
  EXPECT_TRUE(llama.qk_scale);
  EXPECT_FALSE(llama.tie_embeddings);
  EXPECT_EQ(llama.ffn, FfnKind::SwiGlu);
  EXPECT_FLOAT_EQ(llama.norm_eps, 1e-5f);
  EXPECT_EQ(model_config_from_json(llama.to_json()).to_json(), llama.to_json());
}

TEST(Config, PositionBeyondTheLearnedTableIsAClearError) {
  ModelConfig c = testing::small_config({"t5", "abs_learned"});
  c.pe["max_positions"] = 8;
  Transformer model(c);
  std::vector<int32_t> row(12, 3);
  const std::string m = testing::error_of([&] { testing::score_of(model, make_batch({row}, 0)); });
  EXPECT_NE(m.find("position 8"), std::string::npos) << m;
  EXPECT_NE(m.find("8 positions"), std::string::npos) << m;
  // Decoding past the table fails the same way.
  const std::string d = testing::error_of([&] { greedy_decode(model, {std::vector<int32_t>(8, 3)}, 4, 2); });
  EXPECT_NE(d.find("outside the learned table"), std::string::npos) << d;
}

}  // namespace
}  // namespace lengen
