#include "pipeline/task_run.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "data/jsonl.h"
#include "eval/evaluate.h"
#include "io/atomic_file.h"
#include "io/dir_lock.h"
#include "model/checkpoint.h"
#include "model/model_overrides.h"
#include "pipeline/curriculum.h"
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
    const DatasetRequest request{c.task,       c.split,     c.scratchpad, c.seed,
                                 c.train_size, c.test_size, c.from};
    if (!fs::exists(p.dir + "/dataset.json")) {
      if (!quiet) fmt::print(stderr, "generating {} / {} data into {}\n", c.task, resolve_split(request), p.dir);
      make_dataset_dir(request, p.dir);
    }
  }
  p.loaded = data::load_dataset_dir(p.dir);
  if (p.loaded.info && !p.loaded.info->task.empty()) {
    const auto& info = *p.loaded.info;
    if (c.dir.empty() && (info.task != c.task || info.seed != c.seed ||
                          info.scratchpad != c.scratchpad || info.imported.is_null() != c.from.empty() ||
                          (!c.split.empty() && info.split != c.split)))
      fail("{}: holds data of another configuration ({} / {}, seed {}); use a new run directory",
           p.dir, info.task, info.split, info.seed);
    p.task = tasks::make_task(info.task);
  }
  return p;
}

