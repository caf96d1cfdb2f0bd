#include "train/optimizer.h"

#include <cmath>

#include "kernels/cpu/kernels.h"
#include "util/error.h"

namespace lengen {

float learning_rate(const ScheduleConfig& s, float peak, int64_t step, int64_t total) {
  int64_t warmup = s.warmup_steps;
  if (warmup == 0 && s.warmup_fraction > 0) warmup = int64_t(std::llround(s.warmup_fraction * total));
  if (step <= warmup && warmup > 0) return peak * float(step) / float(warmup);
  if (s.kind == "constant") return peak;
  const int64_t span = std::max<int64_t>(1, total - warmup);
  const double progress = std::min(1.0, double(step - warmup) / double(span));
  if (s.kind == "linear") return float(peak + (s.end_lr - peak) * progress);
  if (s.kind == "polynomial")
    return float(s.end_lr + (peak - s.end_lr) * std::pow(1.0 - progress, double(s.power)));
  if (s.kind == "cosine")
    return float(s.end_lr + 0.5 * (peak - s.end_lr) * (1.0 + std::cos(M_PI * progress)));
  fail("schedule kind '{}' unknown; allowed: constant, linear, polynomial, cosine", s.kind);
}

AdamW::AdamW(const ParameterLayout& layout, const OptimizerConfig& config)
    : layout_(layout), cfg_(config) {
  m_.assign(layout.total(), 0.0f);
  v_.assign(layout.total(), 0.0f);
  for (const auto& t : layout.tensors()) {
    bool decay = cfg_.weight_decay > 0;
    for (const auto& pattern : cfg_.no_decay)
      if (t.name.find(pattern) != std::string::npos) decay = false;
    decay_.push_back(decay);
  }
}

double AdamW::step(std::vector<float>& params, std::vector<float>& grads, float lr) {
  // The padding between tensors holds zeros in both buffers, so whole-buffer norms are exact.
  const double norm = std::sqrt(kernels::sum_squares(grads.data(), grads.size()));
  if (!std::isfinite(norm)) fail("gradient norm is {} at step {}: training diverged", norm, t_ + 1);
  // As torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when that is < 1.
  const double coef = cfg_.grad_clip / (norm + 1e-6);
  if (cfg_.grad_clip > 0 && coef < 1.0) kernels::scale_inplace(grads.data(), grads.size(), float(coef));
  ++t_;
  const kernels::AdamWParams p{lr, cfg_.beta1, cfg_.beta2, cfg_.eps, cfg_.weight_decay, t_};
  const auto& tensors = layout_.tensors();
  for (size_t i = 0; i < tensors.size(); ++i) {
    const size_t o = tensors[i].offset;
    kernels::adamw_update(params.data() + o, grads.data() + o, m_.data() + o, v_.data() + o,
                          tensors[i].numel, p, decay_[i]);
  }
  return norm;
}

}  // namespace lengen
