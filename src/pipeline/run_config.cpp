#include "pipeline/run_config.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "config/config_loader.h"
#include "arch/model_config.h"
#include "pe/positional_encoding.h"
#include "util/error.h"
#include "util/json_config.h"
#include "util/json_parse.h"

namespace fs = std::filesystem;

namespace lengen {
namespace {

// The vocabulary size the model keys are checked with before the data exist: large enough
// for any task vocabulary, so only the real size can reject e.g. a delimiter id.
constexpr int kVocabularyStandIn = 1 << 16;

void check_keys(const nlohmann::json& j, const std::string& where,
                const std::vector<std::string>& allowed) {
  if (!j.is_object()) fail("{}: expected an object", where);
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool ok = false;
    for (const auto& a : allowed) ok = ok || a == it.key();
    if (!ok)
      fail("{}: unknown key '{}'; allowed keys: {}", where, it.key(), fmt::join(allowed, ", "));
  }
}

// Strict (util/json_parse.h): the wrong JSON type is an error naming the key, never coerced
// (true -> 1, 3.5 -> 3).
template <typename T>
void read(const nlohmann::json& j, const char* key, T& out, const std::string& where) {
  if (!j.contains(key)) return;
  out = json_value_as<T>(j.at(key), where, key);
}

}  // namespace

RunConfig RunConfig::from_json(const nlohmann::json& j, const std::string& where) {
  check_keys(j, where, {"data", "model", "train", "eval"});
  RunConfig c;
  c.source = where;
  const nlohmann::json data = j.value("data", nlohmann::json::object());
  const std::string dw = where + ": data";
  check_keys(data, dw, {"task", "split", "scratchpad", "seed", "train_size", "test_size", "dir",
                        "from", "tokenizer", "positions", "random_positions", "random_eval_positions",
                        "position_offset", "curriculum"});
  read(data, "task", c.data.task, dw);
  read(data, "split", c.data.split, dw);
  read(data, "scratchpad", c.data.scratchpad, dw);
  read(data, "seed", c.data.seed, dw);
  read(data, "train_size", c.data.train_size, dw);
  read(data, "test_size", c.data.test_size, dw);
  read(data, "dir", c.data.dir, dw);
  read(data, "from", c.data.from, dw);
  read(data, "tokenizer", c.data.tokenizer, dw);
  read(data, "positions", c.data.positions, dw);
  read(data, "random_positions", c.data.random_positions, dw);
  read(data, "random_eval_positions", c.data.random_eval_positions, dw);
  read(data, "position_offset", c.data.position_offset, dw);
  if (data.contains("curriculum") && !data["curriculum"].is_null())
    c.data.curriculum = CurriculumConfig::from_json(data["curriculum"], dw + ".curriculum");
  if (c.data.task.empty() == c.data.dir.empty())
    fail("{}: give either 'task' (generate data) or 'dir' (an existing dataset directory)", dw);
  if (!c.data.from.empty() && c.data.task.empty())
    fail("{}: 'from' (upstream files to import) needs 'task' (scan or pcfg), not 'dir'", dw);
  c.model = j.value("model", nlohmann::json::object());
  if (!c.model.is_object()) fail("{}: model must be an object", where);
  {  // the model keys now; vocab_size comes from the data (a wrong one is named then)
    nlohmann::json m = c.model;
    if (!m.contains("vocab_size")) m["vocab_size"] = kVocabularyStandIn;
    model_config_from_json(m, where + ": model");
  }
  c.train = TrainConfig::from_json(j.value("train", nlohmann::json::object()), where + ": train");
  const nlohmann::json eval = j.value("eval", nlohmann::json::object());
  const std::string ew = where + ": eval";
  check_keys(eval, ew,
             {"batch_size", "validation_examples", "max_per_length", "extra_tokens", "test_examples"});
  read(eval, "batch_size", c.eval.batch_size, ew);
  read(eval, "validation_examples", c.eval.validation_examples, ew);
  read(eval, "max_per_length", c.eval.max_per_length, ew);
  read(eval, "extra_tokens", c.eval.extra_tokens, ew);
  read(eval, "test_examples", c.eval.test_examples, ew);
  for (const auto& [key, v] : {std::pair<const char*, int64_t>{"train_size", c.data.train_size},
                               {"test_size", c.data.test_size},
                               {"random_positions", c.data.random_positions},
                               {"position_offset", c.data.position_offset}})
    if (v < 0) fail("{}: key '{}' must be >= 0, got {}", dw, key, v);
  if (c.eval.validation_examples < 0) fail("{}: key 'validation_examples' must be >= 0", ew);
  if (c.eval.test_examples < 0) fail("{}: key 'test_examples' must be >= 0 (0 = off)", ew);
  if (c.eval.max_per_length < 0) fail("{}: key 'max_per_length' must be >= 0 (0 = all)", ew);
  if (c.eval.batch_size <= 0) fail("{}: key 'batch_size' must be positive", ew);
  if (c.eval.extra_tokens < 1) fail("{}: key 'extra_tokens' must be at least 1", ew);
  return c;
}

