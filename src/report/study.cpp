#include "report/study.h"

#include <algorithm>
#include <functional>
#include <filesystem>
#include <set>

#include "model/checkpoint.h"
#include "util/error.h"

namespace fs = std::filesystem;

namespace lengen::report {

std::string RunRecord::task_split() const { return task + " " + split; }

std::string RunRecord::task_key() const {
  return scratchpad.empty() ? task_split() : task_split() + " [sp " + scratchpad + "]";
}

namespace {

// A string field, or `fallback` when it is absent, null (dataset.json writes "scratchpad": null
// for none) or not a string.
std::string text_field(const nlohmann::json& j, const char* key, const std::string& fallback) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return fallback;
  return j[key].get<std::string>();
}

}  // namespace

RunRecord run_record(const nlohmann::json& r, const std::string& dir) {
  RunRecord rec;
  rec.dir = dir;
  nlohmann::json data = r.value("data", nlohmann::json::object());
  if (data.is_object() && !data.contains("task") && data.contains("dir") && data["dir"].is_string()) {
    const std::string info = data["dir"].get<std::string>() + "/dataset.json";
    try {
      if (fs::exists(info)) data = read_json_file(info);
    } catch (const Error&) {  // the run's own numbers still count; its task shows as unknown
    }
  }
  rec.task = text_field(data, "task", "unknown");
  rec.split = text_field(data, "split", "");
  rec.scratchpad = text_field(data, "scratchpad", "");
  rec.encoding = text_field(r, "encoding", "unknown");
  // Randomized positions are compared as an encoding of their own (Ruoss et al. 2023), e.g.
  // "rotary+random1024", not pooled with the plain runs as more seeds.
  if (const auto rp = data.is_object() ? data.value("random_positions", nlohmann::json()) : nlohmann::json();
      rp.is_number_integer() && rp.get<int64_t>() > 0)
    rec.encoding += "+random" + std::to_string(rp.get<int64_t>());
  if (const auto seed = r.value("train_seed", nlohmann::json());
      seed.is_number_unsigned() || (seed.is_number_integer() && seed.get<int64_t>() >= 0))
    rec.seed = seed.get<uint64_t>();
  if (r.contains("id_accuracy") && r["id_accuracy"].is_number()) rec.has_id = true, rec.id = r["id_accuracy"];
  if (r.contains("ood_accuracy") && r["ood_accuracy"].is_number()) rec.has_ood = true, rec.ood = r["ood_accuracy"];
  rec.id_by_length = accuracy_per_length(r.value("validation", nlohmann::json()));
  rec.ood_by_length = accuracy_per_length(r.value("test", nlohmann::json()));
  if (const auto tokens = accuracy_per_length(r.value("test", nlohmann::json()), "token_accuracy");
      !tokens.empty()) {
    rec.has_ood_tokens = true;
    for (const auto& [n, a] : tokens) rec.ood_tokens += a / double(tokens.size());
  }
  rec.ood_by_operands = accuracy_per_operand_lengths(r.value("test", nlohmann::json()));
  for (const char* split : {"validation", "test"})
    if (r.contains(split) && r[split].is_object() && r[split].contains("scratchpad"))
      rec.scratchpad_scores[split] = r[split]["scratchpad"];
  return rec;
}

void for_each_result_dir(const std::vector<std::string>& roots, const std::vector<std::string>& skip,
                         const std::function<void(const fs::path&)>& visit) {
  std::set<fs::path> skipped;
  for (const auto& s : skip) skipped.insert(fs::weakly_canonical(s));
  std::set<fs::path> seen;  // a directory reached through two roots counts once
  auto once = [&](const fs::path& dir) {
    if (seen.insert(fs::weakly_canonical(dir)).second) visit(dir);
  };
  for (const auto& root : roots) {
    if (!fs::is_directory(root)) fail("report: {} is not a directory", root);
    once(root);
    for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied);
         it != fs::recursive_directory_iterator(); ++it) {
      if (!it->is_directory()) continue;
      const std::string name = it->path().filename().string();
      // A run's own subfolders hold no other results; checkpoints are large.
      if (name == "checkpoint" || name == "best" || name == "data" || name == "eval" ||
          name.find(".tmp") != std::string::npos || name.ends_with(".old") ||
          skipped.count(fs::weakly_canonical(it->path()))) {
        it.disable_recursion_pending();
        continue;
      }
      once(it->path());
    }
  }
}

