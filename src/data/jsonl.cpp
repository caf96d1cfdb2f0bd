#include "data/jsonl.h"

#include "io/atomic_file.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "util/error.h"
#include "util/json_parse.h"

namespace fs = std::filesystem;

namespace lengen::data {

static std::string tmp_name(const std::string& path) { return path + ".tmp"; }

static void write_tmp(const std::string& path, const std::string& contents) {
  const auto tmp = tmp_name(path);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail("cannot open '{}' for writing", tmp);
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    out.flush();
    if (!out) {
      out.close();
      std::error_code ec;
      fs::remove(tmp, ec);
      fail("error while writing '{}'", tmp);
    }
  }
}

static void commit_tmp(const std::string& path) {
  std::error_code ec;
  fs::rename(tmp_name(path), path, ec);
  if (ec) fail("cannot rename '{}' to '{}': {}", tmp_name(path), path, ec.message());
}

nlohmann::json example_to_json(const tasks::Example& e) {
  nlohmann::json j;  // keys in a fixed order: nlohmann::json sorts object keys
  j["source"] = e.source;
  j["target"] = e.target;
  j["length"] = e.length;
  j["category"] = e.category;
  if (e.scratchpad) j["scratchpad"] = *e.scratchpad;
  if (e.position_ids) j["position_ids"] = *e.position_ids;
  return j;
}

tasks::Example example_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) fail("{}: expected a JSON object, found {}", where, j.type_name());
  tasks::Example e;
  for (const char* key : {"source", "target"}) {
    if (!j.contains(key)) fail("{}: missing required key \"{}\"", where, key);
    if (!j[key].is_string())
      fail("{}: key \"{}\" must be a string, found {}", where, key, j[key].type_name());
  }
  e.source = j["source"].get<std::string>();
  e.target = j["target"].get<std::string>();
  if (j.contains("length") && !j["length"].is_null()) {
    const auto& l = j["length"];
    // Checked before conversion: a value above INT_MAX used to wrap to a negative length.
    const bool in_range = l.is_number_unsigned()  ? l.get<uint64_t>() <= uint64_t(INT32_MAX)
                          : l.is_number_integer() ? l.get<int64_t>() >= 0 && l.get<int64_t>() <= INT32_MAX
                                                  : false;
    if (!in_range)
      fail("{}: key \"length\" must be a non-negative integer of at most {}, found {}", where,
           INT32_MAX, json_excerpt(l));
    e.length = int(l.get<int64_t>());
  } else {
    e.length = static_cast<int>(split_words(e.source).size());
  }
  if (j.contains("category") && !j["category"].is_null()) {
    const auto& c = j["category"];
    if (c.is_string())
      e.category = c.get<std::string>();
    else if (c.is_number_integer())
      e.category = std::to_string(c.get<int64_t>());
    else
      fail("{}: key \"category\" must be a string or an integer, found {}", where, c.type_name());
  } else {
    e.category = std::to_string(e.length);
  }
  if (j.contains("scratchpad") && !j["scratchpad"].is_null()) {
    if (!j["scratchpad"].is_string())
      fail("{}: key \"scratchpad\" must be a string, found {}", where,
           j["scratchpad"].type_name());
    e.scratchpad = j["scratchpad"].get<std::string>();
  }
  if (j.contains("position_ids") && !j["position_ids"].is_null()) {
    const auto& p = j["position_ids"];
    if (!p.is_array()) fail("{}: key \"position_ids\" must be an array of integers", where);
    std::vector<int> ids;
    for (size_t k = 0; k < p.size(); ++k) {
      if (!p[k].is_number_integer()) fail("{}: key \"position_ids\" must hold integers only", where);
      ids.push_back(json_value_as<int>(p[k], where, fmt::format("position_ids[{}]", k)));
    }
    e.position_ids = std::move(ids);
  }
  return e;
}

std::string examples_to_jsonl(const std::vector<tasks::Example>& examples) {
  std::string out;
  for (const auto& e : examples) {
    out += example_to_json(e).dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
    out.push_back('\n');
  }
  return out;
}

