#include "report/paper_results.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
#include "report/table.h"
#include "util/error.h"

namespace lengen::report {
namespace {

constexpr const char* kSeeded = "best_run_seed_exp";
constexpr const char* kAccuracy = "sum__pred/test_acc_overall";

std::string required_text(const nlohmann::json& j, const char* key, const std::string& where) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_string() || it->get_ref<const std::string&>().empty())
    fail("{}: seeded run without a \"{}\" string", where, key);
  return it->get<std::string>();
}

uint64_t required_seed(const nlohmann::json& j, const std::string& where) {
  constexpr const char* key = "cfg__global_vars.seed";
  const auto it = j.find(key);
  if (it != j.end()) {
    if (it->is_number_unsigned()) return it->get<uint64_t>();
    if (it->is_number_integer() && it->get<int64_t>() >= 0) return uint64_t(it->get<int64_t>());
    // Exports written through pandas may carry integral floats (146317.0).
    if (it->is_number_float()) {
      const double v = it->get<double>();
      if (std::isfinite(v) && v >= 0 && v < 1e18 && v == std::floor(v)) return uint64_t(v);
    }
  }
  fail("{}: seeded run without a non-negative integer \"{}\"", where, key);
}

// The scratchpad format of a run group ("..._scratchpad..._ufs__i1_c1_o1_v1_r1_...___..."),
// "" without one; the same pattern as the upstream notebook.
std::string scratchpad_of(const nlohmann::json& j) {
  const auto it = j.find("run_group");
  if (it == j.end() || !it->is_string()) return "";
  const std::string& g = it->get_ref<const std::string&>();
  const size_t at = g.find("_ufs__");
  if (g.find("_scratchpad") == std::string::npos || at == std::string::npos || g.size() < at + 6 + 14) return "";
  const std::string f = g.substr(at + 6, 14);
  const std::string letters = "icovr";
  for (size_t k = 0; k < 5; ++k)
    if (f[3 * k] != letters[k] || (k < 4 && f[3 * k + 2] != '_')) return "";
  return f;
}

std::string percent(const std::map<std::pair<std::string, std::string>, Cell>& cells, const std::string& key,
                    const std::string& encoding) {
  const auto it = cells.find({key, encoding});
  return it == cells.end() || !it->second.ood.n ? "n/a" : format_percent(it->second.ood.mean);
}

// The encodings with the highest (or lowest) mean OOD accuracy among `encodings`.
std::vector<std::string> extreme(const std::map<std::pair<std::string, std::string>, Cell>& cells,
                                 const std::string& key, const std::vector<std::string>& encodings, bool best) {
  std::vector<std::string> out;
  double at = best ? -1 : 2;
  for (const auto& e : encodings) {
    const double v = cells.at({key, e}).ood.mean;
    if (best ? v > at : v < at) at = v, out.clear();
    if (v == at) out.push_back(e);
  }
  return out;
}

bool overlap(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  for (const auto& x : a)
    if (std::find(b.begin(), b.end(), x) != b.end()) return true;
  return false;
}

// The runs the paper's MRR counts; with `keys`, only those of these task splits.
std::vector<RunRecord> ranked_runs(const std::vector<RunRecord>& runs, const std::set<std::string>* keys = nullptr) {
  std::vector<RunRecord> out;
  for (const auto& r : runs)
    if (paper_ranks(r) && (!keys || keys->count(r.task_key()))) out.push_back(r);
  return out;
}

int max_queries(const std::map<std::string, ReciprocalRank>& mrr) {
  int n = 0;
  for (const auto& [e, rr] : mrr) n = std::max(n, rr.queries);
  return n;
}

std::string mrr_cell(const std::map<std::string, ReciprocalRank>& mrr, const std::string& e) {
  const auto it = mrr.find(e);
  return it == mrr.end() ? "n/a" : fmt::format("{:.3f}", it->second.mrr);
}

}  // namespace

std::string paper_encoding(const std::string& upstream) {
  static const std::map<std::string, std::string> names = {{"none", "nope"},
                                                           {"t5_relative_bias", "t5_bias"},
                                                           {"alibi", "alibi"},
                                                           {"rotary", "rotary"},
                                                           {"abs_sinusoid", "abs_sin"}};
  const auto it = names.find(upstream);
  return it == names.end() ? "" : it->second;
}

