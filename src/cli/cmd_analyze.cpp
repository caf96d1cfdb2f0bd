// lengen analyze attention | distance | attended | heatmap | efficiency: the attention
// analyses and the per-encoding cost measurement of SPEC section 5 (src/analysis/).
#include <memory>
#include <sstream>

#include <fmt/core.h>

#include "analysis/analyze.h"
#include "arch/model_config.h"
#include "cli/commands.h"
#include "pe/positional_encoding.h"
#include "util/error.h"
#include "util/json_config.h"

namespace lengen::cli {
namespace {

void print_files(const analysis::ReportFiles& r) {
  if (!r.table_text.empty()) fmt::print("{}\n", r.table_text);
  for (const auto& f : r.files) fmt::print("wrote {}\n", f);
}

// --split, --per-length, --checkpoint: which examples and weights an attention capture uses.
void add_capture_options(CLI::App* cmd, analysis::CaptureSelection& s) {
  cmd->add_option("--split", s.split, "Split whose examples are analysed")
      ->check(CLI::IsMember({"train", "validation", "test"}))
      ->capture_default_str();
  cmd->add_option("--per-length", s.per_length, "Examples per length (the first ones in the file)")
      ->capture_default_str();
  cmd->add_option("--checkpoint", s.checkpoint, "best (default) or checkpoint");
}

// "from:to:step" -> the length range of the efficiency measurement.
void parse_length_range(const std::string& text, analysis::EfficiencyOptions& o) {
  int from = 0, to = 0, step = 0;
  char c1 = 0, c2 = 0;
  std::istringstream in(text);
  if (!(in >> from >> c1 >> to >> c2 >> step) || c1 != ':' || c2 != ':' || !in.eof())
    fail("--lengths '{}': expected from:to:step, e.g. 1:2001:100", text);
  o.length_from = from;
  o.length_to = to;
  o.length_step = step;
  analysis::efficiency_lengths(o);  // validates
}

struct EfficiencyCli {
  analysis::EfficiencyOptions options;
  std::string preset = "tiny", lengths = "1:2001:100", out = "analysis/efficiency";
  std::vector<std::string> sets;
  int threads = 0;
};

void run_efficiency(const EfficiencyCli& e) {
  apply_thread_count(e.threads);
  analysis::EfficiencyOptions o = e.options;
  parse_length_range(e.lengths, o);
  nlohmann::json j = model_preset_json(e.preset);
  apply_overrides(j, e.sets);
  const ModelConfig base = model_config_from_json(j, "--preset " + e.preset);
  const std::string shape = fmt::format("{} L{} D{} H{}", e.preset, base.n_layers, base.d_model, base.n_heads);
  fmt::print(stderr, "efficiency: {}, batch 1, L = {}, median of {}\n", shape, e.lengths, o.reps);
  const auto points = analysis::measure_efficiency(base, o, [](const analysis::EfficiencyPoint& p) {
    fmt::print(stderr, "{:<10} L {:>5}: train step {:.3g} ms, forward {:.3g} ms, generate {:.3g} ms\n",
               p.encoding, p.length, 1e3 * p.train_step_s, 1e3 * p.forward_s, 1e3 * p.generate_s);
  });
  print_files(analysis::write_efficiency_report(points, shape, e.out));
}

}  // namespace

void register_analyze_commands(CLI::App& app) {
  auto* analyze = app.add_subcommand("analyze", "Attention analyses and per-encoding cost (SPEC 5)");
  analyze->require_subcommand(1);

  struct AttentionCli {
    analysis::CaptureSelection selection;
    std::string run, out;
  };
  auto a = std::make_shared<AttentionCli>();
  auto* attention = analyze->add_subcommand(
      "attention", "Teacher-forced pass over N examples per length; store every layer's and head's attention");
  attention->add_option("--run", a->run, "Run directory")->required();
  add_capture_options(attention, a->selection);
  attention->add_option("--out", a->out, "Capture directory (default: <run>/analysis/attention/<split>)");
  attention->callback([a] {
    analysis::CaptureRequest r = a->selection.request(a->run);
    const auto c = analysis::capture_attention(r);
    const std::string dir = a->out.empty() ? analysis::capture_dir(a->run, r.split) : a->out;
    analysis::save_capture(c, dir);
    fmt::print("{}: {} examples, {} layers x {} heads -> {}/attention.safetensors, attention.json\n",
               c.encoding(), c.examples.size(), c.n_layers, c.n_heads, dir);
  });

  struct DistanceCli {
    analysis::CaptureSelection selection;
    std::vector<std::string> runs;
    std::string reference, queries = "all", out = "analysis/distance";
  };
  auto d = std::make_shared<DistanceCli>();
  auto* distance = analyze->add_subcommand(
      "distance", "Symmetric KL and Jensen-Shannon distance of each run's attention to a reference (NoPE) run");
  distance->add_option("--runs", d->runs, "Run directories")->delimiter(',')->required();
  distance->add_option("--reference", d->reference, "The reference run (NoPE, same task and seed)")->required();
  add_capture_options(distance, d->selection);
  distance->add_option("--queries", d->queries, "Query rows averaged: all, or answer (the answer region)")
      ->capture_default_str();
  distance->add_option("--out", d->out, "Output directory")->capture_default_str();
  distance->callback([d] {
    print_files(analysis::analyze_distance(d->runs, d->reference, d->selection,
                                           analysis::parse_query_rows(d->queries), d->out));
  });

  struct AttendedCli {
    analysis::CaptureSelection selection;
    std::vector<std::string> runs;
    int bins = 20;
    std::string out = "analysis/attended";
  };
  auto t = std::make_shared<AttendedCli>();
  auto* attended = analyze->add_subcommand(
      "attended", "Histogram of (i - argmax_j)/(i + 1) over answer-region queries, per run and length");
  attended->add_option("--runs", t->runs, "Run directories")->delimiter(',')->required();
  add_capture_options(attended, t->selection);
  attended->add_option("--bins", t->bins, "Histogram bins over [0, 1]")->capture_default_str();
  attended->add_option("--out", t->out, "Output directory")->capture_default_str();
  attended->callback([t] { print_files(analysis::analyze_attended(t->runs, t->selection, t->bins, t->out)); });

  struct HeatmapCli {
    analysis::CaptureSelection selection;
    analysis::HeatmapRequest request;
    std::string run, out;
    int length = 0;
  };
  auto h = std::make_shared<HeatmapCli>();
  auto* heatmap = analyze->add_subcommand("heatmap", "Attention maps of chosen examples, layers and heads");
  heatmap->add_option("--run", h->run, "Run directory")->required();
  add_capture_options(heatmap, h->selection);
  heatmap->add_option("--examples", h->request.examples, "Indices into the capture (attention.json)")
      ->delimiter(',')->capture_default_str();
  heatmap->add_option("--length", h->length, "Instead: the first captured example of this length");
  heatmap->add_option("--layers", h->request.layers, "Layers (default: all)")->delimiter(',');
  heatmap->add_option("--heads", h->request.heads, "Heads (default: all)")->delimiter(',');
  heatmap->add_option("--format", h->request.format, "png or svg")->capture_default_str();
  heatmap->add_option("--out", h->out, "Output directory (default: <run>/analysis/heatmaps)");
  heatmap->callback([h] {
    const auto c = analysis::capture_or_load(h->selection.request(h->run));
    analysis::HeatmapRequest r = h->request;
    if (h->length > 0) {
      r.examples.clear();
      for (size_t k = 0; k < c.examples.size() && r.examples.empty(); ++k)
        if (c.examples[k].length == h->length) r.examples.push_back(int(k));
      if (r.examples.empty()) fail("--length {}: no captured example of that length", h->length);
    }
    print_files(analysis::write_attention_heatmaps(c, r, h->out.empty() ? h->run + "/analysis/heatmaps" : h->out));
  });

  auto e = std::make_shared<EfficiencyCli>();
  auto* efficiency = analyze->add_subcommand(
      "efficiency", "Time and memory of a training step, a forward pass and generating L tokens, per encoding");
  efficiency->add_option("--preset", e->preset, "Model shape")->check(CLI::IsMember({"tiny", "small", "paper"}))
      ->capture_default_str();
  efficiency->add_option("--set", e->sets, "Override a model key: family=llama (repeatable)");
  efficiency->add_option("--pe", e->options.encodings, "Encodings")->delimiter(',')->capture_default_str();
  efficiency->add_option("--lengths", e->lengths, "L range from:to:step")->capture_default_str();
  efficiency->add_option("--reps", e->options.reps, "Timed repetitions (median)")->capture_default_str();
  efficiency->add_option("--warmup", e->options.warmup, "Untimed repetitions first")->capture_default_str();
  efficiency->add_option("--threads", e->threads, "Threads (0: the default, see `lengen debug threads`)");
  efficiency->add_option("--out", e->out, "Output directory")->capture_default_str();
  efficiency->callback([e] { run_efficiency(*e); });
}

}  // namespace lengen::cli
