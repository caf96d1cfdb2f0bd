// All parameters live in one contiguous fp32 buffer; each tensor is a named view (offset and
// shape) into it, and the gradients use the same layout in a second buffer (as in llm.c).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace lengen {

enum class Init { Zeros, Ones, Normal };

struct TensorSpec {
  std::string name;  // checkpoint name, e.g. "model.layers.0.self_attn.q_proj.weight"
  std::vector<int64_t> shape;
  size_t offset = 0;  // in floats, into the parameter buffer
  size_t numel = 0;
  Init init = Init::Normal;
  float init_std = 0;  // for Init::Normal
};

class ParameterLayout {
 public:
  // Returns the index of the new tensor. Names must be unique.
  int add(const std::string& name, std::vector<int64_t> shape, Init init, float init_std = 0);
  const TensorSpec& operator[](int index) const { return tensors_[index]; }
  const std::vector<TensorSpec>& tensors() const { return tensors_; }
  int find(const std::string& name) const;  // -1 if absent
  size_t total() const { return total_; }

 private:
  std::vector<TensorSpec> tensors_;
  size_t total_ = 0;
};

}  // namespace lengen
