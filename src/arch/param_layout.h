// All parameters live in one contiguous fp32 buffer; each tensor is a named view (offset and
// shape) into it, and the gradients use the same layout in a second buffer (as in llm.c).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
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
  // Returns the index of the new tensor. Names must be unique (checked in O(1)). While a
  // ParameterBudget is alive on this thread, a tensor that takes the layout's element count
  // beyond it is an error naming the tensor, raised before anything is allocated.
  int add(const std::string& name, std::vector<int64_t> shape, Init init, float init_std = 0);
  const TensorSpec& operator[](int index) const { return tensors_[index]; }
  const std::vector<TensorSpec>& tensors() const { return tensors_; }
  int find(const std::string& name) const;  // -1 if absent
  size_t total() const { return total_; }
  size_t numel() const { return numel_; }  // elements without alignment padding

 private:
  std::vector<TensorSpec> tensors_;
  std::unordered_map<std::string, int> index_;
  size_t total_ = 0, numel_ = 0;
};

// The most parameters a layout built on this thread may hold while the budget is alive, e.g.
// the number of elements stored in the weights file a model is about to be loaded from: a
// config that asks for more is rejected before its buffer is allocated. `what` names the file
// in the error. Budgets nest (the innermost applies).
class ParameterBudget {
 public:
  ParameterBudget(uint64_t max_elements, std::string what);
  ~ParameterBudget();
  ParameterBudget(const ParameterBudget&) = delete;
  ParameterBudget& operator=(const ParameterBudget&) = delete;
  uint64_t max_elements() const { return max_; }
  const std::string& what() const { return what_; }
  static const ParameterBudget* current();

 private:
  uint64_t max_;
  std::string what_;
  const ParameterBudget* previous_;
};

}  // namespace lengen
