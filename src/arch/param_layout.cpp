#include "arch/param_layout.h"

#include "util/error.h"

namespace lengen {

int ParameterLayout::add(const std::string& name, std::vector<int64_t> shape, Init init,
                         float init_std) {
  if (find(name) >= 0) fail("duplicate parameter name '{}'", name);
  TensorSpec t;
  t.name = name;
  t.numel = 1;
  for (int64_t d : shape) t.numel *= size_t(d);
  t.shape = std::move(shape);
  t.offset = total_;
  t.init = init;
  t.init_std = init_std;
  // Keep every tensor 16-float aligned (64 bytes) for vector loads.
  total_ += (t.numel + 15) / 16 * 16;
  tensors_.push_back(std::move(t));
  return int(tensors_.size()) - 1;
}

int ParameterLayout::find(const std::string& name) const {
  for (size_t i = 0; i < tensors_.size(); ++i)
    if (tensors_[i].name == name) return int(i);
  return -1;
}

}  // namespace lengen