bool paper_ranks(const RunRecord& r) {
  // Upstream ranks the md_ variants of these two; the originals are near 0 for every encoding.
  return r.scratchpad.empty() && !(r.task == "pcfg" && r.split == "productivity") &&
         !(r.task == "scan" && r.split == "len_tr25_ts48");
}

PaperResults read_paper_results(const std::vector<std::string>& files) {
  if (files.empty()) fail("report: --paper-results needs a file");
  PaperResults out;
  out.files = files;
  std::map<std::string, std::string> seen;  // task key, encoding, seed -> where
  std::map<std::string, int> other_encodings, other_datasets;
  std::vector<std::string> duplicates;
  int without_accuracy = 0;
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) fail("report: cannot read the paper results {}", file);
    std::string line;
    for (size_t n = 1; std::getline(in, line); ++n) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") == std::string::npos) continue;
      const std::string where = fmt::format("{}:{}", file, n);
      const auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded()) fail("{}: not valid JSON (expected one W&B run per line, as upstream results/*.jsonl)", where);
      if (!j.is_object()) fail("{}: not a JSON object (expected one W&B run per line)", where);
      const auto type = j.find("job_type");
      if (type == j.end() || !type->is_string()) fail("{}: no \"job_type\" string (not a W&B run export)", where);
      if (type->get_ref<const std::string&>() != kSeeded) continue;  // search agents, attention analyses

      RunRecord r;
      r.dir = where;
      std::string dataset = required_text(j, "cfg__dataset.name", where);
      r.split = required_text(j, "cfg__dataset.split", where);
      const std::string pe = required_text(j, "cfg__model.position_encoding_type", where);
      r.seed = required_seed(j, where);
      // "sum" (no s2s_) is an encoder classification run; the upstream notebook drops it too.
      if (dataset == "sum") {
        ++other_datasets[dataset];
        continue;
      }
      r.task = dataset.starts_with("s2s_") ? dataset.substr(4) : dataset;
      r.encoding = paper_encoding(pe);
      if (r.encoding.empty()) {
        ++other_encodings[pe];
        continue;
      }
      r.scratchpad = scratchpad_of(j);
      const auto acc = j.find(kAccuracy);
      if (acc == j.end() || acc->is_null()) {  // a crashed run: W&B has no summary for it
        ++without_accuracy;
        continue;
      }
      if (!acc->is_number()) fail("{}: \"{}\" is not a number", where, kAccuracy);
      const double v = acc->get<double>();
      if (!std::isfinite(v) || v < 0 || v > 1) fail("{}: \"{}\" is {} (expected a fraction in [0, 1])", where, kAccuracy, v);
      r.has_ood = true;
      r.ood = v;
      const std::string key = fmt::format("{}\n{}\n{}", r.task_key(), r.encoding, r.seed);
      if (const auto [it, fresh] = seen.emplace(key, where); !fresh) {
        duplicates.push_back(fmt::format("{} (as {})", where, it->second));
        continue;
      }
      out.runs.push_back(std::move(r));
    }
    if (in.bad()) fail("report: error reading {}", file);
  }
  if (out.runs.empty())
    fail("report: no seeded runs (job_type \"{}\") with \"{}\" in {}", kSeeded, kAccuracy, fmt::join(files, ", "));
  if (without_accuracy)
    out.notes.push_back(fmt::format("{} seeded runs without \"{}\" left out", without_accuracy, kAccuracy));
  for (const auto& [pe, n] : other_encodings)
    out.notes.push_back(fmt::format("encoding {} (not one of the paper's five): {} runs left out", pe, n));
  for (const auto& [ds, n] : other_datasets)
    out.notes.push_back(fmt::format("dataset {} (encoder classification, not in the paper's grid): {} runs left out", ds, n));
  if (!duplicates.empty())
    out.notes.push_back(fmt::format("{} repeated runs (same task split, encoding and seed) counted once: {}{}",
                                    duplicates.size(),
                                    fmt::join(duplicates.begin(), duplicates.begin() + std::min<size_t>(3, duplicates.size()), ", "),
                                    duplicates.size() > 3 ? ", ..." : ""));
  return out;
}

