#include "lm/lm_run.h"

#include <cmath>
#include <filesystem>

#include "lm/tokenizer.h"
#include "model/forward.h"
#include "pe/bilevel.h"
#include "util/error.h"
#include "util/rng.h"

namespace lengen::lm {

nlohmann::json default_lm_run_config() {
  return {
      {"data", {{"dir", ""}}},
      {"model",
       {{"family", "llama"}, {"d_model", 128}, {"n_layers", 2}, {"n_heads", 4}, {"d_head", 32},
        {"d_ff", 384}, {"pe", "rotary"}}},
      {"train",
       {{"steps", 1000}, {"batch_size", 16}, {"seq_len", 64}, {"lr", 2e-3},
        {"warmup_fraction", 0.05}, {"schedule", "linear"}, {"end_lr", 1e-4},
        {"weight_decay", 0.01}, {"grad_clip", 1.0}, {"log_every", 10}, {"checkpoint_every", 100},
        {"eval_every", 250}, {"eval_batches", 4}}},
  };
}

ModelConfig lm_model_config(const nlohmann::json& config, const LmData& data,
                            const std::string& where) {
  nlohmann::json m = config.value("model", nlohmann::json::object());
  const Tokenizer tok = Tokenizer::load(data.tokenizer_path());
  if (m.contains("vocab_size") && m["vocab_size"] != tok.vocab_size())
    fail("{}: model.vocab_size {} differs from the tokenizer's {} ({}); leave it out", where,
         m["vocab_size"].dump(), tok.vocab_size(), data.tokenizer_path());
  m["vocab_size"] = tok.vocab_size();
  if (m.contains("pe") && m["pe"].is_string()) m["pe"] = {{"type", m["pe"]}};
  const nlohmann::json& d = config.value("data", nlohmann::json::object());
  const std::string type = m.value("pe", nlohmann::json::object()).value("type", "nope");
  if ((type == "bipe_rope" || type == "bipe_alibi") && !m["pe"].contains("delimiters")) {
    std::vector<int32_t> ids;
    if (d.contains("delimiters") && !d["delimiters"].is_null()) {
      std::vector<std::string> spec;
      for (const auto& x : d["delimiters"])
        spec.push_back(x.is_string() ? x.get<std::string>() : x.dump());
      ids = tok.resolve_delimiters(spec);
    } else {
      ids = tok.default_delimiters();
    }
    m["pe"]["delimiters"] = ids;
  }
  return model_config_from_json(m, where + ": model");
}

Batch chunk_batch(const TokenFile& tokens, const std::vector<int64_t>& chunks, int T) {
  std::vector<std::vector<int32_t>> rows;
  for (int64_t c : chunks) {
    const int32_t* p = tokens.data() + size_t(c) * T;
    rows.emplace_back(p, p + T);
  }
  return make_batch(rows, 0);
}

TrainResult train_lm(const LmRun& run) {
  const std::string where = run.out + "/config.json";
  const nlohmann::json& cfg = run.config;
  for (auto it = cfg.begin(); it != cfg.end(); ++it)
    if (it.key() != "data" && it.key() != "model" && it.key() != "train")
      fail("LM run config: unknown top-level key '{}'; allowed keys: data, model, train", it.key());
  const std::string dir = cfg.value("data", nlohmann::json::object()).value("dir", "");
  if (dir.empty()) fail("LM run config: data.dir is not set (a directory made by `lengen lm data`)");
  const LmData data = LmData::open(dir);
  TrainingRun tr;
  tr.dir = run.out;
  tr.model = lm_model_config(cfg, data, "LM run config");
  tr.train = TrainConfig::from_json(cfg.value("train", nlohmann::json::object()), "LM run config: train");
  tr.extra_config = {{"data", cfg["data"]}};
  tr.quiet = run.quiet;
  tr.on_progress = run.on_progress;

  auto train_tokens = std::make_shared<TokenFile>(data.train_path());
  auto valid_tokens = std::make_shared<TokenFile>(data.valid_path());
  train_tokens->check_vocabulary(tr.model.vocab_size);
  valid_tokens->check_vocabulary(tr.model.vocab_size);
  const int T = tr.train.seq_len, B = tr.train.batch_size;
  const int64_t n_train = int64_t(train_tokens->size() / T), n_valid = int64_t(valid_tokens->size() / T);
  if (n_train < 1 || n_valid < 1)
    fail("{}: the data has {} training and {} validation chunks of train.seq_len {}; need >= 1 each",
         dir, n_train, n_valid, T);
  const uint64_t seed = tr.train.seed;
  tr.next_batch = [=](int64_t step) {
    std::vector<int64_t> chunks;
    for (int b = 0; b < B; ++b)
      chunks.push_back(int64_t(hash_combine(hash_combine(seed, uint64_t(step)), uint64_t(b)) %
                               uint64_t(n_train)));
    return chunk_batch(*train_tokens, chunks, T);
  };
  const int eval_batches = tr.train.eval_batches;
  tr.evaluate = [=](Transformer& m) {
    Workspace ws(m);
    double total = 0;
    int count = 0;
    for (int i = 0; i < eval_batches && int64_t(i) * B < n_valid; ++i, ++count) {
      std::vector<int64_t> chunks;
      for (int b = 0; b < B && int64_t(i) * B + b < n_valid; ++b) chunks.push_back(int64_t(i) * B + b);
      total += loss(m, chunk_batch(*valid_tokens, chunks, T), ws);
    }
    const double mean = total / std::max(1, count);
    return nlohmann::json{{"valid_loss", mean},
                          {"valid_ppl", std::exp(mean)},
                          {"score", std::exp(-mean)},  // 1 / perplexity: higher is better
                          {"summary", fmt::format("val ppl {:.2f}", std::exp(mean))}};
  };
  // The tokenizer travels with every checkpoint, so a checkpoint alone can be evaluated.
  const std::string tokenizer = data.tokenizer_path();
  tr.write_extra_files = [tokenizer](const std::string& d) {
    std::filesystem::copy_file(tokenizer, d + "/tokenizer.model",
                               std::filesystem::copy_options::overwrite_existing);
  };
  return train(tr);
}

}  // namespace lengen::lm
