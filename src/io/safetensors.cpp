#include "io/safetensors.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
#include "io/dtype.h"
#include "util/error.h"
#include "util/json_parse.h"

namespace lengen::io {

int64_t SafeTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

SafetensorsFile SafetensorsFile::load(const std::string& path) {
  return parse(read_file(path), path);
}

SafetensorsFile SafetensorsFile::parse(std::string bytes, const std::string& origin) {
  SafetensorsFile f;
  f.origin_ = origin;
  f.data_ = std::move(bytes);
  if (f.data_.size() < 8) fail("{}: not a safetensors file (only {} bytes)", origin, f.data_.size());
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | uint8_t(f.data_[i]);
  if (header_len > f.data_.size() - 8)
    fail("{}: truncated or corrupt: header length {} exceeds the file's {} bytes", origin,
         header_len, f.data_.size());
  f.data_start_ = 8 + header_len;
  const size_t data_len = f.data_.size() - f.data_start_;
  // The header is a JSON object, padded with trailing spaces only; a length that cuts it (or
  // takes data bytes into it) shows up here or in the tiling check below.
  const std::string_view header_text(f.data_.data() + 8, header_len);
  if (header_text.empty() || header_text.front() != '{')
    fail("{}: corrupt header: it must start with '{{' (header length {})", origin, header_len);
  const nlohmann::json header = parse_json_text(header_text, origin + ": header");
  if (!header.is_object()) fail("{}: header is not a JSON object", origin);
  std::vector<std::pair<size_t, size_t>> ranges;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const auto& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) fail("{}: __metadata__ must be an object of strings", origin);
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) fail("{}: __metadata__.{} is not a string", origin, m.key());
        f.metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") ||
        !v.contains("data_offsets"))
      fail("{}: tensor '{}': entry needs dtype, shape and data_offsets", origin, name);
    for (auto k = v.begin(); k != v.end(); ++k)
      if (k.key() != "dtype" && k.key() != "shape" && k.key() != "data_offsets")
        fail("{}: tensor '{}': unknown key '{}' (allowed: dtype, shape, data_offsets)", origin,
             name, k.key());
    SafeTensor t;
    if (!v["dtype"].is_string()) fail("{}: tensor '{}': dtype is not a string", origin, name);
    t.dtype = v["dtype"].get<std::string>();
    const size_t esize = dtype_size(t.dtype);
    if (esize == 0) fail("{}: tensor '{}': unknown dtype '{}'", origin, name, t.dtype);
    if (!v["shape"].is_array()) fail("{}: tensor '{}': shape is not an array", origin, name);
    uint64_t numel = 1;
    for (const auto& d : v["shape"]) {
      if (!d.is_number_unsigned())
        fail("{}: tensor '{}': bad dimension {}", origin, name, json_excerpt(d));
      const uint64_t dim = d.get<uint64_t>();
      if (dim != 0 && numel > std::numeric_limits<uint32_t>::max() * uint64_t(64) / dim)
        fail("{}: tensor '{}': shape too large", origin, name);
      numel *= dim;
      t.shape.push_back(int64_t(dim));
    }
    const auto& off = v["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() ||
        !off[1].is_number_unsigned())
      fail("{}: tensor '{}': data_offsets must be two non-negative integers", origin, name);
    const uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
    if (begin > end || end > data_len)
      fail("{}: tensor '{}': data_offsets [{}, {}] outside the {} data bytes (truncated file?)",
           origin, name, begin, end, data_len);
    if (end - begin != numel * esize)
      fail("{}: tensor '{}': {} bytes for shape of {} {} elements", origin, name, end - begin,
           numel, t.dtype);
    t.offset = f.data_start_ + begin;
    t.nbytes = end - begin;
    ranges.emplace_back(begin, end);
    f.total_elements_ += numel;
    f.tensors_.emplace(name, std::move(t));
  }
  // The data section is exactly the tensors' bytes, in some order: no gap, no overlap, nothing
  // after the last one (the format forbids holes; a header length off by a byte shifts every
  // range and leaves a stray byte).
  std::sort(ranges.begin(), ranges.end());
  size_t covered = 0;
  for (const auto& [begin, end] : ranges) {
    if (begin < covered) fail("{}: corrupt: tensor data ranges overlap at byte {}", origin, begin);
    if (begin > covered)
      fail("{}: corrupt: data bytes [{}, {}) belong to no tensor (wrong header length?)", origin,
           covered, begin);
    covered = end;
  }
  if (covered != data_len)
    fail("{}: corrupt: {} trailing bytes after the last tensor's data (the data section has {} "
         "bytes, the tensors {}; wrong header length or appended bytes?)",
         origin, data_len - covered, data_len, covered);
  return f;
}

const SafeTensor& SafetensorsFile::info(const std::string& name) const {
  const auto it = tensors_.find(name);
  if (it == tensors_.end()) fail("{}: missing tensor '{}'", origin_, name);
  return it->second;
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  for (const auto& [name, t] : tensors_) out.push_back(name);
  return out;
}

void SafetensorsFile::read_f32(const std::string& name, const std::vector<int64_t>& expected_shape,
                               float* dst) const {
  const SafeTensor& t = info(name);
  if (t.shape != expected_shape)
    fail("{}: tensor '{}' has shape [{}], expected [{}]", origin_, name,
         fmt::join(t.shape, ", "), fmt::join(expected_shape, ", "));
  convert_to_f32(t.dtype, data_.data() + t.offset, t.numel(), dst, origin_, name);
}

std::string_view SafetensorsFile::bytes(const std::string& name) const {
  const SafeTensor& t = info(name);
  return std::string_view(data_.data() + t.offset, t.nbytes);
}

std::string serialize_safetensors(const std::vector<TensorToWrite>& tensors,
                                  const std::map<std::string, std::string>& metadata) {
  std::vector<const TensorToWrite*> sorted;
  for (const auto& t : tensors) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(),
            [](const auto* a, const auto* b) { return a->name < b->name; });
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  size_t offset = 0;
  for (const auto* t : sorted) {
    int64_t n = 1;
    for (int64_t d : t->shape) n *= d;
    header[t->name] = {{"dtype", "F32"}, {"shape", t->shape},
                       {"data_offsets", {offset, offset + size_t(n) * 4}}};
    offset += size_t(n) * 4;
  }
  std::string h = header.dump();
  while ((8 + h.size()) % 8 != 0) h.push_back(' ');  // align the data to 8 bytes
  std::string out(8, '\0');
  uint64_t len = h.size();
  for (int i = 0; i < 8; ++i) out[i] = char((len >> (8 * i)) & 0xff);
  out += h;
  out.reserve(out.size() + offset);
  for (const auto* t : sorted) {
    int64_t n = 1;
    for (int64_t d : t->shape) n *= d;
    out.append(reinterpret_cast<const char*>(t->data), size_t(n) * 4);
  }
  return out;
}

void save_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  write_file_atomic(path, serialize_safetensors(tensors, metadata));
}

}  // namespace lengen::io
