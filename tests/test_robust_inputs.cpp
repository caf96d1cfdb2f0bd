// Issue 16, part B: corrupt or mistyped user files are errors naming the file, line, key or
// tensor (never an internal error, a silent acceptance or an allocation the file cannot back).
// One test per finding of the mutation fuzzer, each failing on the code before its fix.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

#include <nlohmann/json.hpp>

#include "analysis/attention_capture.h"
#include "config/config_loader.h"
#include "data/jsonl.h"
#include "data/tokenizer.h"
#include "file_test_support.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "model/checkpoint.h"
#include "arch/param_layout.h"
#include "pe/positional_encoding.h"
#include "model_fixtures.h"
#include "pipeline/run_config.h"
#include "sweep/grid.h"
#include "cli_runner.h"
#include "train/trainer.h"
#include "util/json_config.h"
#include "util/json_parse.h"

namespace lengen {
namespace {

namespace fs = std::filesystem;
using testing::error_of;
using testing::TempDir;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A saved tiny checkpoint (t5 family, nope) in `dir`.
void save_tiny_model(const std::string& dir, const std::string& pe = "nope") {
  Transformer model(testing::small_config({"t5", pe}));
  model.init_weights(3);
  save_model(dir, model);
}

// The header length prefix of a safetensors file, and the file with a new one.
uint64_t header_length(const std::string& bytes) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(bytes[size_t(i)]);
  return n;
}
std::string with_header_length(std::string bytes, uint64_t n) {
  for (int i = 0; i < 8; ++i) bytes[size_t(i)] = char((n >> (8 * i)) & 0xff);
  return bytes;
}

// ---- safetensors ------------------------------------------------------------------------------

TEST(RobustSafetensors, TrailingBytesAfterTheLastTensorAreAnError) {
  const float values[3] = {1, 2, 3};
  const std::string good = io::serialize_safetensors({{"a", {3}, values}});
  EXPECT_NO_THROW(io::SafetensorsFile::parse(good, "x.safetensors"));
  const std::string msg = error_of([&] { io::SafetensorsFile::parse(good + "\x01", "x.safetensors"); });
  EXPECT_TRUE(contains(msg, "x.safetensors")) << msg;
  EXPECT_TRUE(contains(msg, "1 trailing bytes")) << msg;
}

TEST(RobustSafetensors, HeaderLengthOneByteShortIsCaughtNotReadOneByteOff) {
  // The header is padded with spaces to 8 bytes; dropping one padding byte from the length
  // still leaves parseable JSON, and every tensor would be read one byte off.
  const float values[3] = {1, 2, 3};
  const std::string good = io::serialize_safetensors({{"abc", {3}, values}});
  const uint64_t n = header_length(good);
  ASSERT_EQ(good[8 + n - 1], ' ') << "the fixture needs header padding";
  const std::string bad = with_header_length(good, n - 1);
  const std::string msg = error_of([&] { io::SafetensorsFile::parse(bad, "w.safetensors"); });
  EXPECT_TRUE(contains(msg, "w.safetensors: corrupt")) << msg;
}

TEST(RobustSafetensors, GapsBetweenTensorsAndNonObjectHeadersAreErrors) {
  const std::string header = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})";
  std::string file(8, '\0');
  file = with_header_length(file, header.size()) + header + std::string(8, '\0');
  EXPECT_TRUE(contains(error_of([&] { io::SafetensorsFile::parse(file, "g"); }), "belong to no tensor"));
  const std::string list = "[1, 2]";
  const std::string not_object = with_header_length(std::string(8, '\0'), list.size()) + list;
  EXPECT_TRUE(contains(error_of([&] { io::SafetensorsFile::parse(not_object, "h"); }), "must start with"));
}

TEST(RobustSafetensors, NonFiniteValuesAreErrorsNamingTheTensorForEveryDtype) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  for (const float bad : {nan, inf, -inf}) {
    const float values[3] = {1, bad, 3};
    const auto file = io::SafetensorsFile::parse(io::serialize_safetensors({{"w.q", {3}, values}}), "n");
    std::vector<float> out(3);
    const std::string msg = error_of([&] { file.read_f32("w.q", {3}, out.data()); });
    EXPECT_TRUE(contains(msg, "tensor 'w.q' holds a non-finite value")) << msg;
    EXPECT_TRUE(contains(msg, "at index 1")) << msg;
  }
  // An F64 beyond fp32's range becomes inf on conversion: an error too.
  const std::string header = R"({"d":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})";
  const double big = 1e300;
  std::string raw(8, '\0');
  std::memcpy(raw.data(), &big, 8);
  const auto file = io::SafetensorsFile::parse(
      with_header_length(std::string(8, '\0'), header.size()) + header + raw, "f64");
  float out = 0;
  EXPECT_TRUE(contains(error_of([&] { file.read_f32("d", {1}, &out); }), "non-finite"));
}

