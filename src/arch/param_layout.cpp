#include "arch/param_layout.h"

#include "util/error.h"

namespace lengen {
namespace {
thread_local const ParameterBudget* g_budget = nullptr;
}  // namespace

ParameterBudget::ParameterBudget(uint64_t max_elements, std::string what)
    : max_(max_elements), what_(std::move(what)), previous_(g_budget) {
  g_budget = this;
}
ParameterBudget::~ParameterBudget() { g_budget = previous_; }
const ParameterBudget* ParameterBudget::current() { return g_budget; }

int ParameterLayout::add(const std::string& name, std::vector<int64_t> shape, Init init,
                         float init_std) {
  if (index_.count(name)) fail("duplicate parameter name '{}'", name);
  TensorSpec t;
  t.name = name;
  // Sizes come from configs the caller validated; still, a product that overflows (or a
  // negative dimension) is refused rather than wrapped.
  uint64_t numel = 1;
  for (int64_t d : shape) {
    if (d < 0 || (d != 0 && numel > (uint64_t(1) << 50) / uint64_t(d)))
      fail("parameter '{}': shape [{}] is too large", name, fmt::join(shape, ", "));
    numel *= uint64_t(d);
  }
  if (const ParameterBudget* b = ParameterBudget::current(); b && numel_ + numel > b->max_elements())
    fail("{}: the config needs tensor '{}' of shape [{}], which takes the model to {} parameters, "
         "more than the {} that file can back (the config's sizes do not match the weights)",
         b->what(), name, fmt::join(shape, ", "), numel_ + numel, b->max_elements());
  t.numel = size_t(numel);
  t.shape = std::move(shape);
  t.offset = total_;
  t.init = init;
  t.init_std = init_std;
  // Keep every tensor 16-float aligned (64 bytes) for vector loads.
  total_ += (t.numel + 15) / 16 * 16;
  numel_ += t.numel;
  index_.emplace(t.name, int(tensors_.size()));
  tensors_.push_back(std::move(t));
  return int(tensors_.size()) - 1;
}

int ParameterLayout::find(const std::string& name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? -1 : it->second;
}

}  // namespace lengen
