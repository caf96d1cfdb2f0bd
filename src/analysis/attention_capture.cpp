#include "analysis/attention_capture.h"

#include <filesystem>
#include <map>

#include <fmt/core.h>

#include "data/jsonl.h"
#include "eval/evaluate.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "model/checkpoint.h"
#include "model/forward.h"
#include "pipeline/run_config.h"
#include "pipeline/task_data.h"
#include "util/error.h"
#include "util/json_parse.h"

namespace fs = std::filesystem;

namespace lengen::analysis {
namespace {

constexpr int kFormatVersion = 1;
const char* const kRegionNames[] = {"prompt", "separator", "scratchpad", "answer"};

std::string resolve_run_checkpoint(const std::string& run_dir, const std::string& choice) {
  std::string dir = choice;
  if (dir.empty())
    dir = fs::exists(run_dir + "/best/config.json") ? run_dir + "/best" : run_dir + "/checkpoint";
  else if (dir == "best" || dir == "checkpoint")
    dir = run_dir + "/" + dir;
  return resolve_checkpoint_dir(dir);
}

// Identifies the checkpoint's weights, so a stored capture of retrained weights is not reused.
std::string weights_stamp(const std::string& checkpoint) {
  const fs::path w = fs::path(checkpoint) / "model.safetensors";
  std::error_code ec;
  const auto size = fs::file_size(w, ec);
  if (ec) return "";
  const auto time = fs::last_write_time(w, ec).time_since_epoch().count();
  return fmt::format("{}:{}", size, time);
}

const std::vector<tasks::Example>& examples_of(const tasks::Dataset& d, const std::string& split,
                                               const std::string& dir) {
  if (split == "train") return d.train;
  if (split == "validation") return d.validation;
  if (split == "test") return d.test;
  fail("{}: unknown split '{}'; allowed: train, validation, test", dir, split);
}

Regions regions_of(const EncodedExample& e, int scratchpad_tokens) {
  const int p = int(e.prompt.size()), T = int(e.total());
  Regions r;
  r.prompt = {0, p - 1};
  r.separator = {p - 1, p};
  r.scratchpad = {p, p + scratchpad_tokens};
  r.answer = {p + scratchpad_tokens, T};
  return r;
}

}  // namespace

nlohmann::json Regions::to_json() const {
  nlohmann::json j;
  for (const auto& [name, range] : {std::pair{kRegionNames[0], prompt}, {kRegionNames[1], separator},
                                    {kRegionNames[2], scratchpad}, {kRegionNames[3], answer}})
    j[name] = {range.begin, range.end};
  return j;
}

Regions Regions::from_json(const nlohmann::json& j, const std::string& where) {
  auto range = [&](const char* name) {
    if (!j.is_object() || !j.contains(name) || !j[name].is_array() || j[name].size() != 2 ||
        !j[name][0].is_number_integer() || !j[name][1].is_number_integer())
      fail("{}: regions.{} must be a [begin, end) pair of integers", where, name);
    const std::string key = std::string("regions.") + name;
    return TokenRange{json_value_as<int>(j[name][0], where, key),
                      json_value_as<int>(j[name][1], where, key)};
  };
  return {range("prompt"), range("separator"), range("scratchpad"), range("answer")};
}

AttentionCapture capture_attention(const CaptureRequest& r) {
  if (r.per_length < 1) fail("--per-length must be at least 1 (got {})", r.per_length);
  const std::string config_path = r.run_dir + "/config.json";
  if (!fs::exists(config_path)) fail("{}: not a run directory (no config.json)", r.run_dir);
  const nlohmann::json config = read_json_file(config_path);
  if (!config.is_object() || !config.contains("data") || !config.contains("model") ||
      !config.contains("train"))
    fail("{}: not a task run (needs data, model and train sections)", config_path);
  const RunConfig rc = RunConfig::from_json(config, config_path);  // typed, strict
  const std::string checkpoint = resolve_run_checkpoint(r.run_dir, r.checkpoint);
  auto model = load_model(checkpoint);
  // Captures label tokens by word: a SentencePiece run (tokenizer.json) has no word vocabulary.
  if (!data::read_tokenizer_record(checkpoint).is_null())
    fail("{}: attention capture needs a word-level run; this one was trained with data.tokenizer "
         "(SentencePiece)",
         checkpoint);
  const auto vocab = data::Vocabulary::load(checkpoint + "/vocab.json");
  const std::string data_dir = rc.data.dir.empty() ? r.run_dir + "/data" : rc.data.dir;
  const auto loaded = data::load_dataset_dir(data_dir);
  const auto& all = examples_of(loaded.data, r.split, data_dir);
  if (all.empty()) fail("{}: the {} split is empty", data_dir, r.split);

  // First N of each length, grouped by length.
  std::map<int, std::vector<size_t>> by_length;
  for (size_t i : cap_per_length(all, r.per_length)) by_length[all[i].length].push_back(i);

  const ModelConfig& mc = model->config();
  AttentionCapture c;
  c.n_layers = mc.n_layers;
  c.n_heads = mc.n_heads;
  c.info = {{"run", r.run_dir},
            {"checkpoint", checkpoint},
            {"weights", weights_stamp(checkpoint)},
            {"encoding", mc.pe_type()},
            {"task", loaded.info ? loaded.info->task : rc.data.task},
            {"data_split", loaded.info ? loaded.info->split : rc.data.split},
            {"data_seed", loaded.info ? loaded.info->seed : rc.data.seed},
            {"data", fs::weakly_canonical(data_dir).string()},
            {"train_seed", rc.train.seed},
            {"split", r.split},
            {"per_length", r.per_length}};

  // Encoding the whole split keeps error messages' example numbers those of the file.
  const auto encoded = encode_examples(all, vocab, data_dir + "/" + r.split + ".jsonl");
  Workspace ws(*model);
  size_t done = 0, total = 0;
  for (const auto& [len, idx] : by_length) total += idx.size();
  for (const auto& [len, idx] : by_length) {
    for (size_t i : idx) {
      const EncodedExample& enc = encoded[i];
      CapturedExample x;
      x.index = int(i);
      x.length = all[i].length;
      x.tokens = enc.prompt;
      x.tokens.insert(x.tokens.end(), enc.answer.begin(), enc.answer.end());
      for (int32_t id : x.tokens) x.words.push_back(vocab.word(id));
      const int scratch = all[i].scratchpad ? int(vocab.encode(*all[i].scratchpad).size()) : 0;
      x.regions = regions_of(enc, scratch);
      const Batch batch = make_batch({x.tokens}, data::Vocabulary::kPad);
      const AttentionProbs probs = capture_attention(*model, batch, ws);  // teacher-forced
      const int T = x.T(), H = c.n_heads;
      x.probs.resize(size_t(c.n_layers) * H * CapturedExample::packed_size(T));
      float* dst = x.probs.data();
      for (int l = 0; l < c.n_layers; ++l)
        for (int h = 0; h < H; ++h)
          for (int q = 0; q < T; ++q) {
            const auto row = probs.row(l, 0, h, q);
            dst = std::copy(row.begin(), row.end(), dst);
          }
      c.examples.push_back(std::move(x));
      if (!r.quiet)
        fmt::print(stderr, "\rattention {}: {} / {} examples", r.run_dir, ++done, total);
    }
  }
  if (!r.quiet) fmt::print(stderr, "\n");
  return c;
}

std::string capture_dir(const std::string& run_dir, const std::string& split) {
  return run_dir + "/analysis/attention/" + split;
}

void save_capture(const AttentionCapture& c, const std::string& dir) {
  fs::create_directories(dir);
  std::vector<io::TensorToWrite> tensors;
  nlohmann::json info = c.info;
  info["format"] = "lengen-attention";
  info["version"] = kFormatVersion;
  info["n_layers"] = c.n_layers;
  info["n_heads"] = c.n_heads;
  info["layout"] = "example.<k>: [L, H, T(T+1)/2] F32, query row i (keys 0..i) at offset i(i+1)/2";
  info["examples"] = nlohmann::json::array();
  for (size_t k = 0; k < c.examples.size(); ++k) {
    const CapturedExample& x = c.examples[k];
    const std::string name = fmt::format("example.{}", k);
    tensors.push_back({name,
                       {c.n_layers, c.n_heads, int64_t(CapturedExample::packed_size(x.T()))},
                       x.probs.data()});
    info["examples"].push_back({{"tensor", name},
                                {"index", x.index},
                                {"length", x.length},
                                {"tokens", x.tokens},
                                {"words", x.words},
                                {"regions", x.regions.to_json()}});
  }
  // Tensors first: a reader keys on attention.json, which names only tensors already written.
  io::save_safetensors(dir + "/attention.safetensors", tensors,
                       {{"format", "lengen-attention"}, {"layout", "packed causal rows"}});
  io::write_file_atomic(dir + "/attention.json", info.dump(1) + "\n");
}

AttentionCapture load_capture(const std::string& dir) {
  const std::string json_path = dir + "/attention.json";
  if (!fs::exists(json_path))
    fail("{}: no attention capture (run `lengen analyze attention --run RUN` first)", dir);
  nlohmann::json info = read_json_file(json_path);
  if (!info.is_object() || info.value("format", nlohmann::json()) != "lengen-attention" ||
      info.value("version", nlohmann::json()) != kFormatVersion)
    fail("{}: not a lengen attention capture of version {}", json_path, kFormatVersion);
  AttentionCapture c;
  c.n_layers = json_get_or<int>(info, "n_layers", 0, json_path);
  c.n_heads = json_get_or<int>(info, "n_heads", 0, json_path);
  if (c.n_layers < 1 || c.n_heads < 1 || !info.contains("examples") || !info["examples"].is_array())
    fail("{}: needs n_layers, n_heads and an examples array", json_path);
  const auto file = io::SafetensorsFile::load(dir + "/attention.safetensors");
  for (size_t k = 0; k < info["examples"].size(); ++k) {
    const auto& e = info["examples"][k];
    const std::string where = fmt::format("{}: examples[{}]", json_path, k);
    CapturedExample x;
    if (!e.is_object()) fail("{}: expected an object", where);
    for (const char* key : {"index", "length", "tokens", "words"})
      if (!e.contains(key)) fail("{}: missing key '{}'", where, key);
    x.index = json_value_as<int>(e["index"], where, "index");
    x.length = json_value_as<int>(e["length"], where, "length");
    if (!e["tokens"].is_array() || !e["words"].is_array())
      fail("{}: keys 'tokens' and 'words' must be arrays", where);
    for (const auto& t : e["tokens"]) x.tokens.push_back(json_value_as<int32_t>(t, where, "tokens"));
    for (const auto& w : e["words"]) x.words.push_back(json_value_as<std::string>(w, where, "words"));
    if (x.tokens.empty() || x.words.size() != x.tokens.size())
      fail("{}: {} tokens and {} words", where, x.tokens.size(), x.words.size());
    x.regions = Regions::from_json(e.value("regions", nlohmann::json()), where);
    for (const TokenRange& t : {x.regions.prompt, x.regions.separator, x.regions.scratchpad, x.regions.answer})
      if (t.begin < 0 || t.end < t.begin || t.end > x.T())
        fail("{}: region [{}, {}) outside the {} tokens", where, t.begin, t.end, x.T());
    const std::string tensor = json_get_or<std::string>(e, "tensor", "", where);
    if (!file.has(tensor)) fail("{}: tensor '{}' is not in attention.safetensors", where, tensor);
    // The shape is checked against the file before allocating (n_layers, n_heads and the
    // token count come from attention.json).
    const std::vector<int64_t> shape = {c.n_layers, c.n_heads,
                                        int64_t(CapturedExample::packed_size(x.T()))};
    if (file.info(tensor).shape != shape)
      fail("{}: tensor '{}' has shape [{}], expected [{}] (n_layers, n_heads, T(T+1)/2)", where,
           tensor, fmt::join(file.info(tensor).shape, ", "), fmt::join(shape, ", "));
    x.probs.resize(size_t(c.n_layers) * c.n_heads * CapturedExample::packed_size(x.T()));
    file.read_f32(tensor, shape, x.probs.data());
    c.examples.push_back(std::move(x));
  }
  info.erase("examples");
  c.info = std::move(info);
  return c;
}

AttentionCapture capture_or_load(const CaptureRequest& r) {
  const std::string dir = capture_dir(r.run_dir, r.split);
  if (fs::exists(dir + "/attention.json")) {
    const nlohmann::json stored = read_json_file(dir + "/attention.json");
    const std::string checkpoint = resolve_run_checkpoint(r.run_dir, r.checkpoint);
    const nlohmann::json none;
    if (stored.is_object() && stored.value("version", none) == kFormatVersion &&
        stored.value("per_length", none) == r.per_length &&
        stored.value("checkpoint", none) == checkpoint &&
        stored.value("weights", none) == weights_stamp(checkpoint))
      return load_capture(dir);
  }
  AttentionCapture c = capture_attention(r);
  save_capture(c, dir);
  return c;
}

}  // namespace lengen::analysis