void write_jsonl(const std::string& path, const std::vector<tasks::Example>& examples) {
  io::write_file_atomic(path, examples_to_jsonl(examples));
}

namespace {

// A line of a dataset written by lengen (a directory with dataset.json) carries exactly the
// keys example_to_json writes: anything else there is corruption (a mutated key name is not
// a user's extra field).
void check_generated_line(const nlohmann::json& j, const std::string& where) {
  static const std::set<std::string> keys = {"source",   "target",     "length",
                                             "category", "scratchpad", "position_ids"};
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!keys.count(it.key()))
      fail("{}: unknown key \"{}\" in a dataset written by lengen (it has dataset.json); "
           "allowed keys: source, target, length, category, scratchpad, position_ids",
           where, it.key());
  for (const char* key : {"length", "category"})
    if (!j.contains(key))
      fail("{}: missing key \"{}\" (every line of a dataset written by lengen has it)", where, key);
}

std::vector<tasks::Example> read_jsonl_lines(const std::string& path, bool generated) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open '{}' for reading", path);
  std::vector<tasks::Example> out;
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = fmt::format("{}:{}", path, line_no);
    // Strict: a NUL byte (which would end nlohmann's parse early and hide the rest of the
    // line), a duplicate key or trailing text is an error naming the line.
    const nlohmann::json j = parse_json_text(line, where);
    if (generated && j.is_object()) check_generated_line(j, where);
    out.push_back(example_from_json(j, where));
  }
  if (in.bad()) fail("error while reading '{}'", path);
  return out;
}

}  // namespace

std::vector<tasks::Example> read_jsonl(const std::string& path) {
  return read_jsonl_lines(path, false);
}

nlohmann::json DatasetInfo::to_json() const {
  nlohmann::json j;
  j["format"] = "lengen-dataset-1";
  j["task"] = task;
  j["split"] = split;
  j["seed"] = seed;
  j["scratchpad"] = scratchpad.empty() ? nlohmann::json(nullptr) : nlohmann::json(scratchpad);
  j["counts"] = {{"train", train}, {"validation", validation}, {"test", test}};
  if (!imported.is_null()) j["imported"] = imported;
  return j;
}

DatasetInfo DatasetInfo::from_json(const nlohmann::json& j, const std::string& origin) {
  // Written by lengen only (save_dataset_dir): every key typed, unknown keys and another
  // file's content (a vocab.json, a run config) are errors.
  if (!j.is_object()) fail("{}: expected a JSON object, found {}", origin, j.type_name());
  for (auto it = j.begin(); it != j.end(); ++it) {
    static const std::set<std::string> allowed = {"format", "task",   "split",   "seed",
                                                  "scratchpad", "counts", "imported"};
    if (!allowed.count(it.key()))
      fail("{}: unknown key '{}'; allowed keys: format, task, split, seed, scratchpad, counts, "
           "imported",
           origin, it.key());
  }
  if (j.contains("format") && j["format"] != "lengen-dataset-1")
    fail("{}: key 'format' must be \"lengen-dataset-1\", got {}", origin, json_excerpt(j["format"]));
  DatasetInfo d;
  d.task = json_get_or<std::string>(j, "task", "", origin);
  d.split = json_get_or<std::string>(j, "split", "", origin);
  d.seed = json_get_or<uint64_t>(j, "seed", 0, origin);
  d.scratchpad = json_get_or<std::string>(j, "scratchpad", "", origin);
  if (j.contains("imported")) {  // provenance only: kept as written, but it must be an object
    if (!j["imported"].is_object()) fail("{}: key 'imported' must be an object", origin);
    d.imported = j["imported"];
  }
  if (j.contains("counts")) {
    const auto& c = j["counts"];
    const std::string cw = origin + ": counts";
    if (!c.is_object()) fail("{}: key 'counts' must be an object", origin);
    for (auto it = c.begin(); it != c.end(); ++it)
      if (it.key() != "train" && it.key() != "validation" && it.key() != "test")
        fail("{}: unknown key '{}'; allowed keys: train, validation, test", cw, it.key());
    d.train = json_get_or<int64_t>(c, "train", 0, cw);
    d.validation = json_get_or<int64_t>(c, "validation", 0, cw);
    d.test = json_get_or<int64_t>(c, "test", 0, cw);
    for (const int64_t n : {d.train, d.validation, d.test})
      if (n < 0) fail("{}: counts must be >= 0, got {}", cw, n);
  }
  return d;
}