ModelConfig resolve_model(const nlohmann::json& model_json, const data::TextTokenizer& tokenizer,
                          const std::string& where) {
  nlohmann::json j = model_json;
  if (j.contains("vocab_size") && j["vocab_size"] != nlohmann::json(tokenizer.vocab_size()))
    fail("{}: model.vocab_size is {} but the {} vocabulary has {} entries; leave vocab_size out "
         "(it is taken from the tokenizer)",
         where, j["vocab_size"].dump(), tokenizer.kind() == "word" ? "data's" : "SentencePiece model's",
         tokenizer.vocab_size());
  j["vocab_size"] = tokenizer.vocab_size();
  return model_config_from_json(j, where + ": model");
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

// Files "<name>.tmp.<pid>" that io::write_file_atomic leaves behind when its process is killed
// between writing and renaming (e.g. predictions.jsonl during the final evaluation): removed
// once that process is gone. The caller holds the run lock, so no live lengen process writes
// here besides this one.
void remove_orphan_temp_files(const std::string& dir) {
  std::vector<fs::path> orphans;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string name = it->path().filename().string();
    const size_t at = name.rfind(".tmp.");
    if (at == std::string::npos) continue;
    const std::string digits = name.substr(at + 5);
    if (digits.empty() || digits.size() > 9 ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    const pid_t pid = pid_t(std::stol(digits));
    if (pid != ::getpid() && ::kill(pid, 0) != 0 && errno == ESRCH) orphans.push_back(it->path());
  }
  for (const auto& f : orphans) fs::remove(f, ec);
}

// The examples of a split the run needs (validation = ID, test = OOD); an empty or missing
// file stops the run before anything is trained.
void require_examples(const data::LoadedDataset& d, const std::string& data_dir, const std::string& split) {
  if (!split_examples(d.data, split).empty()) return;
  const bool present = std::find(d.splits_present.begin(), d.splits_present.end(), split) != d.splits_present.end();
  fail("{}/{}.jsonl: {}; a run evaluates its model on validation (ID) and test (OOD) examples, "
       "so both files must hold some",
       data_dir, split, present ? "no examples (the file is empty)" : "missing");
}

// Every position the run will use must fit the encoding (e.g. the rows of a learned absolute
// table): training sequences, and the validation and test sequences with the decoding budget.
// Checked before training, so a run never trains to the end and then fails to evaluate.
void check_positions_before_training(const ModelConfig& model, const PositionScheme& positions,
                                     const std::vector<EncodedExample>& train_examples,
                                     const std::vector<std::pair<std::string, std::vector<EncodedExample>>>& eval_examples,
                                     int extra_tokens) {
  const auto encoding = make_positional_encoding(model);
  size_t longest = 0;
  for (const auto& e : train_examples) longest = std::max(longest, e.total());
  try {
    check_index_positions(*encoding, int(longest));
  } catch (const Error& e) {
    fail("training sequences of up to {} tokens do not fit the encoding: {}", longest, e.what());
  }
  if (positions.uses_task_ids()) return;  // task-supplied ids are checked as they are used
  for (const auto& [split, examples] : eval_examples) {
    size_t need = 0;
    int length = 0;
    for (const auto& e : examples)
      if (e.total() + size_t(extra_tokens) > need) need = e.total() + size_t(extra_tokens), length = e.length;
    try {
      check_index_positions(*encoding, int(need));
    } catch (const Error& e) {
      fail("{} examples of length {} need up to {} positions with the decoding budget "
           "(eval.extra_tokens = {}), which the encoding cannot represent: {}. Checked before "
           "training: give the encoding more positions (e.g. model.pe.max_positions >= {}) or "
           "use shorter data",
           split, length, need, extra_tokens, e.what(), need);
    }
  }
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
  remove_orphan_temp_files(dir);
  const std::string source = config.source.empty() ? dir + "/config.json" : config.source;
  PreparedData data = prepare_data(config.data, dir, o.quiet);
  const std::shared_ptr<const data::TextTokenizer> tokenizer = make_run_tokenizer(
      config.data.tokenizer, data.task ? data.task->name() : "", data.loaded.vocab);
  // A resumed run keeps its tokenizer: the same model file (sha256) as its checkpoint's.
  if (fs::exists(dir + "/checkpoint/config.json") &&
      (!config.data.tokenizer.empty() || fs::exists(dir + "/checkpoint/tokenizer.json")))
    (void)load_checkpoint_tokenizer(dir + "/checkpoint", config.data.tokenizer);
  const ModelConfig model = resolve_model(config.model, *tokenizer, source);
  const auto train_examples = encode_examples(data.loaded.data.train, *tokenizer, data.dir + "/train.jsonl");
  if (train_examples.empty()) fail("{}/train.jsonl: no training examples", data.dir);
  std::vector<std::pair<std::string, std::vector<EncodedExample>>> eval_examples;  // validation, test
  for (const char* split : {"validation", "test"}) {
    require_examples(data.loaded, data.dir, split);
    eval_examples.emplace_back(split, encode_examples(split_examples(data.loaded.data, split), *tokenizer,
                                                      data.dir + "/" + split + ".jsonl"));
  }
  const PositionScheme positions = resolve_position_scheme(config.to_json(), source);
  if (positions.uses_task_ids() && !tokenizer->vocabulary())
    fail("{}: data.positions '{}' numbers the task's words, which needs the word-level tokenizer; "
         "it cannot be used with data.tokenizer (SentencePiece)",
         source, config.data.positions);
  check_positions_before_training(model, positions, train_examples, eval_examples, config.eval.extra_tokens);
  // Greedy validation during training on a fixed subset spread over the file, and the same for
  // the test split when eval.test_examples asks for the OOD curve.
  struct Probe {
    std::vector<tasks::Example> examples;
    std::vector<EncodedExample> encoded;
  };
  auto probe = [&](const std::vector<tasks::Example>& all, const std::vector<EncodedExample>& enc,
                   int wanted) {
    const auto idx = evenly_spaced(all.size(), size_t(std::max(0, wanted)));
    return std::make_shared<Probe>(Probe{pick(all, idx), pick(enc, idx)});
  };
  auto valid = probe(data.loaded.data.validation, eval_examples[0].second, config.eval.validation_examples);
  auto ood = probe(data.loaded.data.test, eval_examples[1].second, config.eval.test_examples);
  std::function<Batch(int64_t)> next_batch;
  if (config.data.curriculum.active()) {
    auto batcher = std::make_shared<CurriculumBatcher>(train_examples, config.train.batch_size,
                                                       config.train.seed, config.data.curriculum,
                                                       positions, tokenizer->pad_id());
    next_batch = [batcher](int64_t step) { return batcher->batch(step); };
  } else {
    auto batcher = std::make_shared<LengthBatcher>(train_examples, config.train.batch_size,
                                                   config.train.seed, positions, tokenizer->pad_id());
    next_batch = [batcher](int64_t step) { return batcher->batch(step); };
  }

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
  run.next_batch = next_batch;
  run.write_extra_files = [tokenizer](const std::string& d) { tokenizer->save(d); };
  const tasks::Task* task = data.task.get();
  const EvalConfig eval_cfg = config.eval;
  if (!valid->examples.empty())
    run.evaluate = [valid, ood, tokenizer, task, eval_cfg, positions](Transformer& m) {
      // Per-length accuracy ({"<length>": accuracy}) for the curves (TensorBoard, reports).
      auto by_length = [](const EvalResult& r) {
        nlohmann::json j = nlohmann::json::object();
        for (const auto& [length, s] : r.per_length) j[std::to_string(length)] = s.accuracy();
        return j;
      };
      EvalOptions eo;
      eo.positions = positions;
      eo.batch_size = eval_cfg.batch_size;
      eo.extra_tokens = eval_cfg.extra_tokens;
      eo.quiet = true;
      eo.label = "validation";
      const EvalResult r = evaluate_examples(m, *tokenizer, task, valid->examples, valid->encoded, eo);
      const double acc = r.overall.accuracy();
      nlohmann::json out = {{"score", acc},
                            {"validation_accuracy", acc},
                            {"examples", r.overall.total},
                            {"validation_accuracy_by_length", by_length(r)},
                            {"summary", fmt::format("val {:.1f}%", 100 * acc)}};
      if (!ood->examples.empty()) {
        eo.label = "test";
        const EvalResult t = evaluate_examples(m, *tokenizer, task, ood->examples, ood->encoded, eo);
        out["test_accuracy"] = t.overall.accuracy();
        out["test_examples"] = t.overall.total;
        out["test_accuracy_by_length"] = by_length(t);
        out["summary"] = fmt::format("val {:.1f}% test {:.1f}%", 100 * acc, 100 * t.overall.accuracy());
      }
      return out;
    };
  const TrainResult tr = train(run);
  if (!o.evaluate || (o.stop_at_step > 0 && o.stop_at_step < config.train.steps)) return {};
  if (tr.resumed_from >= config.train.steps) {  // a finished run, rerun: it stays as it is
    const nlohmann::json done = read_finished_results(dir);
    if (!done.empty()) return done;
  }
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

namespace {

// The evaluation `r` asks for, against the run's own one (its best checkpoint, or its last
// without a best; its data; its eval.max_per_length; its model settings): every difference
// becomes part of the name "@..." of the output directories, so that an evaluation on other
// data or settings never replaces the run's own results.
struct EvalTarget {
  std::string checkpoint, data_dir;
  int per_length = 0;
  std::string suffix;  // "" = the run's own evaluation
  nlohmann::json what;  // recorded in each split's results.json
};

bool same_path(const std::string& a, const std::string& b) {
  std::error_code ec1, ec2;
  return fs::weakly_canonical(a, ec1) == fs::weakly_canonical(b, ec2) && !ec1 && !ec2;
}

std::string canonical_or(const std::string& p) {
  std::error_code ec;
  const auto c = fs::weakly_canonical(p, ec);
  return ec ? p : c.string();
}

// A short name of a directory for eval/<split>@...: its last component, with its parent's for
// the usual "data" and "best" ("other_run-data").
std::string last_name(const std::string& path) {
  fs::path p = fs::path(path).lexically_normal();
  if (!p.has_filename()) p = p.parent_path();
  std::string name = p.filename().string();
  const std::string parent = fs::absolute(p).parent_path().filename().string();
  if ((name == "data" || name == "best" || name == "checkpoint") && !parent.empty()) name = parent + "-" + name;
  return name.empty() ? "data" : name;
}

EvalTarget eval_target(const EvalRequest& r, const RunConfig& config) {
  EvalTarget t;
  const std::string own_ckpt =
      fs::exists(r.run_dir + "/best/config.json") ? r.run_dir + "/best" : r.run_dir + "/checkpoint";
  t.checkpoint = r.checkpoint.empty() ? own_ckpt
                 : (r.checkpoint == "best" || r.checkpoint == "checkpoint") ? r.run_dir + "/" + r.checkpoint
                                                                           : r.checkpoint;
  const std::string own_data = config.data.dir.empty() ? r.run_dir + "/data" : config.data.dir;
  t.data_dir = r.data_dir.empty() ? own_data : r.data_dir;
  const int own_per_length = config.eval.max_per_length;
  t.per_length = r.max_per_length >= 0 ? r.max_per_length : own_per_length;

  std::vector<std::string> parts = r.model_overrides;
  const bool named = r.checkpoint == "best" || r.checkpoint == "checkpoint";
  if (!same_path(t.checkpoint, own_ckpt))
    parts.push_back("checkpoint=" + (named ? r.checkpoint : last_name(t.checkpoint)));
  if (!same_path(t.data_dir, own_data)) parts.push_back("data=" + last_name(t.data_dir));
  if (t.per_length != own_per_length) parts.push_back(fmt::format("max_per_length={}", t.per_length));
  if (!parts.empty()) t.suffix = "@" + fmt::format("{}", fmt::join(parts, ","));
  t.what = {{"checkpoint", canonical_or(t.checkpoint)}, {"data_dir", canonical_or(t.data_dir)},
            {"max_per_length", t.per_length}};
  if (!r.model_overrides.empty()) t.what["model_overrides"] = r.model_overrides;
  return t;
}

// The evaluation directory eval/<split><suffix>; when it already holds the results of another
// evaluation under the same name (e.g. --data of two directories both named "data"), a number
// is added: <suffix>~2, ~3, ...
std::string eval_dir(const std::string& run_dir, const std::string& split, const EvalTarget& t) {
  const std::string base = run_dir + "/eval/" + split + t.suffix;
  if (t.suffix.empty()) return base;
  for (int k = 1;; ++k) {
    const std::string dir = k == 1 ? base : fmt::format("{}~{}", base, k);
    if (!fs::exists(dir + "/results.json")) return dir;
    try {
      const auto old = read_json_file(dir + "/results.json");
      if (old.value("evaluated", nlohmann::json()) == t.what) return dir;  // the same evaluation again
    } catch (const Error&) {
      return dir;  // damaged: redone
    }
  }
}

}  // namespace

nlohmann::json read_finished_results(const std::string& run_dir) {
  const std::string path = run_dir + "/results.json";
  if (!fs::is_regular_file(path)) return {};
  try {
    const nlohmann::json j = read_json_file(path);
    if (j.is_object() && j.contains("training") && (j.contains("id_accuracy") || j.contains("ood_accuracy")))
      return j;
  } catch (const Error&) {  // damaged: the evaluation is redone
  }
  return {};
}

nlohmann::json evaluate_run(const EvalRequest& r) {
  const std::string config_path = r.run_dir + "/config.json";
  if (!fs::exists(config_path)) fail("{}: not a run directory (no config.json)", r.run_dir);
  const nlohmann::json config = read_json_file(config_path);
  if (!config.is_object() || !config.contains("data") || !config.contains("model"))
    fail("{}: not a task run (no 'data' section); use `lengen score` for LM checkpoints", config_path);
  // Typed and strict: a corrupt value is an error naming the key, never coerced (true -> 1).
  const RunConfig rc = RunConfig::from_json(config, config_path);
  const io::DirectoryLock lock(r.run_dir);  // not while a training writes the same run
  remove_orphan_temp_files(r.run_dir);
  const EvalTarget target = eval_target(r, rc);
  const std::string ckpt = resolve_checkpoint_dir(target.checkpoint);
  auto model = r.model_overrides.empty() ? load_model(ckpt)
                                         : load_model_with_overrides(ckpt, r.model_overrides);
  const auto tokenizer = load_checkpoint_tokenizer(ckpt, rc.data.tokenizer);
  if (tokenizer->vocab_size() != size_t(model->config().vocab_size))
    fail("{}: the {} has {} entries but the model's vocab_size is {}", ckpt,
         tokenizer->kind() == "word" ? "vocab.json" : "SentencePiece model", tokenizer->vocab_size(),
         model->config().vocab_size);
  const std::string& data_dir = target.data_dir;
  const auto loaded = data::load_dataset_dir(data_dir);
  std::unique_ptr<tasks::Task> task;
  if (loaded.info && !loaded.info->task.empty()) task = tasks::make_task(loaded.info->task);
  EvalOptions eo;
  eo.batch_size = rc.eval.batch_size;
  eo.extra_tokens = rc.eval.extra_tokens;
  eo.quiet = r.quiet;
  eo.positions = resolve_position_scheme(config, config_path);
  // Nothing is written unless some requested split has examples (an empty dataset must not
  // leave the impression of an evaluation).
  std::vector<std::string> splits, empty;
  for (const auto& split : r.splits) (split_examples(loaded.data, split).empty() ? empty : splits).push_back(split);
  if (splits.empty())
    fail("{}: no examples to evaluate: {} {} empty or missing; nothing was written", data_dir,
         fmt::format("{}.jsonl", fmt::join(empty, ".jsonl, ")), empty.size() > 1 ? "are" : "is");
  for (const auto& split : empty)
    fmt::print(stderr, "lengen: warning: {}/{}.jsonl has no examples; that split is not evaluated\n", data_dir, split);
  std::map<std::string, EvalResult> results;
  std::map<std::string, std::string> dirs;
  for (const auto& split : splits) {
    const auto& all = split_examples(loaded.data, split);
    const auto examples = pick(all, cap_per_length(all, target.per_length));
    if (tokenizer->vocabulary()) check_vocabulary(*tokenizer->vocabulary(), examples, data_dir, ckpt);
    const auto encoded = encode_examples(examples, *tokenizer, data_dir + "/" + split + ".jsonl");
    eo.label = split;
    EvalResult res = evaluate_examples(*model, *tokenizer, task.get(), examples, encoded, eo);
    res.split = split;
    // Each split is written as soon as it is done: a later failure keeps it.
    dirs[split] = eval_dir(r.run_dir, split, target);
    write_eval_results(dirs[split], res, examples, {{"evaluated", target.what}});
    if (!r.quiet)
      fmt::print(stderr, "{}: {} exact match {:.1f}% ({} / {}) -> {}\n", r.run_dir, split,
                 100 * res.overall.accuracy(), res.overall.correct, res.overall.total, dirs[split]);
    results.emplace(split, std::move(res));
  }
  nlohmann::json summary = summarize(r.run_dir, config, results, ckpt);
  if (!target.suffix.empty()) {  // another evaluation: the run's results.json stays as it is
    summary["evaluated"] = target.what;
    summary["eval_dirs"] = dirs;
    return summary;
  }
  // The run's own evaluation: results.json gets the splits evaluated now and keeps the others
  // and the training figures of the earlier summary.
  if (fs::exists(r.run_dir + "/results.json")) {
    try {
      const auto old = read_json_file(r.run_dir + "/results.json");
      if (old.is_object()) {
        if (old.contains("training")) summary["training"] = old["training"];
        for (const auto& [split, key] : {std::pair<std::string, std::string>{"validation", "id_accuracy"},
                                         {"test", "ood_accuracy"}})
          if (!results.count(split) && old.contains(split) && old.contains(key)) {
            summary[split] = old[split];
            summary[key] = old[key];
          }
      }
    } catch (const Error&) {
    }
  }
  io::write_file_atomic(r.run_dir + "/results.json", summary.dump(2) + "\n");
  return summary;
}

}  // namespace lengen
