#include "pipeline/compare.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "config/config_loader.h"
#include "data/jsonl.h"
#include "io/atomic_file.h"
#include "pipeline/job_runner.h"
#include "pipeline/make_dataset.h"
#include "pipeline/run_config.h"
#include "pipeline/task_run.h"
#include "report/plot.h"
#include "report/stats.h"
#include "report/table.h"
#include "util/error.h"

namespace fs = std::filesystem;

namespace lengen {

using report::accuracy_per_length;
using report::mean_std;
using report::mean_std_cell;
using report::Stats;

void set_encoding(nlohmann::json& run_config, const std::string& encoding) {
  nlohmann::json pe = run_config["model"].value("pe", nlohmann::json::object());
  if (!pe.is_object() || pe.value("type", "") != encoding) pe = nlohmann::json::object();
  pe["type"] = encoding;
  run_config["model"]["pe"] = pe;
}

// A 0..100 % line plot (both compare figures).
static report::LinePlot percent_plot(const std::string& title, const std::string& xlabel,
                                     const std::string& ylabel) {
  report::LinePlot plot;
  plot.title = title;
  plot.xlabel = xlabel;
  plot.ylabel = ylabel;
  plot.ymin = 0;
  plot.ymax = 100;
  return plot;
}

CompareReport write_compare_report(const std::vector<nlohmann::json>& runs,
                                   const std::string& report_dir, int longest_train_length) {
  // Group the runs by encoding (order of first appearance), seeds pooled.
  std::vector<std::string> order;
  std::map<std::string, std::vector<const nlohmann::json*>> by_pe;
  for (const auto& r : runs) {
    const std::string pe = r.value("encoding", "?");
    if (!by_pe.count(pe)) order.push_back(pe);
    by_pe[pe].push_back(&r);
  }
  std::set<int> test_lengths, all_lengths;
  for (const auto& r : runs)
    for (const char* split : {"validation", "test"})
      for (const auto& [n, acc] : accuracy_per_length(r.value(split, nlohmann::json())))
        (std::string(split) == "test" ? test_lengths : all_lengths).insert(n), all_lengths.insert(n);

  report::Table table;
  table.header = {"encoding", "seeds", "ID acc", "OOD acc"};
  for (int n : test_lengths) table.header.push_back(std::to_string(n));
  report::LinePlot plot = percent_plot("Exact-match accuracy by length", "length", "accuracy (%)");
  if (longest_train_length > 0) {
    plot.marker_x = longest_train_length + 0.5;
    plot.marker_label = "longest training length";
  }
  nlohmann::json summary = nlohmann::json::array();
  for (const auto& pe : order) {
    std::vector<double> id, ood;
    std::map<int, std::vector<double>> acc_at;
    for (const auto* r : by_pe[pe]) {
      if (r->contains("id_accuracy")) id.push_back((*r)["id_accuracy"]);
      if (r->contains("ood_accuracy")) ood.push_back((*r)["ood_accuracy"]);
      for (const char* split : {"validation", "test"})
        for (const auto& [n, acc] : accuracy_per_length(r->value(split, nlohmann::json())))
          acc_at[n].push_back(acc);
    }
    const Stats sid = mean_std(id), sood = mean_std(ood);
    std::vector<std::string> row = {pe, std::to_string(by_pe[pe].size()), mean_std_cell(sid), mean_std_cell(sood)};
    report::Series series;
    series.label = pe;
    nlohmann::json lengths = nlohmann::json::object();
    for (int n : all_lengths) {
      const Stats s = mean_std(acc_at[n]);
      series.x.push_back(n);
      series.y.push_back(s.n ? 100 * s.mean : NAN);
      if (by_pe[pe].size() > 1) {
        series.y_low.push_back(100 * (s.mean - s.std));
        series.y_high.push_back(100 * (s.mean + s.std));
      }
      lengths[std::to_string(n)] = {{"mean", s.mean}, {"std", s.std}, {"runs", s.n}};
    }
    for (int n : test_lengths) row.push_back(mean_std_cell(mean_std(acc_at[n])));
    table.rows.push_back(row);
    plot.series.push_back(series);
    summary.push_back({{"encoding", pe},
                       {"runs", by_pe[pe].size()},
                       {"id_accuracy", {{"mean", sid.mean}, {"std", sid.std}}},
                       {"ood_accuracy", {{"mean", sood.mean}, {"std", sood.std}}},
                       {"accuracy_by_length", lengths}});
  }
  fs::create_directories(report_dir);
  io::write_file_atomic(report_dir + "/results.md", report::to_markdown(table));
  io::write_file_atomic(report_dir + "/results.csv", report::to_csv(table));
  io::write_file_atomic(report_dir + "/summary.json",
                        nlohmann::json{{"encodings", summary}, {"runs", runs}}.dump(2) + "\n");
  CompareReport out;
  out.report_dir = report_dir;
  out.summary = summary;
  out.table_text = report::to_text(table);
  if (report::plotting_available()) {
    report::write_line_plot(plot, report_dir + "/accuracy_vs_length.png");
    report::write_line_plot(plot, report_dir + "/accuracy_vs_length.svg");
  } else {
    out.table_text += "\n(gnuplot not found: install the Debian package gnuplot-nox for the plot)\n";
  }
  return out;
}

// The paper's OOD exact match on the default split (copy rdc_tr20_ts40), mean of its 3 seeds in
// the upstream run logs (results/sanity_check.jsonl; README "The paper's numbers"): the reference
// the default compare's note is read against.
static const std::vector<std::pair<std::string, double>> kPaperDefaultSplitOod = {
    {"nope", 0.967}, {"t5_bias", 0.939}, {"alibi", 0.170}, {"rotary", 0.016}, {"abs_sin", 0.0}};
static constexpr double kExtrapolates = 0.25;  // OOD exact match that counts as extrapolating

std::string budget_note(const nlohmann::json& summary) {
  std::map<std::string, std::pair<double, double>> at;  // encoding -> (ID, OOD)
  std::vector<std::string> order;
  for (const auto& e : summary) {
    order.push_back(e["encoding"].get<std::string>());
    at[order.back()] = {e["id_accuracy"]["mean"].get<double>(), e["ood_accuracy"]["mean"].get<double>()};
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](const std::string& a, const std::string& b) { return at[a].second > at[b].second; });
  std::vector<std::string> ranking, paper_ranking, unlearned;
  for (const auto& pe : order) {
    ranking.push_back(fmt::format("{} {:.0f}%", pe, 100 * at[pe].second));
    if (at[pe].first < 0.5) unlearned.push_back(fmt::format("{} (ID {:.0f}%)", pe, 100 * at[pe].first));
  }
  for (const auto& [pe, ood] : kPaperDefaultSplitOod) paper_ranking.push_back(fmt::format("{} {:.1f}%", pe, 100 * ood));

