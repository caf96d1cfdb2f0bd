// AdamW with decoupled weight decay (which tensors decay is configurable), global
// gradient-norm clipping, and the learning-rate schedules of the papers.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/params.h"

namespace lengen {

struct OptimizerConfig {
  float lr = 1e-3f;
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
  float weight_decay = 0.0f;
  // Tensors whose name contains one of these substrings get no weight decay. Empty: every
  // tensor decays (the paper's setting, norms included).
  std::vector<std::string> no_decay;
  float grad_clip = 1.0f;  // max global L2 norm; 0 disables clipping
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

class AdamW {
 public:
  AdamW(const ParameterLayout& layout, const OptimizerConfig& config);
  // Clips grads in place (if configured) and updates params. Returns the pre-clip grad norm.
  double step(std::vector<float>& params, std::vector<float>& grads, float lr);
  int64_t steps_taken() const { return t_; }
  void set_steps_taken(int64_t t) { t_ = t; }
  std::vector<float>& exp_avg() { return m_; }
  std::vector<float>& exp_avg_sq() { return v_; }
  bool decays(int tensor) const { return decay_[tensor] != 0; }

 private:
  const ParameterLayout& layout_;
  OptimizerConfig cfg_;
  std::vector<float> m_, v_;
  std::vector<char> decay_;
  int64_t t_ = 0;
};

}  // namespace lengen
