// lengen bench: the performance harness. `train` and `decode` time one shape per encoding
// (median of repetitions after warm-up) and report tokens/s, achieved GFLOP/s (FLOP counts of
// src/model/cost.h) and memory; `gemm` measures this machine's sgemm peak, the yardstick for
// utilisation. bench/compare_pytorch.py runs them beside the PyTorch baseline.
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "arch/model_config.h"
#include "model/cost.h"
#include "model/decode.h"
#include "model/forward.h"
#include "model/transformer.h"
#include "train/optimizer.h"
#include "util/error.h"
#include "util/memory.h"
#include "util/rng.h"

namespace lengen::cli {
namespace {

struct BenchOptions {
  std::string preset = "small";
  std::vector<std::string> encodings = {"nope", "abs_sin", "abs_learned", "t5_bias", "alibi",
                                        "alibi_learned", "rotary"};
  int batch = 64, seq = 64, prompt = 32, new_tokens = 32, vocab = 64, reps = 5, warmup = 2;
  int threads = 0;
  std::vector<int> gemm_sizes = {256, 512, 1024, 2048};
  bool json = false;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Median duration of `reps` calls of `run` after `warmup` untimed ones.
double median_seconds(const BenchOptions& o, const std::function<void(int)>& run) {
  std::vector<double> times;
  for (int i = 0; i < o.warmup + o.reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    run(i);
    if (i >= o.warmup) times.push_back(seconds_since(t0));
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

// Resets the kernel's peak-RSS mark (VmHWM) so each measurement reports its own peak.
void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }

// One sgemm so OpenBLAS has allocated its buffers before the baseline RSS is read.
void warm_blas() {
  std::vector<float> a(64 * 64, 1.0f), c(64 * 64);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 64, 64, 64, 1.0f, a.data(), 64, a.data(),
              64, 0.0f, c.data(), 64);
}

std::vector<std::vector<int32_t>> random_rows(int B, int T, int vocab) {
  Rng rng(1);
  std::vector<std::vector<int32_t>> rows(B);
  for (auto& r : rows)
    for (int t = 0; t < T; ++t) r.push_back(int32_t(rng.below(vocab)));
  return rows;
}

ModelConfig bench_config(const BenchOptions& o, const std::string& pe) {
  ModelConfig c = model_preset(o.preset);
  c.vocab_size = o.vocab;
  c.dropout = 0;  // the PyTorch baseline has none either
  c.pe = {{"type", pe}};
  validate_model_config(c, "--pe " + pe);
  return c;
}

double mib(size_t bytes) { return double(bytes) / (1 << 20); }

void print_result(const BenchOptions& o, const nlohmann::json& r, const std::string& text) {
  if (o.json)
    fmt::print("{}\n", r.dump());
  else
    fmt::print("{}\n", text);
}

void bench_train(const BenchOptions& o, const std::string& pe, double& nope_rate) {
  const ModelConfig c = bench_config(o, pe);
  const size_t rss0 = current_rss_bytes();
  reset_peak_rss();
  Transformer model(c);
  model.init_weights(0);
  AdamW opt(model, OptimizerConfig{});
  Workspace ws(model);
  const Batch batch = make_batch(random_rows(o.batch, o.seq, o.vocab), 0);
  const double sec = median_seconds(o, [&](int i) {
    model.zero_grads();
    forward_backward(model, batch, ws, uint64_t(i));
    opt.step(model, 1e-4f);
    model.backend().synchronize();  // a GPU's queued work is part of the step
  });
  const size_t peak = peak_rss_bytes();
  const double rate = double(o.batch) * o.seq / sec;
  const double gflops = training_step_flops(c, o.batch, o.seq) / sec / 1e9;
  const TrainingMemory need = training_memory(c, model.num_parameters(), o.batch, o.seq);
  const double mem_ratio = double(peak - rss0) / double(need.total());
  if (pe == "nope") nope_rate = rate;
  const nlohmann::json r = {{"bench", "train"}, {"device", model.backend().name()},
                            {"precision", matmul_precision_name(default_matmul_precision())},
                            {"preset", o.preset}, {"pe", pe},
                            {"batch", o.batch}, {"seq", o.seq}, {"tokens_per_s", rate},
                            {"step_ms", sec * 1e3}, {"gflops", gflops},
                            {"flops_per_step", training_step_flops(c, o.batch, o.seq)},
                            {"peak_rss_mib", mib(peak)}, {"base_rss_mib", mib(rss0)},
                            {"needed_mib", mib(need.total())}, {"memory_ratio", mem_ratio}};
  print_result(o, r,
               fmt::format("{:<14} {:>9.0f} tok/s {:>7.1f} GFLOP/s   peak RSS {:>7.1f} MiB "
                           "(+{:.1f} over start; needs {:.1f} MiB: {:.2f}x){}",
                           pe, rate, gflops, mib(peak), mib(peak - rss0), mib(need.total()),
                           mem_ratio,
                           nope_rate > 0 && pe != "nope"
                               ? fmt::format("   {:.2f}x NoPE", rate / nope_rate)
                               : ""));
}

void bench_decode(const BenchOptions& o, const std::string& pe, double& nope_rate) {
  const ModelConfig c = bench_config(o, pe);
  reset_peak_rss();
  Transformer model(c);
  model.init_weights(0);
  const auto prompts = random_rows(o.batch, o.prompt, o.vocab);
  size_t generated = 0;
  DecodeScratch scratch(model);  // reused across repetitions, as an evaluation reuses it
  const double sec = median_seconds(o, [&](int) {
    generated = 0;
    for (const auto& row : greedy_decode(model, scratch, prompts, o.new_tokens, /*eos_id=*/-1))
      generated += row.size();
    model.backend().synchronize();
  });
  if (generated != size_t(o.batch) * o.new_tokens)
    fail("bench decode: generated {} tokens, expected {}", generated, size_t(o.batch) * o.new_tokens);
  const double rate = double(generated) / sec;
  const double gflops = decode_flops(c, o.batch, o.prompt, o.new_tokens) / sec / 1e9;
  if (pe == "nope") nope_rate = rate;
  const nlohmann::json r = {{"bench", "decode"}, {"device", model.backend().name()},
                            {"precision", matmul_precision_name(default_matmul_precision())},
                            {"preset", o.preset}, {"pe", pe},
                            {"batch", o.batch}, {"prompt", o.prompt},
                            {"new_tokens", o.new_tokens}, {"tokens_per_s", rate},
                            {"gflops", gflops}, {"peak_rss_mib", mib(peak_rss_bytes())}};
  print_result(o, r,
               fmt::format("{:<14} {:>9.0f} generated tok/s {:>7.1f} GFLOP/s   peak RSS {:.1f} MiB{}",
                           pe, rate, gflops, mib(peak_rss_bytes()),
                           nope_rate > 0 && pe != "nope"
                               ? fmt::format("   {:.2f}x NoPE", rate / nope_rate)
                               : ""));
}

void run_bench(const BenchOptions& o, bool decode) {
  apply_thread_count(o.threads);
  if (o.reps < 1) fail("--reps must be at least 1");
  if (o.batch < 1 || o.seq < 2 || o.prompt < 1 || o.new_tokens < 1)
    fail("--batch, --prompt and --new-tokens must be >= 1 and --seq >= 2");
  warm_blas();
  // Models are created on the default backend (--device): the CUDA backend when asked for.
  const std::string device = default_backend().name();
  if (!o.json && decode)
    fmt::print("greedy decoding (KV cache) on {}: preset {}, batch {}, prompt {} + {} new tokens, "
               "vocab {}, median of {}\n", device, o.preset, o.batch, o.prompt, o.new_tokens,
               o.vocab, o.reps);
  if (!o.json && !decode)
    fmt::print("training step on {}: preset {}, batch {} x {} tokens, vocab {}, median of {}\n",
               device, o.preset, o.batch, o.seq, o.vocab, o.reps);
  double nope_rate = 0;
  for (const auto& pe : o.encodings) (decode ? bench_decode : bench_train)(o, pe, nope_rate);
}

// sgemm GFLOP/s of square products: the machine's attainable peak at these thread counts.
void run_bench_gemm(const BenchOptions& o) {
  apply_thread_count(o.threads);
  double best = 0;
  for (int n : o.gemm_sizes) {
    if (n < 1) fail("--sizes: {} is not a positive matrix size", n);
    std::vector<float> a(size_t(n) * n, 0.5f), b(size_t(n) * n, 0.25f), c(size_t(n) * n);
    const double sec = median_seconds(o, [&](int) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data(), n, b.data(),
                  n, 0.0f, c.data(), n);
    });
    const double gflops = 2.0 * n * n * n / sec / 1e9;
    best = std::max(best, gflops);
    print_result(o, {{"bench", "gemm"}, {"n", n}, {"gflops", gflops}},
                 fmt::format("sgemm {:>5} x {:<5} x {:<5} {:>8.1f} GFLOP/s", n, n, n, gflops));
  }
  print_result(o, {{"bench", "gemm_peak"}, {"gflops", best}},
               fmt::format("peak {:.1f} GFLOP/s", best));
}

void add_shape_options(CLI::App* cmd, BenchOptions& o) {
  cmd->add_option("--preset", o.preset, "Model shape (t5 family)")
      ->check(CLI::IsMember({"tiny", "small", "paper"}))
      ->capture_default_str();
  cmd->add_option("--pe", o.encodings, "Encodings")->delimiter(',');
  cmd->add_option("--batch", o.batch, "Sequences per step")->capture_default_str();
  cmd->add_option("--vocab", o.vocab, "Vocabulary size")->capture_default_str();
}

void add_timing_options(CLI::App* cmd, BenchOptions& o) {
  cmd->add_option("--reps", o.reps, "Timed repetitions")->capture_default_str();
  cmd->add_option("--warmup", o.warmup, "Untimed repetitions first")->capture_default_str();
  cmd->add_option("--threads", o.threads, "Threads (0: the default, see `lengen debug threads`)");
  cmd->add_flag("--json", o.json, "One JSON object per result line");
}

}  // namespace

void register_bench_commands(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "Performance harness (see bench/compare_pytorch.py)");
  bench->require_subcommand(1);
  auto o = std::make_shared<BenchOptions>();
  auto* t = bench->add_subcommand("train", "Training-step tokens/s, GFLOP/s and memory per encoding");
  add_shape_options(t, *o);
  t->add_option("--seq", o->seq, "Tokens per sequence")->capture_default_str();
  add_timing_options(t, *o);
  t->callback([o] { run_bench(*o, false); });
  auto* d = bench->add_subcommand("decode", "Greedy decoding tokens/s with the KV cache per encoding");
  add_shape_options(d, *o);
  d->add_option("--prompt", o->prompt, "Prompt tokens per row")->capture_default_str();
  d->add_option("--new-tokens", o->new_tokens, "Generated tokens per row")->capture_default_str();
  add_timing_options(d, *o);
  d->callback([o] { run_bench(*o, true); });
  auto* g = bench->add_subcommand("gemm", "This machine's sgemm GFLOP/s (the utilisation yardstick)");
  g->add_option("--sizes", o->gemm_sizes, "Square matrix sizes")->delimiter(',');
  add_timing_options(g, *o);
  g->callback([o] { run_bench_gemm(*o); });
}

}  // namespace lengen::cli
