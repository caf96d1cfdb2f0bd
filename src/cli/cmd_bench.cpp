// lengen bench train: training-step throughput of one shape per encoding (median of repetitions).
#include <algorithm>
#include <chrono>
#include <memory>

#include "cli/commands.h"
#include "model/config.h"
#include "model/transformer.h"
#include "train/optimizer.h"
#include "util/error.h"
#include "util/rng.h"

namespace lengen::cli {
namespace {

struct BenchOptions {
  std::string preset = "small";
  std::vector<std::string> encodings = {"nope", "abs_sin", "abs_learned", "t5_bias", "alibi",
                                        "alibi_learned", "rotary"};
  int batch = 64, seq = 64, vocab = 64, reps = 5, warmup = 2, threads = 0;
};

// Median tokens/s of `reps` timed training steps (forward, backward, AdamW) after warm-up.
double train_step_throughput(const ModelConfig& config, const BenchOptions& o) {
  Transformer model(config);
  model.init_weights(0);
  AdamW opt(model.layout(), OptimizerConfig{});
  Rng rng(1);
  std::vector<std::vector<int32_t>> rows(o.batch);
  for (auto& r : rows)
    for (int t = 0; t < o.seq; ++t) r.push_back(int32_t(rng.below(config.vocab_size)));
  const Batch batch = make_batch(rows, 0);
  std::vector<double> rates;
  for (int i = 0; i < o.warmup + o.reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    model.zero_grads();
    model.forward_backward(batch, uint64_t(i));
    opt.step(model.params(), model.grads(), 1e-4f);
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (i >= o.warmup) rates.push_back(double(o.batch) * o.seq / dt);
  }
  std::sort(rates.begin(), rates.end());
  return rates[rates.size() / 2];
}

void run_bench_train(const BenchOptions& o) {
  apply_thread_count(o.threads);
  if (o.reps < 1) fail("--reps must be at least 1");
  fmt::print("training step throughput: preset {}, batch {} x {} tokens, vocab {}, median of {}\n",
             o.preset, o.batch, o.seq, o.vocab, o.reps);
  double nope = 0;
  for (const auto& pe : o.encodings) {
    ModelConfig c = model_preset(o.preset);
    c.vocab_size = o.vocab;
    c.pe = {{"type", pe}};
    c.validate("--pe " + pe);
    const double tps = train_step_throughput(c, o);
    if (pe == "nope") nope = tps;
    fmt::print("{:<14} {:>10.0f} tokens/s{}\n", pe, tps,
               nope > 0 && pe != "nope" ? fmt::format("   ({:.2f}x NoPE)", tps / nope) : "");
  }
}

}  // namespace

void register_bench_commands(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "Benchmarks");
  bench->require_subcommand(1);
  auto o = std::make_shared<BenchOptions>();
  auto* t = bench->add_subcommand("train", "Training-step tokens/s per encoding");
  t->add_option("--preset", o->preset, "Model shape")->check(CLI::IsMember({"tiny", "small", "paper"}))
      ->capture_default_str();
  t->add_option("--pe", o->encodings, "Encodings")->delimiter(',');
  t->add_option("--batch", o->batch, "Sequences per step")->capture_default_str();
  t->add_option("--seq", o->seq, "Tokens per sequence")->capture_default_str();
  t->add_option("--vocab", o->vocab, "Vocabulary size")->capture_default_str();
  t->add_option("--reps", o->reps, "Timed repetitions")->capture_default_str();
  t->add_option("--threads", o->threads, "Threads (0: OpenMP default)");
  t->callback([o] { run_bench_train(*o); });
}

}  // namespace lengen::cli
