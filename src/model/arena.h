// Carves typed views out of one buffer (64-byte aligned each). Run once without a base to size
// the buffer, then again over it.
#pragma once
#include <cstddef>
#include <cstdint>

namespace lengen {

class Carver {
 public:
  explicit Carver(void* base = nullptr) : base_(static_cast<char*>(base)) {}
  template <typename T>
  T* take(size_t n) {
    const size_t at = used_;
    used_ += (n * sizeof(T) + 63) / 64 * 64;
    return base_ ? reinterpret_cast<T*>(base_ + at) : nullptr;
  }
  size_t used() const { return used_; }

 private:
  char* base_;
  size_t used_ = 0;
};

}  // namespace lengen
