// safetensors (https://huggingface.co/docs/safetensors): 8-byte little-endian header length,
// JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {...}}, then raw
// little-endian data. The reader validates everything before use and names the file and
// tensor at fault; it never reads outside the buffer. As the format requires, the tensors'
// byte ranges must tile the data section exactly (no gap, no overlap, no trailing bytes), so a
// header length off by even one byte is caught; values read as fp32 must be finite.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace lengen::io {

struct SafeTensor {
  std::string dtype;             // "F32", "F16", "BF16", "F64", "I64", "I32", ...
  std::vector<int64_t> shape;
  size_t offset = 0, nbytes = 0;  // into SafetensorsFile::data
  int64_t numel() const;
};

class SafetensorsFile {
 public:
  // Throws lengen::Error("<path>: ...") on any malformed content.
  static SafetensorsFile load(const std::string& path);
  static SafetensorsFile parse(std::string bytes, const std::string& origin);

  bool has(const std::string& name) const { return tensors_.count(name) != 0; }
  const SafeTensor& info(const std::string& name) const;  // throws naming the tensor
  // Copies tensor `name` into dst as fp32 (F32 as is; F16/BF16/F64 converted), after checking
  // that its shape equals `expected_shape`. A NaN or infinite value (also one made by
  // converting an F64 beyond fp32's range) is an error naming the tensor and the index.
  void read_f32(const std::string& name, const std::vector<int64_t>& expected_shape,
                float* dst) const;
  // The tensor's raw little-endian bytes (numel * dtype size), row-major.
  std::string_view bytes(const std::string& name) const;
  std::vector<std::string> names() const;  // sorted
  // Elements of all tensors together: bounded by the file's size (every element takes a byte
  // at least), so a model no larger than this can be allocated safely.
  uint64_t total_elements() const { return total_elements_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& origin() const { return origin_; }

 private:
  std::string origin_;
  std::string data_;  // whole file
  size_t data_start_ = 0;
  uint64_t total_elements_ = 0;
  std::map<std::string, SafeTensor> tensors_;
  std::map<std::string, std::string> metadata_;
};

struct TensorToWrite {
  std::string name;
  std::vector<int64_t> shape;
  const float* data;  // numel floats, written as F32
};

// Serialises F32 tensors (sorted by name, 8-byte aligned header) and writes the file atomically.
void save_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                      const std::map<std::string, std::string>& metadata = {});
std::string serialize_safetensors(const std::vector<TensorToWrite>& tensors,
                                  const std::map<std::string, std::string>& metadata = {});

}  // namespace lengen::io