  // The paper's findings on this split, each checked against these runs.
  std::vector<std::string> shown, not_shown;
  auto check = [&](bool holds, const std::string& finding) { (holds ? shown : not_shown).push_back(finding); };
  auto extrapolates = [&](const std::string& pe) { return at[pe].second >= kExtrapolates; };
  if (at.count("nope")) {
    check(extrapolates("nope"), "NoPE extrapolates");
    check(order.front() == "nope", "NoPE generalizes best");
  }
  std::vector<std::string> fail_beyond;
  bool all_fail = true;  // each learned the training lengths, yet fails beyond them
  for (const char* pe : {"alibi", "rotary", "abs_sin"})
    if (at.count(pe)) {
      fail_beyond.push_back(pe);
      all_fail = all_fail && !extrapolates(pe) && at[pe].first >= 0.5;
    }
  if (!fail_beyond.empty())
    check(all_fail, fmt::format("{} learn the training lengths but fail beyond them", fmt::join(fail_beyond, ", ")));
  auto list = [](const std::vector<std::string>& v) {
    return v.empty() ? std::string("none") : fmt::format("{}", fmt::join(v, "; "));
  };
  return fmt::format(
      "OOD exact match at this CPU budget (models/tiny, 2,500 steps): {}; the paper on this split "
      "(t5 family L12 D768, 40k steps; upstream results/sanity_check.jsonl): {}. Of its findings "
      "(extrapolating = at least {:.0f}% OOD), this budget shows: {}; does not show: {}{}. The rest "
      "needs the paper's budget (--preset paper, a GPU); README 'Results' has the curves.",
      fmt::join(ranking, " > "), fmt::join(paper_ranking, " > "), 100 * kExtrapolates, list(shown),
      list(not_shown),
      unlearned.empty() ? "" : fmt::format("; not yet learned in distribution: {}", fmt::join(unlearned, ", ")));
}

std::string write_step_curves(const std::vector<std::pair<std::string, std::string>>& runs,
                              const std::string& report_dir) {
  // encoding -> step -> values over seeds (validation, test)
  std::vector<std::string> order;
  std::map<std::string, std::map<int64_t, std::pair<std::vector<double>, std::vector<double>>>> at;
  for (const auto& [pe, dir] : runs) {
    std::ifstream in(dir + "/metrics.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded() || !j.contains("eval") || !j.contains("step")) continue;  // a cut line
      const auto& e = j["eval"];
      if (!e.contains("test_accuracy") || !e.contains("validation_accuracy")) continue;
      if (!at.count(pe)) order.push_back(pe);
      auto& cell = at[pe][j["step"].get<int64_t>()];
      cell.first.push_back(e["validation_accuracy"].get<double>());
      cell.second.push_back(e["test_accuracy"].get<double>());
    }
  }
  if (order.empty()) return "";
  std::set<int64_t> steps;
  for (const auto& [pe, by_step] : at)
    for (const auto& [step, v] : by_step) steps.insert(step);
  report::Table table;
  table.header = {"encoding"};
  for (int64_t s : steps) table.header.push_back("step " + std::to_string(s));
  report::LinePlot plot =
      percent_plot("OOD exact match during training (test subset)", "training step", "OOD accuracy (%)");
  for (const auto& pe : order) {
    std::vector<std::string> row = {pe};
    report::Series series;
    series.label = pe;
    for (int64_t s : steps) {
      const auto it = at[pe].find(s);
      if (it == at[pe].end()) {
        row.push_back("");
        continue;
      }
      const double id = mean_std(it->second.first).mean, ood = mean_std(it->second.second).mean;
      row.push_back(fmt::format("{:.1f} / {:.1f}", 100 * id, 100 * ood));
      series.x.push_back(double(s));
      series.y.push_back(100 * ood);
    }
    table.rows.push_back(row);
    plot.series.push_back(series);
  }
  fs::create_directories(report_dir);
  const std::string md = report::to_markdown(table);
  io::write_file_atomic(report_dir + "/accuracy_vs_steps.md",
                        "ID / OOD exact match (%) on the probe subsets (eval.validation_examples, "
                        "eval.test_examples), mean over seeds\n\n" + md);
  io::write_file_atomic(report_dir + "/accuracy_vs_steps.csv", report::to_csv(table));
  if (report::plotting_available()) {
    report::write_line_plot(plot, report_dir + "/accuracy_vs_steps.png");
    report::write_line_plot(plot, report_dir + "/accuracy_vs_steps.svg");
  }
  return report::to_text(table);
}