TEST(RobustCheckpoint, NanWeightsAreAnErrorNamingTheTensor) {
  TempDir tmp;
  const std::string dir = tmp.file("ckpt");
  save_tiny_model(dir);
  ASSERT_NO_THROW(load_model(dir));
  // Overwrite the first float of the data section (the first tensor in name order).
  std::string bytes = io::read_file(dir + "/model.safetensors");
  const auto file = io::SafetensorsFile::parse(bytes, "m");
  const std::string first = file.names().front();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(bytes.data() + file.info(first).offset, &nan, 4);
  io::write_file_atomic(dir + "/model.safetensors", bytes);
  const std::string msg = error_of([&] { load_model(dir); });
  EXPECT_TRUE(contains(msg, "model.safetensors: tensor '" + first + "' holds a non-finite value"))
      << msg;
}

// ---- a checkpoint's config against its weights ------------------------------------------------

// Rewrites one key of the checkpoint's model config.
void set_model_key(const std::string& dir, const std::string& key, const nlohmann::json& value) {
  nlohmann::json j = read_json_file(dir + "/config.json");
  j["model"][key] = value;
  io::write_file_atomic(dir + "/config.json", j.dump(2));
}

TEST(RobustCheckpoint, ConfigSizesBeyondTheWeightsFileAreErrorsBeforeAllocating) {
  TempDir tmp;
  const std::string dir = tmp.file("ckpt");
  save_tiny_model(dir);
  // d_ff 4,000,000 (1 GB of weights for a file of a few KB) is beyond the config limit.
  set_model_key(dir, "d_ff", 4000000);
  std::string msg = error_of([&] { load_model(dir); });
  EXPECT_TRUE(contains(msg, "config.json: model: key 'd_ff' must be positive and at most 1048576")) << msg;
  // Within the limit it is still far beyond the file: refused by the layout budget
  // (ParameterLayout::add runs before the buffer is allocated), naming the first tensor that
  // does not fit.
  set_model_key(dir, "d_ff", 1000000);
  msg = error_of([&] { load_model(dir); });
  EXPECT_TRUE(contains(msg, "config.json")) << msg;
  EXPECT_TRUE(contains(msg, "mlp.up_proj.weight' of shape [1000000, 16]")) << msg;
  EXPECT_TRUE(contains(msg, "more than the")) << msg;
  // More layers than the file has.
  save_tiny_model(dir);
  set_model_key(dir, "n_layers", 900);
  msg = error_of([&] { load_model(dir); });
  EXPECT_TRUE(contains(msg, "more than the")) << msg;
  // The embedding's rows name vocab_size.
  save_tiny_model(dir);
  set_model_key(dir, "vocab_size", 5000);
  msg = error_of([&] { load_model(dir); });
  EXPECT_TRUE(contains(msg, "model.safetensors: tensor 'model.embed_tokens.weight' has shape [11, 16]"))
      << msg;
  EXPECT_TRUE(contains(msg, "asks for [5000, 16] (keys 'vocab_size' and 'd_model')")) << msg;
}

TEST(RobustCheckpoint, HugeSizesAreErrorsNamingTheKey) {
  TempDir tmp;
  const std::string dir = tmp.file("ckpt");
  save_tiny_model(dir);
  set_model_key(dir, "vocab_size", 2147483647);
  EXPECT_TRUE(contains(error_of([&] { load_model(dir); }), "key 'vocab_size' must be positive and at most "));
  set_model_key(dir, "vocab_size", 11);
  set_model_key(dir, "n_layers", 20000);
  EXPECT_TRUE(contains(error_of([&] { load_model(dir); }), "key 'n_layers' must be positive and at most 1024"));
  // 2^32 + 2 used to wrap to 2.
  set_model_key(dir, "n_layers", 4294967298ull);
  EXPECT_TRUE(contains(error_of([&] { load_model(dir); }), "key 'n_layers' must be an integer in"));
  set_model_key(dir, "n_layers", 2);
  set_model_key(dir, "d_model", true);
  EXPECT_TRUE(contains(error_of([&] { load_model(dir); }), "key 'd_model' must be an integer"));
}

