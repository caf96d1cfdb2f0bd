// Element types of tensor files, named as safetensors names them ("F32", "F16", "BF16", "F64",
// "I64", "I32", "I16", "I8", "U8", "BOOL", ...), and their conversions from raw little-endian
// bytes: shared by every reader of src/io/ (safetensors, torch.save checkpoints).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace lengen::io {

size_t dtype_size(const std::string& dtype);  // bytes per element; 0 for an unknown dtype
bool is_float_dtype(const std::string& dtype);  // F64, F32, F16, BF16
float half_to_float(uint16_t h);                // IEEE binary16 -> fp32 (exact)

// Converts `n` elements of `dtype` at `src` to fp32: F32 as is, F16/BF16/F64 converted. Another
// dtype is an error, and so is a NaN or infinite result (also one made by converting an F64
// beyond fp32's range), naming `origin`, `tensor` and the index.
void convert_to_f32(const std::string& dtype, const char* src, int64_t n, float* dst,
                    const std::string& origin, const std::string& tensor);

// Element `i` of raw `dtype` data as fp64 (exact for every dtype except I64/U64 beyond 2^53);
// `dtype` must be known (dtype_size != 0).
double element_to_f64(const std::string& dtype, const char* src, int64_t i);

}  // namespace lengen::io