static std::vector<tasks::Example>& split_of(tasks::Dataset& d, const std::string& name) {
  if (name == "train") return d.train;
  if (name == "validation") return d.validation;
  return d.test;
}
static const std::vector<tasks::Example>& split_of(const tasks::Dataset& d,
                                                   const std::string& name) {
  return split_of(const_cast<tasks::Dataset&>(d), name);
}

void save_dataset_dir(const std::string& dir, const tasks::Dataset& data, const Vocabulary& vocab,
                      const DatasetInfo& info) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail("cannot create directory '{}': {}", dir, ec.message());
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& s : split_names())
    files.emplace_back((fs::path(dir) / (s + ".jsonl")).string(), examples_to_jsonl(split_of(data, s)));
  files.emplace_back((fs::path(dir) / "vocab.json").string(), vocab.to_json_string());
  // dataset.json last: its presence marks a complete directory.
  files.emplace_back((fs::path(dir) / "dataset.json").string(), info.to_json().dump(2) + "\n");
  try {
    for (const auto& [path, contents] : files) write_tmp(path, contents);
  } catch (...) {
    for (const auto& f : files) fs::remove(tmp_name(f.first), ec);
    throw;
  }
  for (const auto& f : files) commit_tmp(f.first);
}

std::vector<std::string> dataset_texts(const tasks::Dataset& data) {
  std::vector<std::string> texts;
  for (const auto* split : {&data.train, &data.validation, &data.test})
    for (const auto& e : *split) {
      texts.push_back(e.source);
      texts.push_back(e.target);
      if (e.scratchpad) texts.push_back(*e.scratchpad);
    }
  return texts;
}

LoadedDataset load_dataset_dir(const std::string& dir) {
  if (!fs::is_directory(dir)) fail("'{}' is not a directory", dir);
  LoadedDataset out;
  // dataset.json first: a directory written by lengen is read strictly (its lines' keys, and
  // each split's size against the recorded counts, so a truncated or padded file is caught).
  const auto info_path = (fs::path(dir) / "dataset.json").string();
  nlohmann::json info_json;
  if (fs::exists(info_path)) {
    info_json = parse_json_text(io::read_file(info_path), info_path);
    out.info = DatasetInfo::from_json(info_json, info_path);
  }
  for (const auto& s : split_names()) {
    const auto path = (fs::path(dir) / (s + ".jsonl")).string();
    const int64_t recorded = !out.info ? 0 : s == "train" ? out.info->train
                                           : s == "validation" ? out.info->validation
                                                               : out.info->test;
    const bool counted = info_json.contains("counts") && info_json["counts"].contains(s);
    if (!fs::exists(path)) {
      if (counted && recorded > 0)
        fail("{}: missing, but dataset.json records {} {} examples", path, recorded, s);
      continue;
    }
    split_of(out.data, s) = read_jsonl_lines(path, out.info.has_value());
    out.splits_present.push_back(s);
    const int64_t found = int64_t(split_of(out.data, s).size());
    if (counted && found != recorded)
      fail("{}: {} examples, but dataset.json records {} (a truncated or edited file? fix the "
           "count in dataset.json or remove it)",
           path, found, recorded);
  }
  if (out.splits_present.empty())
    fail("'{}' holds none of train.jsonl, validation.jsonl, test.jsonl", dir);
  const auto vocab_path = (fs::path(dir) / "vocab.json").string();
  if (fs::exists(vocab_path)) {
    out.vocab = Vocabulary::load(vocab_path);
    out.vocab_from_file = true;
  } else {
    out.vocab = Vocabulary::build(dataset_texts(out.data));
  }
  return out;
}

}  // namespace lengen::data
