// Cost per positional encoding (SPEC section 5): at batch 1 and sequence length L, the time of
// a training step (forward, backward, AdamW), of a forward pass (teacher-forced loss) and of
// generating L tokens greedily from a 1-token prompt with the KV cache; and the peak resident
// memory each adds. Timings are medians of repetitions after warm-up, on random tokens.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "arch/model_config.h"

namespace lengen::analysis {

struct EfficiencyOptions {
  std::vector<std::string> encodings = {"nope", "t5_bias", "alibi", "rotary", "abs_sin"};
  int length_from = 1, length_to = 2001, length_step = 100;  // L = from, from+step, ... <= to
  int reps = 3, warmup = 1;
};

struct EfficiencyPoint {
  std::string encoding;
  int length = 0;
  double train_step_s = 0, forward_s = 0, generate_s = 0;  // medians
  // Resident memory (MiB) added at the peak of one run of each operation on a fresh model
  // (weights, gradients and AdamW moments included where the operation has them); NaN where
  // the kernel does not let the process reset its peak (/proc/self/clear_refs).
  double train_peak_mib = 0, forward_peak_mib = 0, generate_peak_mib = 0;
};

std::vector<int> efficiency_lengths(const EfficiencyOptions& options);

// `base` is the model shape; its encoding is replaced by each of options.encodings.
// `progress` (may be empty) is called after each point.
std::vector<EfficiencyPoint> measure_efficiency(
    const ModelConfig& base, const EfficiencyOptions& options,
    const std::function<void(const EfficiencyPoint&)>& progress = {});

}  // namespace lengen::analysis
