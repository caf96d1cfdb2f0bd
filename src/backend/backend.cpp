#include "backend/backend.h"

#include <optional>
#include <utility>

#include "backend/cpu/cpu_backend.h"
#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/launch.h"
#include "util/error.h"

namespace lengen {

Buffer::Buffer(Backend& backend, size_t bytes)
    : backend_(&backend), data_(backend.alloc(bytes)), bytes_(bytes) {}

Buffer::~Buffer() {
  if (backend_ && data_) backend_->free(data_);
}

Buffer::Buffer(Buffer&& other) noexcept
    : backend_(std::exchange(other.backend_, nullptr)),
      data_(std::exchange(other.data_, nullptr)),
      bytes_(std::exchange(other.bytes_, 0)) {}

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  if (this != &other) {
    if (backend_ && data_) backend_->free(data_);
    backend_ = std::exchange(other.backend_, nullptr);
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

// The backends of this build. A GPU backend adds its line here.
std::vector<std::string> backend_names() {
#if LENGEN_CUDA
  return {"cpu", "cuda", "cuda:N"};
#else
  return {"cpu"};
#endif
}

Backend& backend_named(const std::string& name) {
  if (name == "cpu") return cpu_backend();
  if (const std::optional<int> device = cuda::parse_device_name(name)) {
#if LENGEN_CUDA
    return cuda_backend(*device);
#else
    fail("device '{}': this build has no CUDA backend (configure with -DLENGEN_CUDA=ON on a "
         "machine with the CUDA toolkit)", name);
#endif
  }
  fail("unknown device '{}'; this build has: {}", name, fmt::join(backend_names(), ", "));
}

namespace {
Backend* default_backend_ = nullptr;
}

Backend& default_backend() { return default_backend_ ? *default_backend_ : cpu_backend(); }

void set_default_backend(const std::string& name) { default_backend_ = &backend_named(name); }

}  // namespace lengen