TEST(RobustCheckpoint, SizeProductsCannotOverflow) {
  // A FIRE model with 10^8 heads ended in "internal error: cannot create std::vector larger
  // than max_size()"; n_heads x d_head = 2^32 wrapped to 0 and wrote a wrong model.
  nlohmann::json j = {{"vocab_size", 11}, {"d_model", 16}, {"n_layers", 1}, {"n_heads", 100000000},
                      {"d_head", 8},      {"d_ff", 16},    {"pe", "fire"}};
  EXPECT_TRUE(contains(error_of([&] { ModelConfig::from_json(j, "c.json"); }), "key 'n_heads' must be"));
  j["n_heads"] = 4096;
  j["d_head"] = 65536;
  EXPECT_TRUE(contains(error_of([&] { ModelConfig::from_json(j, "c.json"); }),
                       "keys 'n_heads' x 'd_head' = 4096 x 65536 must be at most"));
  j["n_heads"] = 64;
  j["d_head"] = 4096;
  j["d_model"] = 65536;
  j["n_layers"] = 1024;
  EXPECT_TRUE(contains(error_of([&] { ModelConfig::from_json(j, "c.json"); }), "parameters, more than the limit"));
}

// The encoding-dependent limits live with the encodings (pe/registry.cpp), so this goes
// through model_config_from_json, the entry point every loader uses.
TEST(RobustCheckpoint, EncodingTablesCountTowardsTheLimits) {
  nlohmann::json j = {{"vocab_size", 11}, {"d_model", 16},  {"n_layers", 1}, {"n_heads", 2},
                      {"d_head", 8},      {"d_ff", 16},
                      {"pe", {{"type", "abs_learned"}, {"max_positions", 2147483647}}}};
  EXPECT_TRUE(contains(error_of([&] { model_config_from_json(j, "c.json"); }), "key 'pe'"));
  j["pe"]["max_positions"] = 4294967296.0 * 4 + 8;  // a float: not an integer
  EXPECT_TRUE(contains(error_of([&] { model_config_from_json(j, "c.json"); }), "pe.max_positions"));
  j["pe"] = {{"type", "fire"}, {"width", 4294967328ull}};  // 2^32 + 32 used to wrap to 32
  EXPECT_TRUE(contains(error_of([&] { model_config_from_json(j, "c.json"); }), "key 'pe.width'"));
}

TEST(RobustCheckpoint, ParameterLayoutFindsNamesByIndexAndRejectsDuplicates) {
  ParameterLayout layout;
  for (int i = 0; i < 50000; ++i) layout.add(fmt::format("t{}", i), {2}, Init::Zeros);
  EXPECT_EQ(layout.find("t49999"), 49999);
  EXPECT_EQ(layout.find("t0"), 0);
  EXPECT_EQ(layout.find("nope"), -1);
  EXPECT_EQ(layout.numel(), 100000u);
  EXPECT_TRUE(contains(error_of([&] { layout.add("t123", {1}, Init::Zeros); }), "duplicate"));
  const ParameterBudget budget(10, "w.safetensors");
  ParameterLayout small;
  small.add("a", {8}, Init::Zeros);
  EXPECT_TRUE(contains(error_of([&] { small.add("b", {3}, Init::Zeros); }),
                       "w.safetensors: the config needs tensor 'b' of shape [3]"));
}

TEST(RobustCheckpoint, ConfigFileOfAnotherFormatIsRefused) {
  TempDir tmp;
  const std::string dir = tmp.file("ckpt");
  save_tiny_model(dir);
  nlohmann::json j = read_json_file(dir + "/config.json");
  j["format"] = "lengen-dataset-1";
  io::write_file_atomic(dir + "/config.json", j.dump());
  EXPECT_TRUE(contains(error_of([&] { load_model(dir); }), "key 'format'"));
}

// ---- strict JSON ------------------------------------------------------------------------------