nlohmann::json RunConfig::to_json() const {
  nlohmann::json data = {{"seed", this->data.seed},
                         {"train_size", this->data.train_size},
                         {"test_size", this->data.test_size}};
  if (!this->data.dir.empty()) data["dir"] = this->data.dir;
  if (!this->data.task.empty()) data["task"] = this->data.task;
  if (!this->data.split.empty()) data["split"] = this->data.split;
  if (!this->data.scratchpad.empty()) data["scratchpad"] = this->data.scratchpad;
  if (!this->data.from.empty()) data["from"] = this->data.from;
  if (!this->data.tokenizer.empty()) data["tokenizer"] = this->data.tokenizer;
  if (this->data.positions != "auto") data["positions"] = this->data.positions;
  if (this->data.random_positions) data["random_positions"] = this->data.random_positions;
  if (this->data.random_eval_positions) data["random_eval_positions"] = true;
  if (this->data.position_offset) data["position_offset"] = this->data.position_offset;
  if (this->data.curriculum.active()) data["curriculum"] = this->data.curriculum.to_json();
  nlohmann::json ev = {{"batch_size", eval.batch_size},
                       {"validation_examples", eval.validation_examples},
                       {"max_per_length", eval.max_per_length},
                       {"extra_tokens", eval.extra_tokens}};
  // Only when set, so that the recorded config of runs made before the key existed still matches.
  if (eval.test_examples) ev["test_examples"] = eval.test_examples;
  return {{"data", data}, {"model", model}, {"train", train.to_json()}, {"eval", ev}};
}

std::string config_dir() {
  if (const char* env = std::getenv("LENGEN_CONFIG_DIR"); env && *env) return env;
  return LENGEN_CONFIG_DIR;
}

std::vector<std::string> preset_names() {
  std::vector<std::string> names;
  const fs::path root = config_dir();
  if (!fs::is_directory(root)) return names;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    const auto ext = e.path().extension();
    if (e.is_regular_file() && (ext == ".jsonnet" || ext == ".json")) {
      auto rel = fs::relative(e.path(), root).replace_extension("");
      names.push_back(rel.string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> resolve_config_paths(const std::string& list) {
  std::vector<std::string> out;
  for (const auto& entry : split_config_list(list)) {
    if (fs::is_regular_file(entry)) {
      out.push_back(entry);
      continue;
    }
    bool found = false;
    for (const char* ext : {".jsonnet", ".json", ""}) {
      const fs::path p = fs::path(config_dir()) / (entry + ext);
      if (fs::is_regular_file(p)) {
        out.push_back(p.string());
        found = true;
        break;
      }
    }
    if (!found)
      fail("config '{}' is neither a file nor a preset; presets (in {}): {}", entry, config_dir(),
           fmt::join(preset_names(), ", "));
  }
  return out;
}

nlohmann::json load_run_config_json(const std::string& list, const std::vector<std::string>& sets) {
  nlohmann::json j = list.empty() ? nlohmann::json::object()
                                  : load_config_files(resolve_config_paths(list), {config_dir()});
  apply_overrides(j, sets);
  return j;
}

}  // namespace lengen