static bool uses_builtin_defaults(const CompareOptions& o) {
  const CompareOptions d;
  return o.task == d.task && o.split == d.split && o.encodings == d.encodings &&
         o.preset == d.preset && o.config.empty() && o.sets.empty();
}

CompareReport run_compare(const CompareOptions& o) {
  if (o.encodings.empty()) fail("compare: no encodings given");
  if (o.seeds.empty()) fail("compare: no seeds given");
  // Base config: the model preset, the task's preset when one ships, the user's layers.
  std::string layers = "models/" + o.preset;
  const DatasetRequest request{o.task, o.split, "", 0, 0, 0, ""};
  const std::string split = resolve_split(request);
  const std::string task_preset = "tasks/" + o.task + "_" + split;
  bool has_task_preset = false;
  for (const auto& name : preset_names()) has_task_preset = has_task_preset || name == task_preset;
  if (has_task_preset) layers += "," + task_preset;
  if (!o.config.empty()) layers += "," + o.config;
  nlohmann::json base = load_run_config_json(layers, o.sets);
  // The main job draws OOD accuracy against steps (accuracy_vs_steps) unless told otherwise.
  if (!base.contains("eval") || !base["eval"].contains("test_examples")) base["eval"]["test_examples"] = 128;
  if (!base.contains("data") || !base["data"].contains("task")) {
    base["data"]["task"] = o.task;
    base["data"]["split"] = split;
  }
  // Every run's config is checked before anything is written; errors name the options.
  const std::string source = fmt::format("the compare config (--preset {}{}{})", o.preset,
                                         o.config.empty() ? "" : " --config " + o.config,
                                         o.sets.empty() ? "" : " and --set");
  RunConfig probe = RunConfig::from_json(base, source);
  const std::string data_dir = fs::absolute(o.out + "/data").lexically_normal().string();
  std::vector<RunJob> jobs;
  for (const auto& pe : o.encodings)
    for (uint64_t seed : o.seeds) {
      nlohmann::json j = base;
      j["data"] = {{"dir", data_dir}};
      set_encoding(j, pe);
      j["train"]["seed"] = seed;
      const std::string dir = fmt::format("{}/{}/seed{}", o.out, pe, seed);
      jobs.push_back({fmt::format("{}/seed{}", pe, seed), dir,
                      RunConfig::from_json(j, fmt::format("{}, encoding {}", source, pe))});
    }
  // Data generated once, shared by every run.
  fs::create_directories(o.out);
  if (!fs::exists(data_dir + "/dataset.json")) {
    if (!o.quiet) fmt::print(stderr, "generating {} / {} data into {}\n", probe.data.task, split, data_dir);
    make_dataset_dir({probe.data.task, probe.data.split, probe.data.scratchpad, probe.data.seed,
                      probe.data.train_size, probe.data.test_size, probe.data.from},
                     data_dir);
  }
  int longest_train = 0;
  for (const auto& e : data::load_dataset_dir(data_dir).data.train) longest_train = std::max(longest_train, e.length);

  JobRunnerOptions ro;
  ro.title = "compare";
  ro.jobs = o.jobs;
  ro.quiet = o.quiet;
  const std::vector<JobOutcome> outcomes = run_jobs(jobs, ro);
  std::vector<nlohmann::json> summaries;
  std::vector<std::pair<std::string, std::string>> run_dirs;
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (!outcomes[i].ok())
      fail("compare: run {} failed (the other runs finished and kept their results): {}",
           jobs[i].dir, outcomes[i].error);
    summaries.push_back(outcomes[i].summary);
    run_dirs.emplace_back(o.encodings[i / o.seeds.size()], jobs[i].dir);
  }
  CompareReport report = write_compare_report(summaries, o.out + "/report", longest_train);
  report.curves_text = write_step_curves(run_dirs, report.report_dir);
  if (uses_builtin_defaults(o)) report.budget_note = budget_note(report.summary);
  return report;
}

}  // namespace lengen
