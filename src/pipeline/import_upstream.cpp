#include "pipeline/import_upstream.h"

#include <filesystem>
#include <fstream>

#include "tasks/symbolic_common.h"
#include "tasks/text_import.h"
#include "util/error.h"
#include "util/sha256.h"

namespace fs = std::filesystem;

namespace lengen {
namespace {

constexpr double kValidationFraction = 0.1;  // as make_{pcfg,scan}_dataset.py
constexpr int kScanMaxTrainActions = 25;     // make_scan_dataset.py: longer targets are test
const std::vector<std::string> kJsonlFiles{"train.jsonl", "validation.jsonl", "test.jsonl"};

struct Layout {
  std::vector<std::string> files;        // the raw files, in the order they are read
  std::vector<std::string> subdirs;      // where under DIR they may be ("" = DIR itself)
  std::string describe;                  // what DIR should hold, for errors
};

Layout raw_layout(const std::string& task) {
  if (task == "pcfg")
    return {{"train.src", "train.tgt", "test.src", "test.tgt"},
            {"", "data/pcfgset/productivity", "pcfgset/productivity"},
            "the PCFG SET productivity files train.src, train.tgt, test.src, test.tgt "
            "(i-machine-think/am-i-compositional data/pcfgset/productivity/)"};
  return {{"tasks_train_length.txt", "tasks_test_length.txt"},
          {"", "length_split"},
          "the SCAN length-split files tasks_train_length.txt, tasks_test_length.txt "
          "(brendenlake/SCAN length_split/)"};
}

bool all_exist(const fs::path& dir, const std::vector<std::string>& names) {
  for (const auto& n : names)
    if (!fs::is_regular_file(dir / n)) return false;
  return true;
}

std::vector<std::string> missing(const fs::path& dir, const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const auto& n : names)
    if (!fs::is_regular_file(dir / n)) out.push_back(n);
  return out;
}

// One line of the builders' JSONL: {"source": ..., "target": ..., ...}.
std::vector<tasks::Example> read_builder_jsonl(const std::string& task, const std::string& path,
                                               const tasks::TextImportOptions& o) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open '{}'", path);
  std::vector<tasks::Example> out;
  std::string line;
  for (size_t n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = fmt::format("{}:{}", path, n);
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) fail("{}: not a JSON object", where);
    for (const char* key : {"source", "target"})
      if (!j.contains(key) || !j[key].is_string())
        fail("{}: key '{}' missing or not a string", where, key);
    std::string source = j["source"].get<std::string>();
    // The released md_/mdlen_ files may already carry the prefix: it is not added twice.
    const std::string_view prefix = tasks::symbolic::kSolvePrefix;
    if (!o.source_prefix.empty() && source.rfind(prefix.substr(0, prefix.size() - 1), 0) == 0)
      source.erase(0, prefix.size() - 1);
    const std::string target = j["target"].get<std::string>();
    out.push_back(task == "pcfg" ? tasks::pcfg_example(source, target, where, where, o)
                                 : tasks::scan_example(source, target, where, o));
  }
  if (in.bad()) fail("error reading '{}'", path);
  return out;
}

nlohmann::json file_record(const fs::path& path, size_t examples) {
  return {{"name", path.filename().string()},
          {"examples", examples},
          {"sha256", sha256_file(path.string())}};
}

}  // namespace

bool can_import_upstream(const std::string& task) { return task == "pcfg" || task == "scan"; }

UpstreamData import_upstream(const std::string& task, const std::string& split,
                             const std::string& dir, uint64_t seed) {
  if (!can_import_upstream(task))
    fail("--from: task {} has no upstream files to import (only scan and pcfg; the other tasks "
         "are generated as the reference builders generate them)",
         task);
  if (!fs::is_directory(dir)) fail("--from {}: not a directory", dir);
  tasks::TextImportOptions o;
  o.verify_targets = true;
  o.seed = seed;
  if (split.rfind("md", 0) == 0) o.source_prefix = std::string(tasks::symbolic::kSolvePrefix);

  UpstreamData out;
  auto& p = out.provenance;
  p["from"] = fs::absolute(dir).lexically_normal().string();
  p["files"] = nlohmann::json::array();

  if (all_exist(dir, kJsonlFiles)) {  // the builder's output: the paper's exact split
    p["format"] = "jsonl";
    p["validation"] = "validation.jsonl as released";
    std::vector<tasks::Example>* parts[] = {&out.data.train, &out.data.validation, &out.data.test};
    for (size_t s = 0; s < kJsonlFiles.size(); ++s) {
      const fs::path path = fs::path(dir) / kJsonlFiles[s];
      *parts[s] = read_builder_jsonl(task, path.string(), o);
      p["files"].push_back(file_record(path, parts[s]->size()));
    }
    return out;
  }

  const Layout layout = raw_layout(task);
  fs::path where;
  bool found = false;
  for (const auto& sub : layout.subdirs) {
    const fs::path candidate = sub.empty() ? fs::path(dir) : fs::path(dir) / sub;
    if (all_exist(candidate, layout.files)) {
      where = candidate, found = true;
      break;
    }
  }
  if (!found) {
    const auto lacking = missing(dir, layout.files);
    const auto lacking_jsonl = missing(dir, kJsonlFiles);
    fail("--from {}: expected {} or the reference builder's {}; missing: {} (or {})", dir,
         layout.describe, fmt::join(kJsonlFiles, ", "), fmt::join(lacking, ", "),
         fmt::join(lacking_jsonl, ", "));
  }
  p["format"] = "text";
  if (where != fs::path(dir)) p["from"] = fs::absolute(where).lexically_normal().string();
  std::vector<tasks::Example> pool;
  if (task == "pcfg") {
    pool = tasks::read_pcfg_pair((where / "train.src").string(), (where / "train.tgt").string(), o);
    out.data.test = tasks::read_pcfg_pair((where / "test.src").string(), (where / "test.tgt").string(), o);
    for (const auto& [name, count] : {std::pair<std::string, size_t>{"train.src", pool.size()},
                                      {"train.tgt", pool.size()},
                                      {"test.src", out.data.test.size()},
                                      {"test.tgt", out.data.test.size()}})
      p["files"].push_back(file_record(where / name, count));
  } else {
    // make_scan_dataset.py reads the length split's train + test and re-splits at 25 actions.
    for (const auto& name : layout.files) {
      const auto examples = tasks::read_scan_file((where / name).string(), o);
      p["files"].push_back(file_record(where / name, examples.size()));
      for (const auto& e : examples)
        (e.length <= kScanMaxTrainActions ? pool : out.data.test).push_back(e);
    }
    p["test"] = fmt::format("examples with more than {} actions", kScanMaxTrainActions);
  }
  tasks::symbolic::Rng rng(seed);
  tasks::symbolic::carve_validation(pool, out.data.validation, kValidationFraction, rng);
  out.data.train = std::move(pool);
  p["validation"] = fmt::format("floor({} x training pool) chosen by seed {}", kValidationFraction, seed);
  return out;
}

}  // namespace lengen