TEST(RobustJson, NulBytesDuplicateKeysAndDeepNestingAreErrorsWithThePlace) {
  using namespace std::string_literals;
  EXPECT_TRUE(contains(error_of([] { parse_json_text("{\"a\": 1}\0garbage"s, "f.json"); }),
                       "f.json: invalid JSON: a NUL byte at line 1, column 9"));
  EXPECT_TRUE(contains(error_of([] { parse_json_text("{\"a\": 1,\n \"a\": 2}", "f.json"); }),
                       "duplicate key \"a\""));
  // The same key in two different objects is fine.
  EXPECT_NO_THROW(parse_json_text(R"({"a": {"b": 1}, "c": {"b": 2}, "d": [{"b": 3}, {"b": 4}]})", "f"));
  EXPECT_TRUE(contains(error_of([] { parse_json_text(std::string(100, '[') + std::string(100, ']'), "f"); }),
                       "nested deeper than"));
  EXPECT_TRUE(contains(error_of([] { parse_json_text("{\"a\": 1} x", "f.json"); }),
                       "f.json: invalid JSON: parse error at line 1, column 10"));
}

TEST(RobustJson, TypedReadsNeverCoerce) {
  const auto j = nlohmann::json::parse(R"({"b": true, "f": 3.5, "big": 4294967296, "neg": -1, "s": "x", "huge": 1e300})");
  EXPECT_TRUE(contains(error_of([&] { json_value_as<int>(j["b"], "w", "b"); }), "key 'b' must be an integer"));
  EXPECT_TRUE(contains(error_of([&] { json_value_as<int>(j["f"], "w", "f"); }), "got 3.5"));
  EXPECT_TRUE(contains(error_of([&] { json_value_as<int>(j["big"], "w", "big"); }), "in [-2147483648, 2147483647]"));
  EXPECT_TRUE(contains(error_of([&] { json_value_as<uint64_t>(j["neg"], "w", "neg"); }), "got -1"));
  EXPECT_TRUE(contains(error_of([&] { json_value_as<bool>(j["s"], "w", "s"); }), "true or false"));
  EXPECT_TRUE(contains(error_of([&] { json_value_as<float>(j["huge"], "w", "huge"); }), "finite"));
  EXPECT_EQ(json_value_as<int64_t>(j["big"], "w", "big"), 4294967296);
  EXPECT_EQ(json_value_as<double>(j["neg"], "w", "neg"), -1.0);
}

// ---- run configs ------------------------------------------------------------------------------

nlohmann::json base_run_config() {
  return {{"data", {{"task", "copy"}}}, {"model", nlohmann::json::object()}, {"eval", nlohmann::json::object()}};
}

TEST(RobustRunConfig, WrongJsonTypesAreErrorsNamingTheKey) {
  nlohmann::json j = base_run_config();
  EXPECT_NO_THROW(RunConfig::from_json(j, "r.json"));
  j["eval"]["extra_tokens"] = true;  // used to become 1
  EXPECT_TRUE(contains(error_of([&] { RunConfig::from_json(j, "r.json"); }),
                       "r.json: eval: key 'extra_tokens' must be an integer"));
  j = base_run_config();
  j["eval"]["max_per_length"] = 3.5;  // used to become 3
  EXPECT_TRUE(contains(error_of([&] { RunConfig::from_json(j, "r.json"); }), "key 'max_per_length'"));
  j = base_run_config();
  j["data"]["seed"] = -4;
  EXPECT_TRUE(contains(error_of([&] { RunConfig::from_json(j, "r.json"); }), "data: key 'seed'"));
  j = base_run_config();
  j["data"]["task"] = 7;
  EXPECT_TRUE(contains(error_of([&] { RunConfig::from_json(j, "r.json"); }), "key 'task' must be a string"));
  j = base_run_config();
  j["train"] = {{"batch_size", 4294967297ull}};
  EXPECT_TRUE(contains(error_of([&] { RunConfig::from_json(j, "r.json"); }), "key 'batch_size'"));
  j = base_run_config();
  j["eval"]["max_per_length"] = -2;
  EXPECT_TRUE(contains(error_of([&] { RunConfig::from_json(j, "r.json"); }), "key 'max_per_length' must be >= 0"));
}

