#include "lm/lm_eval.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "backend/cpu/kernels.h"
#include "io/atomic_file.h"
#include "model/checkpoint.h"
#include "model/decode.h"
#include "model/model_overrides.h"
#include "report/plot.h"
#include "report/table.h"
#include "util/error.h"

namespace fs = std::filesystem;

namespace lengen::lm {

double score_chunks(Transformer& model, const std::vector<const int32_t*>& chunks, int T,
                    int score_from, int block, int64_t& predictions) {
  const int R = int(chunks.size()), V = model.config().vocab_size;
  // Every chunk starts a fresh cache row: positions restart at 0 and an encoding's own streams
  // (bilevel segments) are derived from the chunk's tokens as the blocks go in.
  KVCache cache(model, R, T);
  Workspace ws(model);
  double nll = 0;
  std::vector<int32_t> tok;
  std::vector<float> logits;
  for (int start = 0; start < T - 1; start += block) {
    // The block's tokens; the last token of the chunk predicts nothing, so it is not fed.
    const int Q = std::min(block, T - 1 - start);
    tok.clear();
    for (int r = 0; r < R; ++r) tok.insert(tok.end(), chunks[r] + start, chunks[r] + start + Q);
    extend(model, cache, tok, Q, TokenStreams{}, ws, logits);
    kernels::log_softmax_inplace(logits.data(), R * Q, V);  // host logits
    for (int r = 0; r < R; ++r)
      for (int a = 0; a < Q; ++a) {
        const int target_index = start + a + 1;
        if (target_index < score_from) continue;
        nll -= double(logits[(size_t(r) * Q + a) * V + chunks[r][target_index]]);
        ++predictions;
      }
  }
  return nll;
}

std::vector<PerplexityPoint> evaluate_perplexity(Transformer& model, const TokenFile& tokens,
                                                 int train_length, const PerplexityOptions& o,
                                                 bool progress) {
  if (o.multiples.empty()) fail("no evaluation lengths given");
  if (o.block < 1 || o.rows < 1) fail("evaluation block and rows must be >= 1");
  for (int m : o.multiples)
    if (m < 1) fail("evaluation length multiple {} must be >= 1 (lengths are multiples of the training length)", m);
  if (train_length < 1) fail("training length {} must be >= 1", train_length);
  const int longest = *std::max_element(o.multiples.begin(), o.multiples.end()) * train_length;
  // One span of text for every length: a multiple of the longest chunk.
  const int64_t span = std::min<int64_t>(int64_t(tokens.size()), o.max_tokens) / longest * longest;
  if (span == 0)
    fail("{}: {} validation tokens (eval max_tokens {}) do not fill one chunk of the longest "
         "evaluation length {}",
         tokens.path(), tokens.size(), o.max_tokens, longest);
  std::vector<PerplexityPoint> out;
  for (int m : o.multiples) {
    const int T = m * train_length;
    if (o.stride < 0 || o.stride > T) fail("sliding-window stride {} must be in [1, {}]", o.stride, T);
    PerplexityPoint p;
    p.length = T;
    double nll = 0;
    // Windows: non-overlapping chunks (all predictions scored), or a sliding window advancing
    // by the stride that scores all of the first window, then the last `stride` tokens of each.
    struct Window {
      int64_t start;
      int score_from;
    };
    std::vector<Window> windows;
    const int step = o.stride > 0 ? o.stride : T;
    for (int64_t s = 0; s + T <= span; s += step)
      windows.push_back({s, o.stride > 0 && s > 0 ? T - o.stride : 0});
    for (size_t i = 0; i < windows.size();) {
      std::vector<const int32_t*> group;
      const int score_from = windows[i].score_from;
      for (; i < windows.size() && windows[i].score_from == score_from &&
             group.size() < size_t(o.rows);
           ++i)
        group.push_back(tokens.data() + windows[i].start);
      try {
        nll += score_chunks(model, group, T, score_from, o.block, p.predictions);
      } catch (const Error& e) {
        fail("evaluation length {} ({}x the training length {}): {}", T, m, train_length, e.what());
      }
      p.chunks += int64_t(group.size());
      if (progress && ::isatty(2)) fmt::print(stderr, "\r  length {}: {}/{} windows", T, i, windows.size());
    }
    p.mean_nll = nll / double(std::max<int64_t>(1, p.predictions));
    p.ppl = std::exp(p.mean_nll);
    if (progress) fmt::print(stderr, "\r  length {}: ppl {:.3f} ({} predictions)\n", T, p.ppl,
                             p.predictions);
    out.push_back(p);
  }
  return out;
}

EvaluatedModel resolve_evaluated_model(const std::string& path, int train_length_override) {
  EvaluatedModel m;
  m.label = fs::path(path).filename().string();
  if (m.label.empty()) m.label = fs::path(path).parent_path().filename().string();
  m.checkpoint = path;
  if (!fs::exists(path + "/model.safetensors") && !fs::exists(path + "/model.safetensors.old")) {
    // A run directory: its best model, else its last checkpoint.
    if (fs::exists(path + "/best/model.safetensors")) m.checkpoint = path + "/best";
    else if (fs::exists(path + "/checkpoint")) m.checkpoint = path + "/checkpoint";
    else fail("{}: neither a checkpoint (model.safetensors) nor a run directory (best/, checkpoint/)", path);
  }
  m.train_length = train_length_override;
  if (m.train_length <= 0) {
    const nlohmann::json cfg = read_json_file(resolve_checkpoint_dir(m.checkpoint) + "/config.json");
    if (!cfg.contains("train") || !cfg["train"].contains("seq_len"))
      fail("{}/config.json has no train.seq_len: give the training length (--train-length)",
           m.checkpoint);
    m.train_length = cfg["train"]["seq_len"].get<int>();
  }
  return m;
}

std::vector<std::string> rope_scaling_overrides(const std::string& method, int multiple,
                                                int train_length) {
  if (method != "none" && method != "linear" && method != "ntk" && method != "yarn")
    fail("RoPE scaling \"{}\": expected none, linear, ntk or yarn", method);
  if (method == "none" || multiple == 1) return {};
  std::vector<std::string> o = {"pe.scaling=" + method, fmt::format("pe.scaling_factor={}", multiple)};
  if (method == "yarn") o.push_back(fmt::format("pe.original_max_positions={}", train_length));
  return o;
}

std::vector<PerplexityPoint> evaluate_checkpoint(const std::string& checkpoint,
                                                 const std::vector<std::string>& overrides,
                                                 const std::string& rope_scaling,
                                                 const TokenFile& tokens, int train_length,
                                                 const PerplexityOptions& o, bool progress) {
  std::vector<PerplexityPoint> points;
  // The scaling factor follows the evaluation length, so each length gets its own model.
  for (int multiple : o.multiples) {
    std::vector<std::string> all = overrides;
    for (auto& s : rope_scaling_overrides(rope_scaling, multiple, train_length)) all.push_back(s);
    auto model = load_model_with_overrides(checkpoint, all);
    tokens.check_vocabulary(model->config().vocab_size);
    PerplexityOptions one = o;
    one.multiples = {multiple};
    for (const auto& p : evaluate_perplexity(*model, tokens, train_length, one, progress))
      points.push_back(p);
  }
  return points;
}

std::string write_perplexity_report(const std::vector<EvaluatedModel>& models,
                                    const std::string& out_dir) {
  fs::create_directories(out_dir);
  report::Table t;
  t.header = {"model"};
  std::vector<int> lengths;
  for (const auto& m : models)
    for (const auto& p : m.points)
      if (std::find(lengths.begin(), lengths.end(), p.length) == lengths.end()) lengths.push_back(p.length);
  for (int L : lengths) t.header.push_back(fmt::format("{}", L));
  nlohmann::json summary = nlohmann::json::array();
  report::LinePlot plot;
  plot.title = "Perplexity vs evaluation length";
  plot.xlabel = "evaluation length (tokens)";
  plot.ylabel = "perplexity";
  plot.log_y = true;
  for (const auto& m : models) {
    std::vector<std::string> row = {m.label};
    report::Series s{m.label, {}, {}, {}, {}};
    nlohmann::json points = nlohmann::json::array();
    for (int L : lengths) {
      auto it = std::find_if(m.points.begin(), m.points.end(), [&](const auto& p) { return p.length == L; });
      row.push_back(it == m.points.end() ? "n/a" : fmt::format("{:.2f}", it->ppl));
      if (it == m.points.end()) continue;
      s.x.push_back(L);
      s.y.push_back(it->ppl);
      points.push_back({{"length", L}, {"ppl", it->ppl}, {"mean_nll", it->mean_nll},
                        {"predictions", it->predictions}, {"chunks", it->chunks}});
    }
    t.rows.push_back(row);
    plot.series.push_back(s);
    summary.push_back({{"model", m.label}, {"checkpoint", m.checkpoint},
                       {"train_length", m.train_length}, {"points", points}});
    plot.marker_x = m.train_length;
  }
  plot.marker_label = "training length";
  const std::string md = report::to_markdown(t);
  io::write_file_atomic(out_dir + "/perplexity.md", md);
  io::write_file_atomic(out_dir + "/perplexity.csv", report::to_csv(t));
  io::write_file_atomic(out_dir + "/perplexity.json", summary.dump(2) + "\n");
  if (report::plotting_available()) {
    report::write_line_plot(plot, out_dir + "/perplexity_vs_length.png");
    report::write_line_plot(plot, out_dir + "/perplexity_vs_length.svg");
  } else {
    fmt::print(stderr, "gnuplot not found: no plot written (apt-get install gnuplot-nox)\n");
  }
  return md;
}

}  // namespace lengen::lm