std::string paper_table_markdown(const PaperResults& paper, const KnownSplit& known) {
  const auto encodings = encoding_order(paper.runs);
  const auto cells = aggregate(paper.runs);
  const auto mrr = mean_reciprocal_rank(ranked_runs(paper.runs), true);
  Table t;
  t.header = {"task split"};
  for (const auto& e : encodings) t.header.push_back(e);
  std::vector<std::string> unranked, missing;
  for (const auto& key : task_key_order(paper.runs)) {
    const RunRecord& any = *std::find_if(paper.runs.begin(), paper.runs.end(),
                                         [&](const RunRecord& r) { return r.task_key() == key; });
    if (!paper_ranks(any)) unranked.push_back(key);
    if (known && !known(any.task, any.split)) missing.push_back(key);
    std::vector<std::string> row = {paper_ranks(any) ? key : key + " *"};
    for (const auto& e : encodings) {
      const auto it = cells.find({key, e});
      row.push_back(it == cells.end() ? "n/a" : fmt::format("{} ({})", mean_std_cell(it->second.ood), it->second.seeds.size()));
    }
    t.rows.push_back(row);
  }
  std::vector<std::string> mrr_row = {"MRR"};
  for (const auto& e : encodings) mrr_row.push_back(mrr_cell(mrr, e));
  t.rows.push_back(mrr_row);

  std::string md = fmt::format("The paper's OOD exact match (%), mean ± std over seeds (seed count), from {}\n\n",
                               fmt::join(paper.files, ", "));
  md += to_markdown(t);
  md += fmt::format("\nMRR: mean reciprocal rank over the {} (task split, seed) queries, encodings ranked by OOD "
                    "accuracy, ties share the better rank.\n", max_queries(mrr));
  if (!unranked.empty())
    md += fmt::format("* not in the MRR, as in the paper (it ranks the md_ variants): {}.\n", fmt::join(unranked, ", "));
  if (!missing.empty()) md += fmt::format("Splits lengen does not generate: {}.\n", fmt::join(missing, ", "));
  for (const auto& note : paper.notes) md += "Note: " + note + ".\n";
  return md;
}