TEST(RobustRunConfig, SetValuesThatLookLikeJsonMustBeValidJson) {
  nlohmann::json j = nlohmann::json::object();
  apply_override(j, "a.b=3");
  apply_override(j, "a.c=text");
  apply_override(j, "a.d={\"x\": [1, 2]}");
  EXPECT_EQ(j["a"]["b"], 3);
  EXPECT_EQ(j["a"]["c"], "text");
  EXPECT_EQ(j["a"]["d"]["x"][1], 2);
  EXPECT_TRUE(contains(error_of([&] { apply_override(j, "a.e={\"x\": 1"); }), "--set 'a.e={\"x\": 1'"));
  EXPECT_TRUE(contains(error_of([&] { apply_override(j, "a.e=1e999"); }), "out of range"));
}

TEST(RobustRunConfig, JsonnetFileWithANulByteIsAnError) {
  TempDir tmp;
  using namespace std::string_literals;
  const std::string path = tmp.write("c.jsonnet", "{ a: 1 }\n\0{ b: 2 }"s);
  EXPECT_TRUE(contains(error_of([&] { load_config_files({path}); }), "a NUL byte at line 2"));
}

// ---- datasets ---------------------------------------------------------------------------------

TEST(RobustDataset, LengthAndPositionIdsAboveIntMaxAreErrorsNotWrapped) {
  TempDir tmp;
  const std::string path = tmp.write(
      "train.jsonl", "{\"source\": \"a b\", \"target\": \"b\", \"length\": 2}\n"
                     "{\"source\": \"a b\", \"target\": \"b\", \"length\": 4294967297}\n");
  std::string msg = error_of([&] { data::read_jsonl(path); });
  EXPECT_TRUE(contains(msg, "train.jsonl:2: key \"length\" must be a non-negative integer of at most 2147483647"))
      << msg;
  tmp.write("train.jsonl", "{\"source\": \"a\", \"target\": \"b\", \"position_ids\": [1, 2147483648]}\n");
  msg = error_of([&] { data::read_jsonl(path); });
  EXPECT_TRUE(contains(msg, "train.jsonl:1: key 'position_ids[1]'")) << msg;
}

TEST(RobustDataset, NulByteAfterALinesJsonIsAnErrorNamingTheLine) {
  TempDir tmp;
  using namespace std::string_literals;
  const std::string path = tmp.write(
      "t.jsonl", "{\"source\": \"a\", \"target\": \"b\"}\n{\"source\": \"a\", \"target\": \"b\"}\0 junk\n"s);
  const std::string msg = error_of([&] { data::read_jsonl(path); });
  EXPECT_TRUE(contains(msg, "t.jsonl:2: invalid JSON: a NUL byte at line 1, column 31")) << msg;
  tmp.write("t.jsonl", "{\"source\": \"a\", \"target\": \"b\", \"source\": \"c\"}\n");
  EXPECT_TRUE(contains(error_of([&] { data::read_jsonl(path); }), "t.jsonl:1: invalid JSON: duplicate key"));
}

TEST(RobustDataset, VocabularyAndDescriptionOfTheWrongKindAreRefused) {
  TempDir tmp;
  // A dataset.json where vocab.json belongs, and the other way round.
  const std::string info = R"({"format": "lengen-dataset-1", "task": "copy", "counts": {"train": 1}})";
  const std::string vocab = R"({"format": "lengen-vocab-1", "words": ["<pad>", "<bos>", "<eos>", "<sep>", "<unk>", "a"]})";
  EXPECT_NO_THROW(data::Vocabulary::from_json_string(vocab, "vocab.json"));
  EXPECT_NO_THROW(data::DatasetInfo::from_json(nlohmann::json::parse(info), "dataset.json"));
  EXPECT_TRUE(contains(error_of([&] { data::Vocabulary::from_json_string(info, "vocab.json"); }), "vocab.json"));
  EXPECT_TRUE(contains(error_of([&] { data::DatasetInfo::from_json(nlohmann::json::parse(vocab), "dataset.json"); }),
                       "dataset.json: unknown key 'words'"));
  EXPECT_TRUE(contains(error_of([&] { data::Vocabulary::from_json_string(
                                          R"({"format": "x", "words": []})", "v.json"); }),
                       "key 'format'"));
  // Wrong types are named, not coerced (seed 1.5 used to become 1).
  for (const char* bad : {R"({"format": "lengen-dataset-2", "seed": 1})",
                          R"({"format": "lengen-dataset-1", "seed": 1.5})",
                          R"({"format": "lengen-dataset-1", "task": 3})",
                          R"({"format": "lengen-dataset-1", "counts": {"train": "3"}})",
                          R"({"format": "lengen-dataset-1", "counts": {"train": -3}})"})
    EXPECT_FALSE(error_of([&] { data::DatasetInfo::from_json(nlohmann::json::parse(bad), "d.json"); }).empty())
        << bad;
  // A word the tokenizer could never produce (two words in one) is a corrupt entry.
  EXPECT_TRUE(contains(error_of([&] { data::Vocabulary::from_json_string(
                                          R"({"words": ["<pad>", "<bos>", "<eos>", "<sep>", "<unk>", "a b"]})",
                                          "v.json"); }),
                       "words[5]"));
}

