#include "backend/backend.h"

#include <utility>

#include "backend/cpu/cpu_backend.h"
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
std::vector<std::string> backend_names() { return {"cpu"}; }

Backend& backend_named(const std::string& name) {
  if (name == "cpu") return cpu_backend();
  fail("unknown device '{}'; this build has: {}", name, fmt::join(backend_names(), ", "));
}

namespace {
Backend* default_backend_ = nullptr;
}

Backend& default_backend() { return default_backend_ ? *default_backend_ : cpu_backend(); }

void set_default_backend(const std::string& name) { default_backend_ = &backend_named(name); }

}  // namespace lengen
