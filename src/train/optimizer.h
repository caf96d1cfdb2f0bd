// AdamW with decoupled weight decay (which tensors decay is configurable), global
// gradient-norm clipping, and the learning-rate schedules of the papers.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "arch/param_layout.h"
#include "backend/backend.h"
#include "model/transformer.h"

namespace lengen {

struct OptimizerConfig {
  float lr = 1e-3f;
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
  float weight_decay = 0.0f;
  // Tensors whose name contains one of these substrings get no weight decay. Empty: every
  // tensor decays (the paper's setting, norms included).
  std::vector<std::string> no_decay;
  float grad_clip = 1.0f;  // max global L2 norm; 0 disables clipping
  // Per-tensor step size. false: every tensor steps by lr (plain AdamW). true ("init_std"):
  // each tensor's lr is multiplied by the standard deviation it was initialised with (1 for
  // norm gains and zero-initialised tensors), so every tensor moves by the same fraction of its
  // own scale, as Adafactor's parameter scaling does for T5. Under plain AdamW the t5 family's
  // N(0,1) embeddings move 64x more slowly, relative to their size, than its (D dh)^-1/2 queries.
  bool lr_scale_by_init = false;
};

struct ScheduleConfig {
  std::string kind = "linear";  // constant | linear | polynomial | cosine
  int64_t warmup_steps = 0;
  double warmup_fraction = 0;  // used when warmup_steps is 0: fraction of total steps
  float end_lr = 0.0f;         // value reached at the last step (decaying schedules)
  float power = 1.0f;          // polynomial decay exponent
};

// LR at 1-based step `step` of `total`: linear warm-up from 0 to peak, then the decay.
float learning_rate(const ScheduleConfig& s, float peak, int64_t step, int64_t total);

// AdamW over a model's parameters; its moments live in buffers of the model's backend.
class AdamW {
 public:
  AdamW(const Transformer& model, const OptimizerConfig& config);
  // Clips the model's gradients in place (if configured) and updates its parameters. Returns
  // the pre-clip gradient norm; a non-finite norm is an error (training diverged).
  double step(Transformer& model, float lr);
  int64_t steps_taken() const { return t_; }
  void set_steps_taken(int64_t t) { t_ = t; }
  // Explicit host copies of the moments (exp_avg, exp_avg_sq), in layout order.
  enum class Moment { First, Second };
  std::vector<float> moment_to_host(Moment which) const;
  void moment_from_host(Moment which, const std::vector<float>& host);
  bool decays(int tensor) const { return decay_[tensor] != 0; }

 private:
  const ParameterLayout& layout_;
  Backend& backend_;
  OptimizerConfig cfg_;
  Buffer m_, v_;
  std::vector<char> decay_;
  std::vector<float> lr_scale_;  // per tensor (OptimizerConfig::lr_scale_by_init)
  int64_t t_ = 0;
};

}  // namespace lengen