// ---- training checkpoints ----------------------------------------------------------------------

TEST(RobustTrainingCheckpoint, CorruptOptimizerStateAndTrainerStateAreErrors) {
  TempDir tmp;
  TrainingRun run;
  run.dir = tmp.file("run");
  run.model = testing::small_config({"t5", "nope"});
  run.train = TrainConfig::from_json({{"steps", 2}, {"batch_size", 2}, {"checkpoint_every", 1}}, "t");
  run.quiet = true;
  run.next_batch = [](int64_t step) { return testing::sample_batch(11, uint64_t(step)); };
  run.stop_at_step = 1;
  train(run);
  const std::string ckpt = run.dir + "/checkpoint";
  const std::string opt = io::read_file(ckpt + "/optimizer.safetensors");
  auto corrupt_first_second_moment = [&](float value) {
    std::string bytes = opt;
    const auto file = io::SafetensorsFile::parse(bytes, "o");
    std::string name;
    for (const auto& n : file.names())
      if (n.rfind("exp_avg_sq.", 0) == 0) { name = n; break; }
    std::memcpy(bytes.data() + file.info(name).offset, &value, 4);
    io::write_file_atomic(ckpt + "/optimizer.safetensors", bytes);
    return name;
  };
  std::string name = corrupt_first_second_moment(std::numeric_limits<float>::infinity());
  std::string msg = error_of([&] { train(run); });
  EXPECT_TRUE(contains(msg, "optimizer.safetensors: tensor '" + name + "' holds a non-finite value")) << msg;
  name = corrupt_first_second_moment(-1.0f);
  msg = error_of([&] { train(run); });
  EXPECT_TRUE(contains(msg, "tensor '" + name + "' holds a negative second moment")) << msg;
  io::write_file_atomic(ckpt + "/optimizer.safetensors", opt);
  const std::string state = io::read_file(ckpt + "/trainer_state.json");
  io::write_file_atomic(ckpt + "/trainer_state.json", R"({"step": 1, "best_score": "high"})");
  msg = error_of([&] { train(run); });
  EXPECT_TRUE(contains(msg, "trainer_state.json: key 'best_score' must be a number")) << msg;
  io::write_file_atomic(ckpt + "/trainer_state.json", state);
  run.stop_at_step = 0;
  EXPECT_NO_THROW(train(run));
}

// ---- attention captures and sweep files -------------------------------------------------------

TEST(RobustCapture, ShapesFromTheJsonAreCheckedAgainstTheTensorsBeforeAllocating) {
  TempDir tmp;
  const float probs[6] = {1, 0.5f, 0.5f, 0.2f, 0.3f, 0.5f};
  io::save_safetensors(tmp.file("attention.safetensors"), {{"example.0", {1, 1, 6}, probs}});
  nlohmann::json info = {{"format", "lengen-attention"}, {"version", 1}, {"n_layers", 1}, {"n_heads", 1},
                         {"examples", {{{"tensor", "example.0"}, {"index", 0}, {"length", 1},
                                        {"tokens", {1, 5, 3}}, {"words", {"a", "b", "c"}},
                                        {"regions", {{"prompt", {0, 2}}, {"separator", {2, 3}},
                                                     {"scratchpad", {3, 3}}, {"answer", {3, 3}}}}}}}};
  io::write_file_atomic(tmp.file("attention.json"), info.dump());
  EXPECT_EQ(analysis::load_capture(tmp.path().string()).examples.size(), 1u);
  info["n_layers"] = 2000000000;  // used to allocate 2e9 x 6 floats before the shape check
  io::write_file_atomic(tmp.file("attention.json"), info.dump());
  std::string msg = error_of([&] { analysis::load_capture(tmp.path().string()); });
  EXPECT_TRUE(contains(msg, "tensor 'example.0' has shape [1, 1, 6], expected [2000000000, 1, 6]")) << msg;
  info["n_layers"] = "1";
  io::write_file_atomic(tmp.file("attention.json"), info.dump());
  msg = error_of([&] { analysis::load_capture(tmp.path().string()); });
  EXPECT_TRUE(contains(msg, "key 'n_layers' must be an integer")) << msg;
}

