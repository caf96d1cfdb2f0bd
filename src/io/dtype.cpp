#include "io/dtype.h"

#include <cmath>
#include <cstring>
#include <map>

#include "util/error.h"

namespace lengen::io {

size_t dtype_size(const std::string& dtype) {
  static const std::map<std::string, size_t> sizes = {
      {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4},
      {"I16", 2}, {"I8", 1},  {"U8", 1},  {"BOOL", 1}, {"U16", 2}, {"U32", 4}, {"U64", 8}};
  const auto it = sizes.find(dtype);
  return it == sizes.end() ? 0 : it->second;
}

bool is_float_dtype(const std::string& dtype) {
  return dtype == "F32" || dtype == "F16" || dtype == "BF16" || dtype == "F64";
}

float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      exp = 127 - 15 + 1;
      while (!(mant & 0x400)) { mant <<= 1; --exp; }
      bits = sign | (exp << 23) | ((mant & 0x3ff) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

namespace {

template <typename T>
T load(const char* src, int64_t i) {
  T v;
  std::memcpy(&v, src + sizeof(T) * size_t(i), sizeof(T));
  return v;
}

float bf16_to_float(uint16_t h) {
  const uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

}  // namespace

void convert_to_f32(const std::string& dtype, const char* src, int64_t n, float* dst,
                    const std::string& origin, const std::string& tensor) {
  if (n == 0) return;  // nothing to copy (dst may be null)
  if (dtype == "F32") {
    std::memcpy(dst, src, size_t(n) * 4);
  } else if (dtype == "F16") {
    for (int64_t i = 0; i < n; ++i) dst[i] = half_to_float(load<uint16_t>(src, i));
  } else if (dtype == "BF16") {
    for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_float(load<uint16_t>(src, i));
  } else if (dtype == "F64") {
    for (int64_t i = 0; i < n; ++i) dst[i] = float(load<double>(src, i));
  } else {
    fail("{}: tensor '{}' has dtype {}, expected a floating-point dtype", origin, tensor, dtype);
  }
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(dst[i]))
      fail("{}: tensor '{}' holds a non-finite value ({}) at index {} (corrupt or diverged weights)",
           origin, tensor, dst[i], i);
}

double element_to_f64(const std::string& dtype, const char* src, int64_t i) {
  if (dtype == "F32") return load<float>(src, i);
  if (dtype == "F16") return half_to_float(load<uint16_t>(src, i));
  if (dtype == "BF16") return bf16_to_float(load<uint16_t>(src, i));
  if (dtype == "F64") return load<double>(src, i);
  if (dtype == "I64") return double(load<int64_t>(src, i));
  if (dtype == "I32") return load<int32_t>(src, i);
  if (dtype == "I16") return load<int16_t>(src, i);
  if (dtype == "I8") return load<int8_t>(src, i);
  if (dtype == "U8") return load<uint8_t>(src, i);
  if (dtype == "BOOL") return load<uint8_t>(src, i) != 0 ? 1.0 : 0.0;
  if (dtype == "U16") return load<uint16_t>(src, i);
  if (dtype == "U32") return load<uint32_t>(src, i);
  if (dtype == "U64") return double(load<uint64_t>(src, i));
  fail("element_to_f64: unknown dtype {}", dtype);
}

}  // namespace lengen::io
