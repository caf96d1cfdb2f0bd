#include "train/optimizer.h"

#include <cmath>

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

AdamW::AdamW(const Transformer& model, const OptimizerConfig& config)
    : layout_(model.layout()), backend_(model.backend()), cfg_(config) {
  const size_t bytes = layout_.total() * sizeof(float);
  m_ = Buffer(backend_, bytes);
  v_ = Buffer(backend_, bytes);
  for (const auto& t : layout_.tensors()) {
    bool decay = cfg_.weight_decay > 0;
    for (const auto& pattern : cfg_.no_decay)
      if (t.name.find(pattern) != std::string::npos) decay = false;
    decay_.push_back(decay);
    const bool scaled = cfg_.lr_scale_by_init && t.init == Init::Normal && t.init_std > 0;
    lr_scale_.push_back(scaled ? t.init_std : 1.0f);
  }
}

double AdamW::step(Transformer& model, float lr) {
  Backend& be = backend_;
  const size_t n = layout_.total();
  float* params = model.param(0);
  float* grads = model.grad(0);
  // The padding between tensors holds zeros in both buffers, so whole-buffer norms are exact.
  const double norm = std::sqrt(be.sum_squares(grads, n));
  if (!std::isfinite(norm)) fail("gradient norm is {} at step {}: training diverged", norm, t_ + 1);
  // As torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when that is < 1.
  const double coef = cfg_.grad_clip / (norm + 1e-6);
  if (cfg_.grad_clip > 0 && coef < 1.0) be.scale(grads, n, float(coef));
  ++t_;
  AdamWStep p{lr, cfg_.beta1, cfg_.beta2, cfg_.eps, cfg_.weight_decay, t_};
  const auto& tensors = layout_.tensors();
  for (size_t i = 0; i < tensors.size(); ++i) {
    const size_t o = tensors[i].offset;
    p.lr = lr * lr_scale_[i];
    be.adamw_update(params + o, grads + o, m_.f32(o), v_.f32(o), tensors[i].numel, p, decay_[i]);
  }
  return norm;
}

std::vector<float> AdamW::moment_to_host(Moment which) const {
  return download(backend_, (which == Moment::First ? m_ : v_).f32(), layout_.total());
}

void AdamW::moment_from_host(Moment which, const std::vector<float>& host) {
  if (host.size() != layout_.total())
    fail("optimizer state: {} values for a layout of {}", host.size(), layout_.total());
  upload(backend_, (which == Moment::First ? m_ : v_).f32(), host);
}

}  // namespace lengen
