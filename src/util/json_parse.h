// Strict JSON for every file a user hands lengen (configs, checkpoints' config.json, datasets,
// vocabularies, safetensors headers, sweep files, captures) and typed reads of its values.
// nlohmann::json alone stops at a NUL byte as if the text ended there, keeps the last of
// duplicate keys silently and converts between number types (true -> 1, 3.5 -> 3, 2^32 -> 0):
// these helpers make each of those an error that names the origin, line, column or key.
#pragma once
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "util/error.h"

namespace lengen {

// Nesting deeper than this is refused (no lengen file comes near it; it keeps recursive code
// such as dump() far from the stack's limit).
inline constexpr int kMaxJsonDepth = 64;

// Parses `text` as one JSON value. Errors ("<origin>: ...") name the line and column for a
// syntax error, a NUL byte (anywhere, also after the value), a duplicate key and nesting
// beyond kMaxJsonDepth.
nlohmann::json parse_json_text(std::string_view text, const std::string& origin);

// A short rendering of a value for error messages (at most ~80 characters).
std::string json_excerpt(const nlohmann::json& v);

// The value of key `key` (already looked up: `v`) as T, without conversions: bool only from
// true/false; integers only from JSON integers inside T's range; floating point from any
// JSON number that is finite in T; std::string only from strings. Errors read
// "<where>: key '<key>' must be ..., got <value>".
template <typename T>
T json_value_as(const nlohmann::json& v, const std::string& where, const std::string& key) {
  if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_boolean()) fail("{}: key '{}' must be true or false, got {}", where, key, json_excerpt(v));
    return v.get<bool>();
  } else if constexpr (std::is_integral_v<T>) {
    using L = std::numeric_limits<T>;
    bool ok = false;
    if (v.is_number_unsigned()) {
      ok = v.get<uint64_t>() <= uint64_t(L::max());
    } else if (v.is_number_integer()) {
      const int64_t x = v.get<int64_t>();
      ok = x >= 0 ? uint64_t(x) <= uint64_t(L::max()) : (L::is_signed && x >= int64_t(L::min()));
    }
    if (!ok)
      fail("{}: key '{}' must be an integer in [{}, {}], got {}", where, key, L::min(), L::max(),
           json_excerpt(v));
    return v.is_number_unsigned() ? T(v.get<uint64_t>()) : T(v.get<int64_t>());
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!v.is_number()) fail("{}: key '{}' must be a number, got {}", where, key, json_excerpt(v));
    const double d = v.get<double>();
    if (!(d >= -double(std::numeric_limits<T>::max()) && d <= double(std::numeric_limits<T>::max())))
      fail("{}: key '{}' must be a finite number, got {}", where, key, json_excerpt(v));
    return T(d);
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!v.is_string()) fail("{}: key '{}' must be a string, got {}", where, key, json_excerpt(v));
    return v.get<std::string>();
  } else {
    static_assert(!sizeof(T), "json_value_as: unsupported type");
  }
}

// j[key] as T when present and not null, else `fallback`. `j` must be an object.
template <typename T>
T json_get_or(const nlohmann::json& j, const char* key, T fallback, const std::string& where) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  return json_value_as<T>(*it, where, key);
}

}  // namespace lengen
