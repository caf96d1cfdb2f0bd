#include "data/jsonl.h"

#include "io/atomic_file.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "util/error.h"

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
    if (!l.is_number_integer() || l.get<int64_t>() < 0)
      fail("{}: key \"length\" must be a non-negative integer, found {}", where, l.dump());
    e.length = l.get<int>();
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
    for (const auto& v : p) {
      if (!v.is_number_integer()) fail("{}: key \"position_ids\" must hold integers only", where);
      ids.push_back(v.get<int>());
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

std::vector<tasks::Example> read_jsonl(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open '{}' for reading", path);
  std::vector<tasks::Example> out;
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = fmt::format("{}:{}", path, line_no);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      fail("{}: invalid JSON: {}", where, e.what());
    }
    out.push_back(example_from_json(j, where));
  }
  if (in.bad()) fail("error while reading '{}'", path);
  return out;
}

nlohmann::json DatasetInfo::to_json() const {
  nlohmann::json j;
  j["format"] = "lengen-dataset-1";
  j["task"] = task;
  j["split"] = split;
  j["seed"] = seed;
  j["scratchpad"] = scratchpad.empty() ? nlohmann::json(nullptr) : nlohmann::json(scratchpad);
  j["counts"] = {{"train", train}, {"validation", validation}, {"test", test}};
  return j;
}

DatasetInfo DatasetInfo::from_json(const nlohmann::json& j, const std::string& origin) {
  DatasetInfo d;
  try {
    d.task = j.value("task", "");
    d.split = j.value("split", "");
    d.seed = j.value("seed", uint64_t{0});
    if (j.contains("scratchpad") && j["scratchpad"].is_string())
      d.scratchpad = j["scratchpad"].get<std::string>();
    if (j.contains("counts")) {
      const auto& c = j["counts"];
      d.train = c.value("train", int64_t{0});
      d.validation = c.value("validation", int64_t{0});
      d.test = c.value("test", int64_t{0});
    }
  } catch (const nlohmann::json::exception& e) {
    fail("{}: malformed dataset description: {}", origin, e.what());
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
  for (const auto& s : split_names()) {
    const auto path = (fs::path(dir) / (s + ".jsonl")).string();
    if (!fs::exists(path)) continue;
    split_of(out.data, s) = read_jsonl(path);
    out.splits_present.push_back(s);
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
  const auto info_path = (fs::path(dir) / "dataset.json").string();
  if (fs::exists(info_path)) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(io::read_file(info_path));
    } catch (const nlohmann::json::exception& e) {
      fail("{}: not valid JSON: {}", info_path, e.what());
    }
    out.info = DatasetInfo::from_json(j, info_path);
  }
  return out;
}

}  // namespace lengen::data
