#include "analysis/efficiency.h"

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <optional>
#include <tuple>

#include "model/decode.h"
#include "model/forward.h"
#include "train/optimizer.h"
#include "util/error.h"
#include "util/rng.h"

namespace lengen::analysis {
namespace {

double seconds_of(const std::function<void()>& op) {
  const auto t0 = std::chrono::steady_clock::now();
  op();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median_seconds(const std::function<void()>& op, int reps, int warmup) {
  for (int i = 0; i < warmup; ++i) op();
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) t.push_back(seconds_of(op));
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// A /proc/self/status field in KiB (VmRSS, VmHWM), NaN when absent.
double status_kib(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == field + ":") {
      double kib = 0;
      status >> kib;
      return kib;
    }
    std::getline(status, key);
  }
  return std::numeric_limits<double>::quiet_NaN();
}

// Resident memory added by one run of `op` at its peak: freed heap is returned to the kernel,
// the process's high-water mark reset (Linux: "5" > /proc/self/clear_refs), and the peak
// (VmHWM) afterwards compared with the resident size (VmRSS) before.
double added_peak_mib(const std::function<void()>& op) {
  malloc_trim(0);
  std::ofstream reset("/proc/self/clear_refs");
  reset << "5" << std::flush;
  if (!reset) {
    op();
    return std::numeric_limits<double>::quiet_NaN();
  }
  const double before = status_kib("VmRSS");
  op();
  return (status_kib("VmHWM") - before) / 1024.0;
}

// One measurement's model, optimizer (training only) and batch of L + 1 random tokens.
struct Workload {
  Transformer model;
  Workspace ws;
  std::optional<AdamW> opt;
  std::vector<int32_t> row;
  Batch batch;
  uint64_t key = 0;

  Workload(const ModelConfig& config, int L, bool training) : model(config), ws(model) {
    model.init_weights(0);
    if (training) opt.emplace(model, OptimizerConfig{});
    Rng rng{static_cast<uint64_t>(L)};
    row.resize(size_t(L) + 1);  // L + 1 tokens: L predictions
    for (auto& t : row) t = int32_t(rng.below(uint64_t(config.vocab_size)));
    batch = make_batch({row}, 0);
  }
  void train_step() {
    model.zero_grads();
    forward_backward(model, batch, ws, ++key);
    opt->step(model, 1e-6f);
  }
  void forward() { loss(model, batch, ws); }
  void generate() { greedy_decode(model, {{row[0]}}, int(row.size()) - 1, /*eos_id=*/-1); }
};

enum class Operation { TrainStep, Forward, Generate };

void run(Workload& w, Operation op) {
  switch (op) {
    case Operation::TrainStep: return w.train_step();
    case Operation::Forward: return w.forward();
    case Operation::Generate: return w.generate();
  }
}

// Median time of `op` on one workload; memory of `op` alone on a fresh one (model included).
std::pair<double, double> measure(const ModelConfig& config, int L, Operation op,
                                  const EfficiencyOptions& o) {
  const bool training = op == Operation::TrainStep;
  double seconds = 0;
  {
    Workload w(config, L, training);
    seconds = median_seconds([&] { run(w, op); }, o.reps, o.warmup);
  }
  const double mib = added_peak_mib([&] {
    Workload w(config, L, training);
    run(w, op);
  });
  return {seconds, mib};
}

}  // namespace

std::vector<int> efficiency_lengths(const EfficiencyOptions& o) {
  if (o.length_from < 1 || o.length_to < o.length_from || o.length_step < 1)
    fail("--lengths {}:{}:{}: needs 1 <= from <= to and step >= 1", o.length_from, o.length_to,
         o.length_step);
  std::vector<int> out;
  for (int L = o.length_from; L <= o.length_to; L += o.length_step) out.push_back(L);
  return out;
}

std::vector<EfficiencyPoint> measure_efficiency(
    const ModelConfig& base, const EfficiencyOptions& o,
    const std::function<void(const EfficiencyPoint&)>& progress) {
  if (o.reps < 1 || o.warmup < 0) fail("--reps must be at least 1 and --warmup at least 0");
  const std::vector<int> lengths = efficiency_lengths(o);
  std::vector<EfficiencyPoint> out;
  for (const std::string& pe : o.encodings) {
    ModelConfig config = base;
    config.pe = {{"type", pe}};
    validate_model_config(config, "--pe " + pe);
    for (int L : lengths) {
      EfficiencyPoint p;
      p.encoding = pe;
      p.length = L;
      std::tie(p.train_step_s, p.train_peak_mib) = measure(config, L, Operation::TrainStep, o);
      std::tie(p.forward_s, p.forward_peak_mib) = measure(config, L, Operation::Forward, o);
      std::tie(p.generate_s, p.generate_peak_mib) = measure(config, L, Operation::Generate, o);
      out.push_back(p);
      if (progress) progress(p);
    }
  }
  return out;
}

}  // namespace lengen::analysis
