#include "analysis/analysis_report.h"

#include <cmath>
#include <filesystem>
#include <initializer_list>
#include <numeric>
#include <set>

#include <fmt/core.h>

#include "analysis/attended_distance.h"
#include "io/atomic_file.h"
#include "report/plot.h"
#include "report/table.h"
#include "util/error.h"

namespace fs = std::filesystem;

namespace lengen::analysis {
namespace {

std::string num(double v) { return std::isfinite(v) ? fmt::format("{:.4g}", v) : "n/a"; }

double mean_of(const std::vector<double>& v) {
  return v.empty() ? NAN : std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
}

struct NamedTable {
  const report::Table* table;
  std::string stem;
  bool markdown;  // also <stem>.md (summaries; long per-row tables are CSV only)
};
struct NamedPlot {
  const report::LinePlot* plot;
  std::string stem;
};

// Writes the tables and figures into `dir`; the terminal text is `shown`, plus a note when
// gnuplot is missing.
ReportFiles save_report(const std::string& dir, std::initializer_list<NamedTable> tables,
                        std::initializer_list<NamedPlot> plots, const report::Table& shown) {
  ReportFiles out;
  out.table_text = report::to_text(shown);
  fs::create_directories(dir);
  auto save = [&](const std::string& file, const std::string& content) {
    io::write_file_atomic(dir + "/" + file, content);
    out.files.push_back(dir + "/" + file);
  };
  for (const NamedTable& t : tables) {
    save(t.stem + ".csv", report::to_csv(*t.table));
    if (t.markdown) save(t.stem + ".md", report::to_markdown(*t.table));
  }
  if (!report::plotting_available()) {
    out.table_text += "(gnuplot not found: install the Debian package gnuplot-nox for the plots)\n";
    return out;
  }
  for (const NamedPlot& p : plots)
    for (const char* ext : {".png", ".svg"}) {
      report::write_line_plot(*p.plot, dir + "/" + p.stem + ext);
      out.files.push_back(dir + "/" + p.stem + ext);
    }
  return out;
}

report::LinePlot line_plot(std::string title, std::string xlabel, std::string ylabel) {
  report::LinePlot p;
  p.title = std::move(title);
  p.xlabel = std::move(xlabel);
  p.ylabel = std::move(ylabel);
  return p;
}

// Per-layer divergence averaged over the lengths (each length weighs the same).
std::vector<Divergence> per_layer_over_lengths(const std::vector<LengthDistance>& lengths) {
  std::vector<Divergence> out;
  for (const LengthDistance& d : lengths) {
    out.resize(d.per_layer.size());
    for (size_t l = 0; l < d.per_layer.size(); ++l) {
      out[l].sym_kl += d.per_layer[l].sym_kl / double(lengths.size());
      out[l].js += d.per_layer[l].js / double(lengths.size());
    }
  }
  return out;
}

// "tokens a-b" of a region, or "-" when empty.
std::string span_text(const TokenRange& r) {
  if (r.size() <= 0) return "-";
  return r.size() == 1 ? std::to_string(r.begin) : fmt::format("{}-{}", r.begin, r.end - 1);
}

std::vector<int> all_or(const std::vector<int>& chosen, int n, const char* what) {
  if (chosen.empty()) {
    std::vector<int> all(static_cast<size_t>(n));
    std::iota(all.begin(), all.end(), 0);
    return all;
  }
  for (int v : chosen)
    if (v < 0 || v >= n) fail("heatmap: {} {} out of range 0..{}", what, v, n - 1);
  return chosen;
}

}  // namespace

ReportFiles write_distance_report(const std::vector<RunDistance>& runs,
                                  const std::string& reference_encoding, const std::string& dir) {
  report::Table all{{"encoding", "run", "length", "layer", "sym_kl", "js", "examples"}, {}};
  report::Table summary{{"encoding", "sym KL", "JS"}, {}};
  size_t layers = 0;
  for (const RunDistance& r : runs)
    for (const LengthDistance& d : r.lengths) layers = std::max(layers, d.per_layer.size());
  for (size_t l = 0; l < layers; ++l) summary.header.push_back(fmt::format("JS layer {}", l));
  const std::string vs = fmt::format("to {}", reference_encoding);
  auto kl_plot = line_plot("Attention distance " + vs + " (symmetric KL) per layer", "layer", "symmetric KL");
  auto js_plot = line_plot("Attention distance " + vs + " (Jensen-Shannon) per layer", "layer", "JS divergence");
  auto length_plot = line_plot("Attention distance " + vs + " (JS, mean over layers)", "length", "JS divergence");
  for (const RunDistance& r : runs) {
    report::Series kl{r.encoding, {}, {}, {}, {}}, js = kl, by_length = kl;
    for (const LengthDistance& d : r.lengths) {
      for (size_t l = 0; l < d.per_layer.size(); ++l)
        all.rows.push_back({r.encoding, r.run, std::to_string(d.length), std::to_string(l),
                            num(d.per_layer[l].sym_kl), num(d.per_layer[l].js), std::to_string(d.examples)});
      all.rows.push_back({r.encoding, r.run, std::to_string(d.length), "mean", num(d.mean.sym_kl),
                          num(d.mean.js), std::to_string(d.examples)});
      by_length.x.push_back(d.length);
      by_length.y.push_back(d.mean.js);
    }
    const auto layer_means = per_layer_over_lengths(r.lengths);
    Divergence mean;
    std::vector<std::string> row = {r.encoding, "", ""};
    for (size_t l = 0; l < layer_means.size(); ++l) {
      mean.sym_kl += layer_means[l].sym_kl / double(layer_means.size());
      mean.js += layer_means[l].js / double(layer_means.size());
      kl.x.push_back(double(l));
      kl.y.push_back(layer_means[l].sym_kl);
      js.x.push_back(double(l));
      js.y.push_back(layer_means[l].js);
      row.push_back(num(layer_means[l].js));
    }
    row[1] = num(mean.sym_kl);
    row[2] = num(mean.js);
    summary.rows.push_back(row);
    kl_plot.series.push_back(kl);
    js_plot.series.push_back(js);
    length_plot.series.push_back(by_length);
  }
  return save_report(dir, {{&all, "distance", false}, {&summary, "distance_summary", true}},
                     {{&kl_plot, "distance_per_layer_kl"},
                      {&js_plot, "distance_per_layer_js"},
                      {&length_plot, "distance_vs_length_js"}},
                     summary);
}

ReportFiles write_attended_report(const std::vector<RunAttended>& runs, int bins,
                                  const std::string& dir) {
  report::Table hist{{"encoding", "length", "bin_low", "bin_high", "fraction"}, {}};
  report::Table summary{{"encoding", "all"}, {}};
  std::set<int> lengths;
  for (const RunAttended& r : runs)
    for (const auto& [n, v] : r.by_length) lengths.insert(n);
  for (int n : lengths) summary.header.push_back(std::to_string(n));
  auto hist_plot = line_plot("Attended distance (answer queries, all layers and heads)",
                             "(i - argmax_j) / (i + 1)", "fraction of queries");
  auto mean_plot = line_plot("Mean attended distance", "length", "mean (i - argmax_j) / (i + 1)");
  const double w = 1.0 / bins;
  for (const RunAttended& r : runs) {
    std::vector<double> pooled;
    std::vector<std::string> row = {r.encoding, ""};
    report::Series mean{r.encoding, {}, {}, {}, {}};
    for (int n : lengths) {
      const auto it = r.by_length.find(n);
      if (it == r.by_length.end()) {
        row.push_back("n/a");
        continue;
      }
      const auto f = histogram_fractions(it->second, bins);
      for (int b = 0; b < bins; ++b)
        hist.rows.push_back({r.encoding, std::to_string(n), num(b * w), num((b + 1) * w), num(f[size_t(b)])});
      pooled.insert(pooled.end(), it->second.begin(), it->second.end());
      row.push_back(num(mean_of(it->second)));
      mean.x.push_back(n);
      mean.y.push_back(mean_of(it->second));
    }
    row[1] = num(mean_of(pooled));
    summary.rows.push_back(row);
    report::Series h{r.encoding, {}, {}, {}, {}};
    const auto f = histogram_fractions(pooled, bins);
    for (int b = 0; b < bins; ++b) {
      h.x.push_back((b + 0.5) * w);
      h.y.push_back(f[size_t(b)]);
    }
    hist_plot.series.push_back(h);
    mean_plot.series.push_back(mean);
  }
  return save_report(dir, {{&hist, "attended_distance", false}, {&summary, "attended_distance_summary", true}},
                     {{&hist_plot, "attended_distance_hist"}, {&mean_plot, "attended_distance_mean"}},
                     summary);
}

ReportFiles write_attention_heatmaps(const AttentionCapture& c, const HeatmapRequest& r,
                                     const std::string& dir) {
  if (r.format != "png" && r.format != "svg") fail("--format '{}': allowed: png, svg", r.format);
  if (!report::plotting_available())
    fail("attention heatmaps need gnuplot: install the Debian package gnuplot-nox");
  if (c.examples.empty()) fail("the attention capture holds no examples");
  fs::create_directories(dir);
  ReportFiles out;
  for (int k : all_or(r.examples, int(c.examples.size()), "example")) {
    const CapturedExample& x = c.examples[size_t(k)];
    const int T = x.T();
    for (int l : all_or(r.layers, c.n_layers, "layer"))
      for (int h : all_or(r.heads, c.n_heads, "head")) {
        report::Heatmap m;
        m.title = fmt::format("{}: example {} (length {}), layer {}, head {}", c.encoding(),
                              x.index, x.length, l, h);
        m.xlabel = fmt::format("key (prompt {}, separator {}, scratchpad {}, answer {})",
                               span_text(x.regions.prompt), span_text(x.regions.separator),
                               span_text(x.regions.scratchpad), span_text(x.regions.answer));
        m.ylabel = "query";
        m.rows = m.cols = T;
        m.values.assign(size_t(T) * T, 0.0);  // above the diagonal: masked, drawn as 0
        for (int i = 0; i < T; ++i) {
          const auto row = x.row(l, h, c.n_heads, i);
          for (int j = 0; j <= i; ++j) m.values[size_t(i) * T + j] = row[size_t(j)];
        }
        if (T <= r.max_labelled_tokens) m.row_labels = m.col_labels = x.words;
        const std::string path =
            fmt::format("{}/attention_ex{}_len{}_l{}_h{}.{}", dir, k, x.length, l, h, r.format);
        report::write_heatmap(m, path);
        out.files.push_back(path);
      }
  }
  return out;
}

ReportFiles write_efficiency_report(const std::vector<EfficiencyPoint>& points,
                                    const std::string& shape, const std::string& dir) {
  report::Table t{{"encoding", "L", "train step ms", "forward ms", "generate ms", "train MiB",
                   "forward MiB", "generate MiB"},
                  {}};
  const std::string at = " (batch 1, " + shape + ")";
  auto train = line_plot("Training step" + at, "sequence length L", "time (ms)");
  auto forward = line_plot("Forward pass" + at, "sequence length L", "time (ms)");
  auto generate = line_plot("Greedy generation of L tokens" + at, "L", "time (ms)");
  auto memory = line_plot("Peak memory added by a training step" + at, "sequence length L", "MiB");
  std::map<std::string, size_t> series_of;
  for (const EfficiencyPoint& p : points) {
    t.rows.push_back({p.encoding, std::to_string(p.length), num(1e3 * p.train_step_s),
                      num(1e3 * p.forward_s), num(1e3 * p.generate_s), num(p.train_peak_mib),
                      num(p.forward_peak_mib), num(p.generate_peak_mib)});
    if (!series_of.count(p.encoding)) {
      series_of[p.encoding] = train.series.size();
      for (auto* plot : {&train, &forward, &generate, &memory})
        plot->series.push_back({p.encoding, {}, {}, {}, {}});
    }
    const size_t s = series_of[p.encoding];
    for (auto [plot, y] : {std::pair{&train, 1e3 * p.train_step_s}, {&forward, 1e3 * p.forward_s},
                           {&generate, 1e3 * p.generate_s}, {&memory, p.train_peak_mib}}) {
      plot->series[s].x.push_back(p.length);
      plot->series[s].y.push_back(y);
    }
  }
  return save_report(dir, {{&t, "efficiency", true}},
                     {{&train, "efficiency_train_step"},
                      {&forward, "efficiency_forward"},
                      {&generate, "efficiency_generate"},
                      {&memory, "efficiency_memory"}},
                     t);
}

}  // namespace lengen::analysis
