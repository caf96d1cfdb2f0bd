#include "report/study_report.h"

#include <algorithm>

#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
#include "report/extra_results.h"
#include "report/html.h"
#include "report/plot.h"
#include "report/study.h"
#include "report/table.h"
#include "util/error.h"

namespace fs = std::filesystem;

namespace lengen::report {
namespace {

std::string number(double v) { return std::isfinite(v) ? fmt::format("{:.6g}", v) : ""; }

std::string file_safe(const std::string& text) {
  std::string out;
  for (unsigned char c : text) out += std::isalnum(c) || c == '-' || c == '.' ? char(c) : '_';
  return out;
}

// Rows = task keys, columns = encodings, cells = mean ± std of ID or OOD; the best mean of
// each row is highlighted.
struct WideTable {
  Table table;
  std::set<std::pair<size_t, size_t>> best;
};

WideTable wide_table(const std::vector<std::string>& tasks, const std::vector<std::string>& encodings,
                     const std::map<std::pair<std::string, std::string>, Cell>& cells,
                     Stats Cell::*figure) {
  WideTable w;
  w.table.header = {"task split"};
  for (const auto& e : encodings) w.table.header.push_back(e);
  for (size_t r = 0; r < tasks.size(); ++r) {
    std::vector<std::string> row = {tasks[r]};
    std::vector<Stats> stats;
    for (const auto& e : encodings) {
      const auto it = cells.find({tasks[r], e});
      stats.push_back(it == cells.end() ? Stats{} : it->second.*figure);
      row.push_back(mean_std_cell(stats.back()));
    }
    // The best mean, unless every encoding ties (nothing stands out then).
    double best = -1, worst = 2;
    for (const auto& s : stats)
      if (s.n) best = std::max(best, s.mean), worst = std::min(worst, s.mean);
    for (size_t c = 0; c < stats.size(); ++c)
      if (stats[c].n && stats[c].mean == best && best > worst) w.best.insert({r, c + 1});
    w.table.rows.push_back(row);
  }
  return w;
}

LinePlot length_plot(const std::vector<RunRecord>& runs, const std::string& task,
                     const std::vector<std::string>& encodings, nlohmann::json& numbers, Table& csv) {
  LinePlot plot;
  plot.title = task + ": exact match by length";
  plot.xlabel = "length";
  plot.ylabel = "exact match (%)";
  plot.ymin = 0;
  plot.ymax = 100;
  int longest_id = 0;
  for (const auto& e : encodings) {
    const auto points = accuracy_by_length(runs, task, e);
    if (points.empty()) continue;
    Series s;
    s.label = e;
    bool spread = false;
    for (const auto& [n, p] : points) spread = spread || p.accuracy.n > 1;
    for (const auto& [n, p] : points) {
      s.x.push_back(n);
      s.y.push_back(100 * p.accuracy.mean);
      if (spread) {
        s.y_low.push_back(100 * (p.accuracy.mean - p.accuracy.std));
        s.y_high.push_back(100 * (p.accuracy.mean + p.accuracy.std));
      }
      if (p.in_distribution) longest_id = std::max(longest_id, n);
      numbers[e][std::to_string(n)] = {{"mean", p.accuracy.mean}, {"std", p.accuracy.std}, {"runs", p.accuracy.n},
                                       {"in_distribution", p.in_distribution}};
      csv.rows.push_back({task, e, std::to_string(n), p.in_distribution ? "ID" : "OOD", number(p.accuracy.mean),
                          number(p.accuracy.std), std::to_string(p.accuracy.n)});
    }
    plot.series.push_back(std::move(s));
  }
  if (longest_id > 0) {
    plot.marker_x = longest_id + 0.5;
    plot.marker_label = "longest ID length";
  }
  return plot;
}

// Scratchpad comparison: task splits run with several scratchpad formats.
Table scratchpad_table(const std::vector<RunRecord>& runs, const std::vector<std::string>& encodings,
                       const std::map<std::pair<std::string, std::string>, Cell>& cells) {
  std::map<std::string, std::set<std::string>> formats;  // task split -> formats
  for (const auto& r : runs) formats[r.task_split()].insert(r.scratchpad.empty() ? "none" : r.scratchpad);
  Table t;
  t.header = {"task split", "scratchpad", "encoding", "seeds", "ID", "OOD"};
  for (const auto& [task, fmts] : formats) {
    if (fmts.size() < 2) continue;
    for (const auto& f : fmts)
      for (const auto& e : encodings) {
        const std::string key = f == "none" ? task : task + " [sp " + f + "]";
        const auto it = cells.find({key, e});
        if (it == cells.end()) continue;
        t.rows.push_back({task, f, e, std::to_string(it->second.seeds.size()), mean_std_cell(it->second.id),
                          mean_std_cell(it->second.ood)});
      }
  }
  return t;
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", std::gmtime(&t));
  return buf;
}

// Writes the plot (PNG for the page, SVG for papers) and returns its figure, or a note.
std::string plot_figure(const LinePlot& plot, const std::string& out_dir, const std::string& stem,
                        const std::string& caption) {
  if (!plotting_available())
    return "<p class=\"note\">(gnuplot not found: install the Debian package gnuplot-nox for the figures)</p>\n";
  const std::string png = out_dir + "/" + stem + ".png";
  write_line_plot(plot, png);
  write_line_plot(plot, out_dir + "/" + stem + ".svg");
  return html::figure(png, caption);
}

// OOD exact match per (operand a digits, operand b digits), pooled over seeds: one heat map per
// task split and encoding whose runs recorded the grid; the cells in the returned table.
Table operand_grid_section(const std::vector<RunRecord>& runs, const std::vector<std::string>& tasks,
                           const std::vector<std::string>& encodings, const std::string& out_dir, std::string& body,
                           nlohmann::json& numbers) {
  Table cells;
  cells.header = {"task split", "encoding", "a digits", "b digits", "mean", "std", "runs"};
  std::string figures;
  for (const auto& task : tasks)
    for (const auto& e : encodings) {
      std::map<std::pair<int, int>, std::vector<double>> pooled;
      for (const auto& r : runs)
        if (r.task_key() == task && r.encoding == e)
          for (const auto& [ab, acc] : r.ood_by_operands) pooled[ab].push_back(acc);
      if (pooled.empty()) continue;
      int rows = 0, cols = 0;
      for (const auto& [ab, v] : pooled) rows = std::max(rows, ab.first), cols = std::max(cols, ab.second);
      Heatmap map;
      map.title = task + ", " + e + ": OOD exact match";
      map.ylabel = "digits of a", map.xlabel = "digits of b";
      map.rows = rows, map.cols = cols;
      map.zmin = 0.0, map.zmax = 1.0;
      map.values.assign(size_t(rows) * size_t(cols), NAN);  // cells without test examples: blank
      for (int i = 1; i <= rows; ++i) map.row_labels.push_back(std::to_string(i));
      for (int j = 1; j <= cols; ++j) map.col_labels.push_back(std::to_string(j));
      nlohmann::json task_numbers = nlohmann::json::array();
      for (const auto& [ab, v] : pooled) {
        const Stats s = mean_std(v);
        map.values[size_t(ab.first - 1) * size_t(cols) + size_t(ab.second - 1)] = s.mean;
        cells.rows.push_back({task, e, std::to_string(ab.first), std::to_string(ab.second), number(s.mean),
                              number(s.std), std::to_string(s.n)});
        task_numbers.push_back({{"a", ab.first}, {"b", ab.second}, {"mean", s.mean}, {"std", s.std}, {"n", s.n}});
      }
      numbers["accuracy_grid"][task][e] = task_numbers;
      if (!plotting_available()) continue;
      const std::string png = out_dir + "/grid_" + file_safe(task + "_" + e) + ".png";
      write_heatmap(map, png);
      figures += html::figure(png, map.title + " per operand digit counts, mean over seeds (blank: not tested)");
    }
  if (!cells.rows.empty())
    body += "<h2>OOD exact match per operand lengths</h2>\n" +
            (figures.empty() ? std::string("<p class=\"note\">(gnuplot not found: the grid is in accuracy_grid.csv)</p>\n")
                             : figures);
  return cells;
}

std::string extras_section(const std::vector<ExtraResults>& extras, const std::string& kind, const std::string& title,
                           nlohmann::json& numbers) {
  std::string body;
  for (const auto& x : extras) {
    if (x.kind != kind) continue;
    body += "<h3>" + html::escape(x.dir) + "</h3>\n";
    for (const auto& csv : x.csv_files) {
      Table t = read_csv_table(csv);
      numbers[csv] = {{"header", t.header}, {"rows", t.rows}};
      constexpr size_t kShown = 60;
      const size_t total = t.rows.size();
      if (total > kShown) t.rows.resize(kShown);
      body += "<p class=\"note\">" + html::escape(fs::path(csv).filename().string()) +
              (total > kShown ? fmt::format(": the first {} of {} rows (all in report.json)", kShown, total) : "") +
              "</p>\n" + html::table(t);
    }
    for (const auto& image : x.images) body += html::figure(image, fs::path(image).filename().string());
  }
  return body.empty() ? "" : "<h2>" + html::escape(title) + "</h2>\n" + body;
}

}  // namespace

StudyReport write_study_report(const std::vector<std::string>& roots, const std::string& out_dir) {
  if (roots.empty()) fail("report: no directories given");
  const std::vector<RunRecord> runs = find_runs(roots, {out_dir});
  const std::vector<ExtraResults> extras = find_extra_results(roots, {out_dir});
  if (runs.empty() && extras.empty())
    fail("report: no finished runs (results.json) nor LM/analysis results under {}", fmt::join(roots, ", "));
  fs::create_directories(out_dir);
  const auto encodings = encoding_order(runs);
  const auto tasks = task_key_order(runs);
  const auto cells = aggregate(runs);
  nlohmann::json numbers = {{"generated", utc_now()}, {"roots", roots}};
  std::string body = "<h1>Length generalization report</h1>\n";
  body += fmt::format("<p class=\"note\">{} runs, {} task splits, {} encodings, from {}; generated {}. Exact match "
                      "in %: ID = validation lengths, OOD = test lengths (longer than training); mean ± sample "
                      "standard deviation over seeds; best mean of each row highlighted.</p>\n",
                      runs.size(), tasks.size(), encodings.size(), html::escape(fmt::format("{}", fmt::join(roots, ", "))),
                      utc_now());
  StudyReport out;
  out.out_dir = out_dir;
  out.runs = runs.size();
  out.extras = extras.size();

  if (!runs.empty()) {
    // (a) the main table
    const WideTable ood = wide_table(tasks, encodings, cells, &Cell::ood),
                    id = wide_table(tasks, encodings, cells, &Cell::id),
                    tokens = wide_table(tasks, encodings, cells, &Cell::ood_tokens);
    const bool any_tokens = std::any_of(runs.begin(), runs.end(), [](const RunRecord& r) { return r.has_ood_tokens; });
    const std::string tokens_title =
        "OOD per-token accuracy (%), mean over test lengths (the Chomsky-hierarchy papers' metric)";
    body += "<h2>Main table: OOD exact match (%)</h2>\n" + html::table(ood.table, ood.best, "main");
    body += "<h2>ID exact match (%)</h2>\n" + html::table(id.table, id.best, "main");
    if (any_tokens) body += "<h2>" + html::escape(tokens_title) + "</h2>\n" + html::table(tokens.table, tokens.best, "main");
    Table long_csv;
    long_csv.header = {"task",   "split",   "scratchpad", "encoding",       "seeds",         "id_mean",
                       "id_std", "ood_mean", "ood_std",   "ood_token_mean", "ood_token_std"};
    nlohmann::json main_json = nlohmann::json::array();
    std::map<std::string, const RunRecord*> example;  // task key -> a run (its task, split, scratchpad)
    for (const auto& r : runs) example.emplace(r.task_key(), &r);
    for (const auto& [key, cell] : cells) {
      const RunRecord& r = *example.at(key.first);
      long_csv.rows.push_back({r.task, r.split, r.scratchpad, key.second, std::to_string(cell.seeds.size()),
                               number(cell.id.mean), number(cell.id.std), number(cell.ood.mean), number(cell.ood.std),
                               cell.ood_tokens.n ? number(cell.ood_tokens.mean) : "",
                               cell.ood_tokens.n ? number(cell.ood_tokens.std) : ""});
      main_json.push_back({{"task", r.task}, {"split", r.split}, {"scratchpad", r.scratchpad}, {"encoding", key.second},
                           {"seeds", cell.seeds}, {"id", {{"mean", cell.id.mean}, {"std", cell.id.std}, {"n", cell.id.n}}},
                           {"ood", {{"mean", cell.ood.mean}, {"std", cell.ood.std}, {"n", cell.ood.n}}},
                           {"ood_tokens", {{"mean", cell.ood_tokens.mean}, {"std", cell.ood_tokens.std},
                                           {"n", cell.ood_tokens.n}}}});
    }
    numbers["main_table"] = main_json;
    io::write_file_atomic(out_dir + "/main_table.csv", to_csv(long_csv));
    io::write_file_atomic(out_dir + "/main_table.md", "OOD exact match (%), mean ± std over seeds\n\n" +
                                                          to_markdown(ood.table) +
                                                          (any_tokens ? "\n" + tokens_title + "\n\n" + to_markdown(tokens.table) : "") +
                                                          "\nID exact match (%)\n\n" +
                                                          to_markdown(id.table));
    out.text = "OOD exact match (%), mean ± std over seeds\n\n" + to_text(ood.table) + "\n";
    if (any_tokens) out.text += "\n" + tokens_title + "\n\n" + to_text(tokens.table) + "\n";

    // (b) mean reciprocal rank
    const auto mrr_ood = mean_reciprocal_rank(runs, true), mrr_id = mean_reciprocal_rank(runs, false);
    Table mrr;
    mrr.header = {"encoding", "OOD MRR", "ID MRR", "queries"};
    std::set<std::pair<size_t, size_t>> best_mrr;
    double best = -1, worst = 2;  // highlight the best unless all tie
    for (const auto& [e, rr] : mrr_ood) best = std::max(best, rr.mrr), worst = std::min(worst, rr.mrr);
    for (const auto& e : encodings) {
      const ReciprocalRank o = mrr_ood.count(e) ? mrr_ood.at(e) : ReciprocalRank{NAN, 0};
      const ReciprocalRank i = mrr_id.count(e) ? mrr_id.at(e) : ReciprocalRank{NAN, 0};
      if (o.queries && o.mrr == best && best > worst) best_mrr.insert({mrr.rows.size(), 1});
      mrr.rows.push_back({e, o.queries ? fmt::format("{:.3f}", o.mrr) : "n/a", i.queries ? fmt::format("{:.3f}", i.mrr) : "n/a",
                          std::to_string(std::max(o.queries, i.queries))});
      numbers["mrr"][e] = {{"ood", o.queries ? nlohmann::json(o.mrr) : nlohmann::json()},
                           {"id", i.queries ? nlohmann::json(i.mrr) : nlohmann::json()},
                           {"ood_queries", o.queries}, {"id_queries", i.queries}};
    }
    body += "<h2>Mean reciprocal rank</h2>\n<p class=\"note\">Over every (task split, seed): encodings ranked by "
            "accuracy, best = 1, ties share the better rank.</p>\n" + html::table(mrr, best_mrr);
    io::write_file_atomic(out_dir + "/mrr.csv", to_csv(mrr));
    out.text += "Mean reciprocal rank over (task split, seed)\n\n" + to_text(mrr);

    // (c) accuracy versus length
    body += "<h2>Accuracy versus length</h2>\n";
    Table by_length;
    by_length.header = {"task split", "encoding", "length", "kind", "mean", "std", "runs"};
    for (const auto& task : tasks) {
      nlohmann::json task_numbers = nlohmann::json::object();
      const LinePlot plot = length_plot(runs, task, encodings, task_numbers, by_length);
      numbers["accuracy_by_length"][task] = task_numbers;
      if (plot.series.empty()) {  // its runs record no per-length accuracy
        body += "<p class=\"note\">" + html::escape(task) + ": no accuracy per length recorded.</p>\n";
        continue;
      }
      body += plot_figure(plot, out_dir, "accuracy_" + file_safe(task), task + ": one line per encoding, mean over seeds, "
                          "band = ± one standard deviation; dashed line: longest ID length");
    }
    io::write_file_atomic(out_dir + "/accuracy_by_length.csv", to_csv(by_length));

    // (c2) the 2-D grid of two-operand arithmetic (test examples labelled "a-by-b")
    const Table grid = operand_grid_section(runs, tasks, encodings, out_dir, body, numbers);
    if (!grid.rows.empty()) io::write_file_atomic(out_dir + "/accuracy_grid.csv", to_csv(grid));

    // (d) scratchpads
    const Table sp = scratchpad_table(runs, encodings, cells);
    if (!sp.rows.empty()) {
      body += "<h2>Scratchpad formats</h2>\n" + html::table(sp);
      io::write_file_atomic(out_dir + "/scratchpad.csv", to_csv(sp));
    }

    // every run
    Table all;
    all.header = {"run", "task", "split", "scratchpad", "encoding", "seed", "id", "ood"};
    for (const auto& r : runs)
      all.rows.push_back({r.dir, r.task, r.split, r.scratchpad, r.encoding, std::to_string(r.seed),
                          r.has_id ? number(r.id) : "", r.has_ood ? number(r.ood) : ""});
    io::write_file_atomic(out_dir + "/runs.csv", to_csv(all));
    numbers["runs"] = nlohmann::json::array();
    for (const auto& r : runs)
      numbers["runs"].push_back({{"dir", r.dir}, {"task", r.task}, {"split", r.split}, {"scratchpad", r.scratchpad},
                                 {"encoding", r.encoding}, {"seed", r.seed},
                                 {"id", r.has_id ? nlohmann::json(r.id) : nlohmann::json()},
                                 {"ood", r.has_ood ? nlohmann::json(r.ood) : nlohmann::json()},
                                 {"scratchpad_scores", r.scratchpad_scores}});
    body += "<details><summary>Every run</summary>\n" + html::table(all) + "</details>\n";
  }

  // (e) LM perplexity and attention analyses
  nlohmann::json extra_numbers = nlohmann::json::object();
  body += extras_section(extras, "lm", "Language modelling: perplexity versus length", extra_numbers);
  body += extras_section(extras, "attention", "Attention analysis", extra_numbers);
  if (!extra_numbers.empty()) numbers["extra_results"] = extra_numbers;

  body += "<p class=\"note\">Numbers: main_table.csv, mrr.csv, accuracy_by_length.csv, runs.csv, report.json; figures "
          "as PNG and SVG next to this page.</p>\n";
  io::write_file_atomic(out_dir + "/report.json", numbers.dump(2) + "\n");
  io::write_file_atomic(out_dir + "/index.html", html::page("lengen report", body));
  return out;
}

}  // namespace lengen::report