std::vector<RunRecord> find_runs(const std::vector<std::string>& roots, const std::vector<std::string>& skip) {
  std::vector<RunRecord> runs;
  for_each_result_dir(roots, skip, [&](const fs::path& dir) {
    const fs::path results = dir / "results.json";
    if (!fs::is_regular_file(results)) return;
    nlohmann::json j;
    try {
      j = read_json_file(results.string());
    } catch (const Error& e) {
      fail("report: {}", e.what());
    }
    if (j.is_object() && (j.contains("id_accuracy") || j.contains("ood_accuracy"))) {
      try {
        runs.push_back(run_record(j, dir.string()));
      } catch (const nlohmann::json::exception& e) {  // a hand-edited or foreign file
        fail("report: {}: unexpected content ({})", results.string(), e.what());
      }
    }
  });
  std::sort(runs.begin(), runs.end(), [](const RunRecord& a, const RunRecord& b) { return a.dir < b.dir; });
  return runs;
}

std::vector<std::string> encoding_order(const std::vector<RunRecord>& runs) {
  static const std::vector<std::string> paper = {"nope", "t5_bias", "alibi", "rotary", "abs_sin"};
  std::set<std::string> present, others;
  for (const auto& r : runs) present.insert(r.encoding);
  std::vector<std::string> out;
  for (const auto& e : paper)
    if (present.count(e)) out.push_back(e);
  for (const auto& e : present)
    if (std::find(paper.begin(), paper.end(), e) == paper.end()) out.push_back(e);
  return out;
}

std::vector<std::string> task_key_order(const std::vector<RunRecord>& runs) {
  std::set<std::string> keys;
  for (const auto& r : runs) keys.insert(r.task_key());
  return {keys.begin(), keys.end()};
}

std::map<std::pair<std::string, std::string>, Cell> aggregate(const std::vector<RunRecord>& runs) {
  struct Values {
    std::vector<double> id, ood, ood_tokens;
  };
  std::map<std::pair<std::string, std::string>, Values> values;
  std::map<std::pair<std::string, std::string>, Cell> cells;
  for (const auto& r : runs) {
    const auto key = std::make_pair(r.task_key(), r.encoding);
    if (r.has_id) values[key].id.push_back(r.id);
    if (r.has_ood) values[key].ood.push_back(r.ood);
    if (r.has_ood_tokens) values[key].ood_tokens.push_back(r.ood_tokens);
    cells[key].seeds.push_back(r.seed);
  }
  for (auto& [key, cell] : cells) {
    cell.id = mean_std(values[key].id);
    cell.ood = mean_std(values[key].ood);
    cell.ood_tokens = mean_std(values[key].ood_tokens);
    std::sort(cell.seeds.begin(), cell.seeds.end());
  }
  return cells;
}

std::map<std::string, ReciprocalRank> mean_reciprocal_rank(const std::vector<RunRecord>& runs, bool ood) {
  // query -> (encoding, accuracy)
  std::map<std::string, std::vector<std::pair<std::string, double>>> queries;
  for (const auto& r : runs)
    if (ood ? r.has_ood : r.has_id)
      queries[r.task_key() + "\n" + std::to_string(r.seed)].emplace_back(r.encoding, ood ? r.ood : r.id);
  std::map<std::string, std::pair<double, int>> sums;
  for (const auto& [query, entries] : queries)
    for (const auto& [encoding, acc] : entries) {
      int better = 0;
      for (const auto& other : entries) better += other.second > acc;
      sums[encoding].first += 1.0 / double(1 + better);
      sums[encoding].second += 1;
    }
  std::map<std::string, ReciprocalRank> out;
  for (const auto& [encoding, s] : sums) out[encoding] = {s.first / double(s.second), s.second};
  return out;
}

std::map<int, LengthPoint> accuracy_by_length(const std::vector<RunRecord>& runs, const std::string& task_key,
                                              const std::string& encoding) {
  std::map<int, std::vector<double>> values;
  std::set<int> id_lengths;
  for (const auto& r : runs) {
    if (r.task_key() != task_key || r.encoding != encoding) continue;
    for (const auto& [n, acc] : r.id_by_length) values[n].push_back(acc), id_lengths.insert(n);
    for (const auto& [n, acc] : r.ood_by_length) values[n].push_back(acc);
  }
  std::map<int, LengthPoint> out;
  for (const auto& [n, v] : values) out[n] = {mean_std(v), id_lengths.count(n) > 0};
  return out;
}

}  // namespace lengen::report