std::string paper_comparison_markdown(const PaperResults& paper, const std::vector<RunRecord>& lengen_runs) {
  const auto theirs = aggregate(paper.runs), ours = aggregate(lengen_runs);
  std::vector<RunRecord> all = paper.runs;
  all.insert(all.end(), lengen_runs.begin(), lengen_runs.end());
  const auto encodings = encoding_order(all);
  const auto paper_keys = task_key_order(paper.runs), our_keys = task_key_order(lengen_runs);
  std::set<std::string> shared;
  std::set_intersection(paper_keys.begin(), paper_keys.end(), our_keys.begin(), our_keys.end(),
                        std::inserter(shared, shared.end()));
  if (shared.empty())
    return fmt::format("Paper vs lengen: no task split in common (paper: {}; lengen: {}).\n", fmt::join(paper_keys, ", "),
                       fmt::join(our_keys, ", "));

  Table t;
  t.header = {"task split"};
  for (const auto& e : encodings) t.header.push_back(e);
  t.header.insert(t.header.end(), {"best: paper / lengen", "worst: paper / lengen"});
  int same_best = 0, same_worst = 0;
  std::set<size_t> paper_seeds, our_seeds;
  for (const auto& key : shared) {
    std::vector<std::string> row = {key}, both;
    for (const auto& e : encodings) {
      const bool p = theirs.count({key, e}) && theirs.at({key, e}).ood.n, o = ours.count({key, e}) && ours.at({key, e}).ood.n;
      row.push_back(p || o ? percent(theirs, key, e) + " / " + percent(ours, key, e) : "");
      if (p) paper_seeds.insert(theirs.at({key, e}).seeds.size());
      if (o) our_seeds.insert(ours.at({key, e}).seeds.size());
      if (p && o) both.push_back(e);
    }
    // Best and worst among the encodings both sides ran.
    for (const bool best : {true, false}) {
      const auto a = extreme(theirs, key, both, best), b = extreme(ours, key, both, best);
      const bool same = overlap(a, b);
      (best ? same_best : same_worst) += same;
      row.push_back(fmt::format("{} / {} ({})", fmt::join(a, "="), fmt::join(b, "="), same ? "same" : "differs"));
    }
    t.rows.push_back(row);
  }

  std::set<std::string> ranked_all, ranked_shared;  // the task splits the paper ranks
  for (const auto& r : ranked_runs(paper.runs)) {
    ranked_all.insert(r.task_key());
    if (shared.count(r.task_key())) ranked_shared.insert(r.task_key());
  }
  const auto mrr_all = mean_reciprocal_rank(ranked_runs(paper.runs), true);
  const auto mrr_paper = mean_reciprocal_rank(ranked_runs(paper.runs, &ranked_shared), true);
  // lengen's encodings outside the paper's file (e.g. rope_b500) would shift its ranks.
  std::set<std::string> paper_encodings;
  for (const auto& r : paper.runs) paper_encodings.insert(r.encoding);
  std::vector<RunRecord> ours_ranked;
  for (const auto& r : lengen_runs)
    if (ranked_shared.count(r.task_key()) && paper_encodings.count(r.encoding)) ours_ranked.push_back(r);
  const auto mrr_ours = mean_reciprocal_rank(ours_ranked, true);
  Table m;
  m.header = {"encoding", fmt::format("paper MRR ({} splits)", ranked_all.size()),
              fmt::format("paper MRR ({} shared)", ranked_shared.size()),
              fmt::format("lengen MRR ({} shared)", ranked_shared.size())};
  for (const auto& e : encodings) m.rows.push_back({e, mrr_cell(mrr_all, e), mrr_cell(mrr_paper, e), mrr_cell(mrr_ours, e)});

  const auto counts = [](const std::set<size_t>& s) {
    return s.empty() ? std::string("0") : s.size() == 1 ? std::to_string(*s.begin())
                                                         : fmt::format("{}-{}", *s.begin(), *s.rbegin());
  };
  std::string md = fmt::format("Paper vs lengen, OOD exact match (%) per encoding: paper / lengen, means over seeds "
                               "(paper {} seeds per cell, lengen {})\n\n", counts(paper_seeds), counts(our_seeds));
  md += to_markdown(t);
  md += fmt::format("\nThe best encoding agrees on {} of {} shared splits, the worst on {} of {}.\n\n", same_best,
                    shared.size(), same_worst, shared.size());
  md += "Mean reciprocal rank over the (task split, seed) queries of the splits the paper ranks\n\n" + to_markdown(m);
  std::vector<std::string> paper_only, ours_only;
  std::set_difference(paper_keys.begin(), paper_keys.end(), shared.begin(), shared.end(), std::back_inserter(paper_only));
  std::set_difference(our_keys.begin(), our_keys.end(), shared.begin(), shared.end(), std::back_inserter(ours_only));
  if (!paper_only.empty()) md += fmt::format("\nOnly in the paper's file: {}.\n", fmt::join(paper_only, ", "));
  if (!ours_only.empty()) md += fmt::format("Only in the lengen runs: {}.\n", fmt::join(ours_only, ", "));
  return md;
}

PaperReport write_paper_report(const std::vector<std::string>& files, const std::vector<RunRecord>& lengen_runs,
                               const std::string& out_dir, const KnownSplit& known) {
  const PaperResults paper = read_paper_results(files);
  PaperReport out;
  const std::string table = paper_table_markdown(paper, known);
  out.text = table;
  std::string comparison;
  if (!lengen_runs.empty()) {
    comparison = paper_comparison_markdown(paper, lengen_runs);
    out.text += "\n" + comparison;
  }
  if (out_dir.empty()) return out;
  std::filesystem::create_directories(out_dir);
  // Every number of the paper table, for scripts.
  nlohmann::json numbers = {{"files", files}, {"notes", paper.notes}};
  for (const auto& [key, cell] : aggregate(paper.runs))
    numbers["cells"].push_back({{"task_split", key.first}, {"encoding", key.second}, {"seeds", cell.seeds},
                                {"ood", {{"mean", cell.ood.mean}, {"std", cell.ood.std}, {"n", cell.ood.n}}}});
  for (const auto& [e, rr] : mean_reciprocal_rank(ranked_runs(paper.runs), true))
    numbers["mrr"][e] = {{"mrr", rr.mrr}, {"queries", rr.queries}};
  const auto write = [&](const std::string& name, const std::string& text) {
    io::write_file_atomic(out_dir + "/" + name, text);
    out.files.push_back(out_dir + "/" + name);
  };
  write("paper_results.md", table);
  write("paper_results.json", numbers.dump(2) + "\n");
  if (!comparison.empty()) write("paper_comparison.md", comparison);
  return out;
}

}  // namespace lengen::report
