#include "pipeline/compare.h"

#include <omp.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <mutex>
#include <thread>
#include <filesystem>
#include <map>
#include <set>

#include "config/config_loader.h"
#include "data/jsonl.h"
#include "io/atomic_file.h"
#include "pipeline/make_dataset.h"
#include "pipeline/run_config.h"
#include "pipeline/task_run.h"
#include "report/plot.h"
#include "report/table.h"
#include "util/error.h"

namespace fs = std::filesystem;

namespace lengen {
namespace {

struct Stats {
  double mean = 0, std = 0;
  int n = 0;
};

Stats stats(const std::vector<double>& v) {
  Stats s;
  s.n = int(v.size());
  if (v.empty()) return s;
  for (double x : v) s.mean += x;
  s.mean /= double(v.size());
  if (v.size() > 1) {
    double ss = 0;
    for (double x : v) ss += (x - s.mean) * (x - s.mean);
    s.std = std::sqrt(ss / double(v.size() - 1));  // sample standard deviation
  }
  return s;
}

std::string cell(const Stats& s) {
  if (s.n == 0) return "n/a";
  if (s.n == 1) return report::format_percent(s.mean);
  return report::format_percent(s.mean) + " ± " + report::format_percent(s.std);
}

// accuracy per length of one run summary's split section
std::map<int, double> per_length(const nlohmann::json& split) {
  std::map<int, double> out;
  if (!split.is_object() || !split.contains("per_length")) return out;
  for (auto it = split["per_length"].begin(); it != split["per_length"].end(); ++it)
    out[std::stoi(it.key())] = it.value()["accuracy"].get<double>();
  return out;
}

}  // namespace

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
      for (const auto& [n, acc] : per_length(r.value(split, nlohmann::json())))
        (std::string(split) == "test" ? test_lengths : all_lengths).insert(n), all_lengths.insert(n);

  report::Table table;
  table.header = {"encoding", "seeds", "ID acc", "OOD acc"};
  for (int n : test_lengths) table.header.push_back(std::to_string(n));
  report::LinePlot plot;
  plot.title = "Exact-match accuracy by length";
  plot.xlabel = "length";
  plot.ylabel = "accuracy (%)";
  plot.ymin = 0;
  plot.ymax = 100;
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
        for (const auto& [n, acc] : per_length(r->value(split, nlohmann::json())))
          acc_at[n].push_back(acc);
    }
    const Stats sid = stats(id), sood = stats(ood);
    std::vector<std::string> row = {pe, std::to_string(by_pe[pe].size()), cell(sid), cell(sood)};
    report::Series series;
    series.label = pe;
    nlohmann::json lengths = nlohmann::json::object();
    for (int n : all_lengths) {
      const Stats s = stats(acc_at[n]);
      series.x.push_back(n);
      series.y.push_back(s.n ? 100 * s.mean : NAN);
      if (by_pe[pe].size() > 1) {
        series.y_low.push_back(100 * (s.mean - s.std));
        series.y_high.push_back(100 * (s.mean + s.std));
      }
      lengths[std::to_string(n)] = {{"mean", s.mean}, {"std", s.std}, {"runs", s.n}};
    }
    for (int n : test_lengths) row.push_back(cell(stats(acc_at[n])));
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