TEST(RobustSweep, WrongTypesAndOversizedGridsAreErrors) {
  nlohmann::json s = {{"axes", {{"pe", {"nope", "alibi"}}}}, {"jobs", 3.5}};
  EXPECT_TRUE(contains(error_of([&] { sweep::parse_sweep(s, "s.json"); }), "s.json: key 'jobs' must be an integer"));
  s["jobs"] = 2;
  EXPECT_NO_THROW(sweep::parse_sweep(s, "s.json"));
  nlohmann::json values = nlohmann::json::array();
  for (int i = 0; i < 40; ++i) values.push_back(i);
  s["axes"] = {{"a", values}, {"b", values}, {"c", values}, {"d", values}};
  EXPECT_TRUE(contains(error_of([&] { sweep::parse_sweep(s, "s.json"); }), "runs, more than the limit"));
  // A layer whose model section is not an object.
  s = {{"axes", {{"pe", {"nope"}}}}, {"config", {{"model", 3}}}};
  const auto parsed = sweep::parse_sweep(s, "s.json");
  EXPECT_TRUE(contains(error_of([&] { sweep::run_config_json(parsed, sweep::expand_grid(parsed)[0]); }),
                       "config key 'model' must be an object"));
}

// ---- the CLI: exit status 1 and "lengen: error:", never an internal error ----------------------

using testing::CliResult;
using testing::run_lengen;

TEST(RobustCli, CorruptCheckpointsStopScoreAndConvertWithAnErrorNamingTheFile) {
  TempDir tmp;
  const std::string dir = tmp.file("ckpt");
  save_tiny_model(dir);
  CliResult r = run_lengen("score --checkpoint " + dir + " --tokens 1,2,3");
  ASSERT_EQ(r.code, 0) << r.out;
  // Header length one byte short: used to print null log-probs with exit 0, and `convert`
  // wrote the shifted bytes out as a well-formed checkpoint.
  const std::string good = io::read_file(dir + "/model.safetensors");
  io::write_file_atomic(dir + "/model.safetensors", with_header_length(good, header_length(good) - 1));
  r = run_lengen("score --checkpoint " + dir + " --tokens 1,2,3");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_TRUE(contains(r.out, "lengen: error: " + dir + "/model.safetensors: corrupt")) << r.out;
  r = run_lengen("convert --from native --to llama " + dir + " " + tmp.file("out"));
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_FALSE(fs::exists(tmp.file("out")));
  // Trailing bytes.
  io::write_file_atomic(dir + "/model.safetensors", good + "xyz");
  r = run_lengen("convert --from native --to t5 " + dir + " " + tmp.file("out"));
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_TRUE(contains(r.out, "3 trailing bytes")) << r.out;
  EXPECT_FALSE(fs::exists(tmp.file("out")));
}

TEST(RobustCli, AnOverLongOutputNameIsAnErrorNotAnInternalError) {
  TempDir tmp;
  const std::string long_name = tmp.file(std::string(300, 'x'));
  const std::string config = tmp.write(
      "c.json", R"({"model": {"vocab_size": 16, "d_model": 8, "n_layers": 1, "n_heads": 1,
                             "d_head": 8, "d_ff": 8},
                   "train": {"steps": 1, "seq_len": 4, "batch_size": 1}})");
  const std::string tokens = tmp.write("t.txt", "1 2 3 4 5 6 7 8 9 10 11 12\n");
  // train-lm's run-directory lock used to end in "internal error: filesystem error".
  for (const std::string& args :
       {"train-lm --config " + config + " --tokens " + tokens + " --out " + long_name + "/r",
        "init --preset tiny --out " + long_name + "/m"}) {
    const CliResult r = run_lengen(args);
    EXPECT_EQ(r.code, 1) << args << "\n" << r.out;
    EXPECT_TRUE(contains(r.out, "lengen: error: ")) << r.out;
    EXPECT_FALSE(contains(r.out, "internal error")) << r.out;
  }
}

}  // namespace
}  // namespace lengen
