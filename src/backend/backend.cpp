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
MatmulPrecision default_precision_ = MatmulPrecision::fp32;
}  // namespace

MatmulPrecision parse_matmul_precision(const std::string& name) {
  if (name == "fp32") return MatmulPrecision::fp32;
  if (name == "bf16") return MatmulPrecision::bf16;
  fail("unknown precision '{}'; valid: fp32, bf16", name);
}

const char* matmul_precision_name(MatmulPrecision p) {
  return p == MatmulPrecision::bf16 ? "bf16" : "fp32";
}

MatmulPrecision default_matmul_precision() { return default_precision_; }

Backend& default_backend() { return default_backend_ ? *default_backend_ : cpu_backend(); }

void set_default_backend(const std::string& name) {
  default_backend_ = &backend_named(name);
  if (default_precision_ != MatmulPrecision::fp32)
    default_backend_->set_matmul_precision(default_precision_);
}

void set_default_matmul_precision(MatmulPrecision p) {
  default_backend().set_matmul_precision(p);
  default_precision_ = p;
}

}  // namespace lengen