CompareReport run_compare(const CompareOptions& o) {
  if (o.encodings.empty()) fail("compare: no encodings given");
  if (o.seeds.empty()) fail("compare: no seeds given");
  // Base config: the model preset, the task's preset when one ships, the user's layers.
  std::string layers = "models/" + o.preset;
  const DatasetRequest request{o.task, o.split, "", 0, 0, 0};
  const std::string split = resolve_split(request);
  const std::string task_preset = "tasks/" + o.task + "_" + split;
  bool has_task_preset = false;
  for (const auto& name : preset_names()) has_task_preset = has_task_preset || name == task_preset;
  if (has_task_preset) layers += "," + task_preset;
  if (!o.config.empty()) layers += "," + o.config;
  nlohmann::json base = load_run_config_json(layers, o.sets);
  if (!base.contains("data") || !base["data"].contains("task")) {
    base["data"]["task"] = o.task;
    base["data"]["split"] = split;
  }
  fs::create_directories(o.out);
  // Data generated once, shared by every run.
  RunConfig probe = RunConfig::from_json(base, "compare config");
  const std::string data_dir = fs::absolute(o.out + "/data").lexically_normal().string();
  if (!fs::exists(data_dir + "/dataset.json")) {
    if (!o.quiet) fmt::print(stderr, "generating {} / {} data into {}\n", probe.data.task, split, data_dir);
    make_dataset_dir({probe.data.task, probe.data.split, probe.data.scratchpad, probe.data.seed,
                      probe.data.train_size, probe.data.test_size},
                     data_dir);
  }
  int longest_train = 0;
  for (const auto& e : data::load_dataset_dir(data_dir).data.train) longest_train = std::max(longest_train, e.length);

  struct Job {
    std::string label, dir;
    RunConfig config;
  };
  std::vector<Job> jobs;
  for (const auto& pe : o.encodings)
    for (uint64_t seed : o.seeds) {
      nlohmann::json j = base;
      j["data"] = {{"dir", data_dir}};
      nlohmann::json pe_json = j["model"].value("pe", nlohmann::json::object());
      if (!pe_json.is_object() || pe_json.value("type", "") != pe) pe_json = nlohmann::json::object();
      pe_json["type"] = pe;
      j["model"]["pe"] = pe_json;
      j["train"]["seed"] = seed;
      const std::string dir = fmt::format("{}/{}/seed{}", o.out, pe, seed);
      jobs.push_back({fmt::format("{}/seed{}", pe, seed), dir, RunConfig::from_json(j, dir)});
    }

  // Runs side by side, the threads split between them (each worker sets its own OpenMP
  // thread count, which the OpenMP build of OpenBLAS follows too).
  const int threads = std::max(1, omp_get_max_threads());
  const int workers = std::max(1, std::min<int>(o.jobs > 0 ? o.jobs : std::max(1, threads / 1),
                                                int(jobs.size())));
  const int threads_per_job = std::max(1, threads / workers);
  std::vector<nlohmann::json> summaries(jobs.size());
  std::vector<std::exception_ptr> errors(jobs.size());
  std::vector<std::string> status(jobs.size(), "waiting");
  std::mutex mutex;
  std::atomic<size_t> next{0};
  size_t finished = 0;
  auto last_print = std::chrono::steady_clock::now() - std::chrono::seconds(10);
  const bool tty = ::isatty(2);
  // One combined status line (a line per update when stderr is not a terminal, at most every
  // 10 s), so concurrent runs do not interleave their own progress lines.
  auto show = [&](bool force) {
    const auto now = std::chrono::steady_clock::now();
    if (o.quiet || (!force && now - last_print < std::chrono::seconds(tty ? 1 : 10))) return;
    last_print = now;
    std::string line = fmt::format("[compare {}/{} done]", finished, jobs.size());
    for (size_t i = 0; i < jobs.size(); ++i)
      if (status[i] != "waiting" && status[i] != "done") line += fmt::format("  {} {}", jobs[i].label, status[i]);
    fmt::print(stderr, "{}{}{}", tty ? "\r\033[K" : "", line, tty ? "" : "\n");
  };
  if (!o.quiet)
    fmt::print(stderr, "{} runs, {} at a time, {} thread(s) each\n", jobs.size(), workers, threads_per_job);
  auto worker = [&] {
    omp_set_num_threads(threads_per_job);
    for (size_t i; (i = next++) < jobs.size();) {
      TaskRunOptions ro;
      ro.quiet = true;
      ro.on_progress = [&, i](int64_t step, int64_t total, double loss, double) {
        std::lock_guard<std::mutex> lock(mutex);
        status[i] = fmt::format("{}/{} loss {:.3f}", step, total, loss);
        show(false);
      };
      {
        std::lock_guard<std::mutex> lock(mutex);
        status[i] = "starting";
      }
      try {
        summaries[i] = run_task(jobs[i].dir, jobs[i].config, ro);
      } catch (...) {
        errors[i] = std::current_exception();
      }
      std::lock_guard<std::mutex> lock(mutex);
      status[i] = "done";
      ++finished;
      if (!o.quiet) {
        if (tty) fmt::print(stderr, "\r\033[K");
        if (errors[i])
          fmt::print(stderr, "{}: failed\n", jobs[i].label);
        else
          fmt::print(stderr, "{}: ID {:.1f}%, OOD {:.1f}% ({})\n", jobs[i].label,
                     100 * summaries[i].value("id_accuracy", 0.0),
                     100 * summaries[i].value("ood_accuracy", 0.0), jobs[i].dir);
      }
      show(true);
    }
  };
  std::vector<std::thread> pool;
  for (int w = 0; w < workers; ++w) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  if (!o.quiet && tty) fmt::print(stderr, "\n");
  for (size_t i = 0; i < jobs.size(); ++i)
    if (errors[i]) {
      try {
        std::rethrow_exception(errors[i]);
      } catch (const Error& e) {
        fail("compare: run {} failed (the other runs finished and kept their results): {}",
             jobs[i].dir, e.what());
      }
    }
  return write_compare_report(summaries, o.out + "/report", longest_train);
}

}  // namespace lengen
