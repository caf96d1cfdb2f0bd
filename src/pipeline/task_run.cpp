#include "pipeline/task_run.h"

#include <filesystem>

#include "data/jsonl.h"
#include "eval/evaluate.h"
#include "io/atomic_file.h"
#include "io/dir_lock.h"
#include "model/checkpoint.h"
#include "model/model_overrides.h"
#include "pipeline/make_dataset.h"
#include "pipeline/task_data.h"
#include "train/trainer.h"
#include "util/error.h"

namespace fs = std::filesystem;

namespace lengen {
namespace {

struct PreparedData {
  data::LoadedDataset loaded;
  std::string dir;
  std::unique_ptr<tasks::Task> task;  // null for user data without dataset.json
};

// The run's data: generated once into <run>/data (reused when it matches the config), or an
// existing dataset directory.
PreparedData prepare_data(const DataConfig& c, const std::string& run_dir, bool quiet) {
  PreparedData p;
  if (!c.dir.empty()) {
    p.dir = c.dir;
  } else {
    p.dir = run_dir + "/data";
    const DatasetRequest request{c.task, c.split, c.scratchpad, c.seed, c.train_size, c.test_size};
    if (!fs::exists(p.dir + "/dataset.json")) {
      if (!quiet) fmt::print(stderr, "generating {} / {} data into {}\n", c.task, resolve_split(request), p.dir);
      make_dataset_dir(request, p.dir);
    }
  }
  p.loaded = data::load_dataset_dir(p.dir);
  if (p.loaded.info && !p.loaded.info->task.empty()) {
    const auto& info = *p.loaded.info;
    if (c.dir.empty() && (info.task != c.task || info.seed != c.seed ||
                          info.scratchpad != c.scratchpad ||
                          (!c.split.empty() && info.split != c.split)))
      fail("{}: holds data of another configuration ({} / {}, seed {}); use a new run directory",
           p.dir, info.task, info.split, info.seed);
    p.task = tasks::make_task(info.task);
  }
  return p;
}

ModelConfig resolve_model(const nlohmann::json& model_json, const data::Vocabulary& vocab,
                          const std::string& where) {
  nlohmann::json j = model_json;
  if (j.contains("vocab_size") && j["vocab_size"] != nlohmann::json(vocab.size()))
    fail("{}: model.vocab_size is {} but the data's vocabulary has {} words; leave vocab_size out "
         "(it is taken from the data)",
         where, j["vocab_size"].dump(), vocab.size());
  j["vocab_size"] = vocab.size();
  return ModelConfig::from_json(j, where + ": model");
}

std::vector<size_t> evenly_spaced(size_t n, size_t k) {
  std::vector<size_t> idx;
  if (k == 0 || k >= n) {
    for (size_t i = 0; i < n; ++i) idx.push_back(i);
    return idx;
  }
  for (size_t i = 0; i < k; ++i) idx.push_back(i * n / k);
  return idx;
}

template <typename T>
std::vector<T> pick(const std::vector<T>& v, const std::vector<size_t>& idx) {
  std::vector<T> out;
  for (size_t i : idx) out.push_back(v[i]);
  return out;
}

const std::vector<tasks::Example>& split_examples(const tasks::Dataset& d, const std::string& s) {
  if (s == "train") return d.train;
  if (s == "validation") return d.validation;
  if (s == "test") return d.test;
  fail("unknown split '{}'; allowed: train, validation, test", s);
}

// Words of `examples` missing from the checkpoint's vocabulary: the data and the model do not
// belong together.
void check_vocabulary(const data::Vocabulary& vocab, const std::vector<tasks::Example>& examples,
                      const std::string& data_dir, const std::string& checkpoint) {
  std::vector<std::string> missing;
  for (const auto& e : examples)
    for (const std::string& text : {e.source, answer_text(e)})
      for (const auto& w : data::split_words(text))
        if (!vocab.contains(w) && missing.size() < 8 &&
            std::find(missing.begin(), missing.end(), w) == missing.end())
          missing.push_back(w);
  if (!missing.empty())
    fail("the data in {} use words that the vocabulary of {} lacks ({}): the model was trained on "
         "other data",
         data_dir, checkpoint, fmt::join(missing, ", "));
}

nlohmann::json summarize(const std::string& dir, const nlohmann::json& config,
                         const std::map<std::string, EvalResult>& results,
                         const std::string& checkpoint) {
  nlohmann::json s = {{"run", dir},
                      {"checkpoint", checkpoint},
                      {"encoding", config["model"].value("pe", nlohmann::json{{"type", "nope"}})},
                      {"data", config["data"]},
                      {"train_seed", config["train"]["seed"]}};
  if (s["encoding"].is_object()) s["encoding"] = s["encoding"].value("type", "nope");
  for (const auto& [split, r] : results) s[split] = r.to_json();
  if (results.count("validation")) s["id_accuracy"] = results.at("validation").overall.accuracy();
  if (results.count("test")) s["ood_accuracy"] = results.at("test").overall.accuracy();
  return s;
}

}  // namespace

nlohmann::json run_task(const std::string& dir, const RunConfig& config, const TaskRunOptions& o) {
  const io::DirectoryLock lock(dir);  // data, training and evaluation of one run: one process
  PreparedData data = prepare_data(config.data, dir, o.quiet);
  const data::Vocabulary& vocab = data.loaded.vocab;
  const ModelConfig model = resolve_model(config.model, vocab, dir + "/config.json");
  const auto train_examples = encode_examples(data.loaded.data.train, vocab, data.dir + "/train.jsonl");
  if (train_examples.empty()) fail("{}: no training examples", data.dir);
  {  // the longest training sequence must fit the encoding (e.g. a learned table)
    size_t longest = 0;
    for (const auto& e : train_examples) longest = std::max(longest, e.total());
    std::vector<int32_t> pos(longest);
    for (size_t i = 0; i < longest; ++i) pos[i] = int32_t(i);
    Transformer probe(model);
    try {
      probe.pe().check_positions(Positions{pos.data(), nullptr, nullptr}, int(longest));
    } catch (const Error& e) {
      fail("training sequences of up to {} tokens do not fit the encoding: {}", longest, e.what());
    }
  }
  // Greedy validation during training on a fixed subset spread over the file.
  const auto& valid_all = data.loaded.data.validation;
  const auto vidx = evenly_spaced(valid_all.size(), size_t(std::max(0, config.eval.validation_examples)));
  auto valid = std::make_shared<std::vector<tasks::Example>>(pick(valid_all, vidx));
  auto valid_encoded = std::make_shared<std::vector<EncodedExample>>(
      encode_examples(*valid, vocab, data.dir + "/validation.jsonl"));
  const PositionScheme positions = resolve_position_scheme(config.to_json(), dir + "/config.json");
  auto batcher = std::make_shared<LengthBatcher>(train_examples, config.train.batch_size,
                                                 config.train.seed, positions);

  TrainingRun run;
  run.dir = dir;
  run.model = model;
  run.train = config.train;
  run.quiet = o.quiet;
  run.stop_at_step = o.stop_at_step;
  run.on_progress = o.on_progress;
  nlohmann::json resolved = config.to_json();
  resolved["model"] = model.to_json();
  run.extra_config = {{"data", resolved["data"]}, {"eval", resolved["eval"]}};
  run.next_batch = [batcher](int64_t step) { return batcher->batch(step); };
  run.write_extra_files = [&vocab](const std::string& d) { vocab.save(d + "/vocab.json"); };
  const tasks::Task* task = data.task.get();
  const EvalConfig eval_cfg = config.eval;
  if (!valid->empty())
    run.evaluate = [valid, valid_encoded, &vocab, task, eval_cfg, positions](Transformer& m) {
      EvalOptions eo;
      eo.positions = positions;
      eo.batch_size = eval_cfg.batch_size;
      eo.extra_tokens = eval_cfg.extra_tokens;
      eo.quiet = true;
      eo.label = "validation";
      const EvalResult r = evaluate_examples(m, vocab, task, *valid, *valid_encoded, eo);
      const double acc = r.overall.accuracy();
      return nlohmann::json{{"score", acc},
                            {"validation_accuracy", acc},
                            {"examples", r.overall.total},
                            {"summary", fmt::format("val {:.1f}%", 100 * acc)}};
    };
  const TrainResult tr = train(run);
  if (!o.evaluate || (o.stop_at_step > 0 && o.stop_at_step < config.train.steps)) return {};
  EvalRequest req;
  req.run_dir = dir;
  req.quiet = o.quiet;
  nlohmann::json summary = evaluate_run(req);
  summary["training"] = {{"final_loss", tr.final_loss},
                         {"tokens_per_second", tr.tokens_per_second},
                         {"best_step", tr.best_step},
                         {"best_validation_subset_accuracy", tr.best_score},
                         {"resumed_from", tr.resumed_from}};
  io::write_file_atomic(dir + "/results.json", summary.dump(2) + "\n");
  return summary;
}

nlohmann::json evaluate_run(const EvalRequest& r) {
  const std::string config_path = r.run_dir + "/config.json";
  if (!fs::exists(config_path)) fail("{}: not a run directory (no config.json)", r.run_dir);
  const nlohmann::json config = read_json_file(config_path);
  if (!config.contains("data") || !config.contains("model"))
    fail("{}: not a task run (no 'data' section); use `lengen score` for LM checkpoints", config_path);
  // Typed and strict: a corrupt value is an error naming the key, never coerced (true -> 1).
  const RunConfig rc = RunConfig::from_json(config, config_path);
  ModelConfig::from_json(rc.model, config_path + ": model");
  std::string ckpt = r.checkpoint;
  if (ckpt.empty())
    ckpt = fs::exists(r.run_dir + "/best/config.json") ? r.run_dir + "/best" : r.run_dir + "/checkpoint";
  else if (ckpt == "best" || ckpt == "checkpoint")
    ckpt = r.run_dir + "/" + ckpt;
  ckpt = resolve_checkpoint_dir(ckpt);
  auto model = r.model_overrides.empty() ? load_model(ckpt)
                                         : load_model_with_overrides(ckpt, r.model_overrides);
  const std::string eval_suffix =
      r.model_overrides.empty() ? "" : "@" + fmt::format("{}", fmt::join(r.model_overrides, ","));
  const auto vocab = data::Vocabulary::load(ckpt + "/vocab.json");
  if (vocab.size() != size_t(model->config().vocab_size))
    fail("{}: vocab.json has {} words but the model's vocab_size is {}", ckpt, vocab.size(),
         model->config().vocab_size);
  std::string data_dir = r.data_dir;
  if (data_dir.empty()) data_dir = rc.data.dir.empty() ? r.run_dir + "/data" : rc.data.dir;
  const auto loaded = data::load_dataset_dir(data_dir);
  std::unique_ptr<tasks::Task> task;
  if (loaded.info && !loaded.info->task.empty()) task = tasks::make_task(loaded.info->task);
  const int per_length = r.max_per_length >= 0 ? r.max_per_length : rc.eval.max_per_length;
  EvalOptions eo;
  eo.batch_size = rc.eval.batch_size;
  eo.extra_tokens = rc.eval.extra_tokens;
  eo.quiet = r.quiet;
  eo.positions = resolve_position_scheme(config, config_path);
  std::map<std::string, EvalResult> results;
  for (const auto& split : r.splits) {
    const auto& all = split_examples(loaded.data, split);
    if (all.empty()) continue;
    const auto examples = pick(all, cap_per_length(all, per_length));
    check_vocabulary(vocab, examples, data_dir, ckpt);
    const auto encoded = encode_examples(examples, vocab, data_dir + "/" + split + ".jsonl");
    eo.label = split;
    EvalResult res = evaluate_examples(*model, vocab, task.get(), examples, encoded, eo);
    res.split = split;
    // Each split is written as soon as it is done: a later failure keeps it.
    write_eval_results(r.run_dir + "/eval/" + split + eval_suffix, res, examples);
    if (!r.quiet)
      fmt::print(stderr, "{}: {} exact match {:.1f}% ({} / {})\n", r.run_dir, split,
                 100 * res.overall.accuracy(), res.overall.correct, res.overall.total);
    results.emplace(split, std::move(res));
  }
  nlohmann::json summary = summarize(r.run_dir, config, results, ckpt);
  if (!r.model_overrides.empty()) {
    summary["model_overrides"] = r.model_overrides;
    return summary;
  }
  // Keep the training figures of an earlier summary.
  if (fs::exists(r.run_dir + "/results.json")) {
    try {
      const auto old = read_json_file(r.run_dir + "/results.json");
      if (old.contains("training")) summary["training"] = old["training"];
    } catch (const Error&) {
    }
  }
  io::write_file_atomic(r.run_dir + "/results.json", summary.dump(2) + "\n");
  return summary;
}

}  // namespace lengen
