#include "io/event_file.h"

#include <array>
#include <cstdint>
#include <cstring>

#include "util/error.h"

namespace lengen::io {

namespace {

std::array<uint32_t, 256> crc32c_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;  // reflected poly
    t[i] = c;
  }
  return t;
}

// TFRecord stores CRCs "masked" (rotated and offset) so that CRCs of CRCs stay well mixed.
uint32_t masked_crc(const void* data, size_t n) {
  const uint32_t c = crc32c(data, n);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

void put_le(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(char((v >> (8 * i)) & 0xff));
}

uint64_t get_le(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint64_t(uint8_t(p[i])) << (8 * i);
  return v;
}

// protobuf wire format: a key is (field << 3 | wire type); 0 varint, 1 fixed64, 2 bytes,
// 5 fixed32.
void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(char(v | 0x80));
    v >>= 7;
  }
  out.push_back(char(v));
}

void put_bytes(std::string& out, int field, std::string_view bytes) {
  put_varint(out, uint64_t(field) << 3 | 2);
  put_varint(out, bytes.size());
  out += bytes;
}

std::string event_head(double wall_time, int64_t step) {
  std::string e;
  uint64_t bits;
  std::memcpy(&bits, &wall_time, 8);
  put_varint(e, 1 << 3 | 1);
  put_le(e, bits, 8);
  if (step != 0) {
    put_varint(e, 2 << 3 | 0);
    put_varint(e, uint64_t(step));
  }
  return e;
}

// Reads the protobuf fields of `msg`: f(field, wire type, varint or fixed value, bytes).
template <typename F>
void for_each_field(std::string_view msg, const std::string& where, F&& f) {
  size_t at = 0;
  auto varint = [&]() -> uint64_t {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (at >= msg.size()) fail("{}: truncated varint", where);
      const uint8_t b = uint8_t(msg[at++]);
      v |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    fail("{}: varint longer than 10 bytes", where);
  };
  while (at < msg.size()) {
    const uint64_t key = varint();
    const int field = int(key >> 3), type = int(key & 7);
    uint64_t value = 0;
    std::string_view bytes;
    if (type == 0) {
      value = varint();
    } else if (type == 1 || type == 5) {
      const size_t n = type == 1 ? 8 : 4;
      if (msg.size() - at < n) fail("{}: truncated fixed field {}", where, field);
      value = get_le(msg.data() + at, int(n));
      at += n;
    } else if (type == 2) {
      const uint64_t n = varint();
      if (n > msg.size() - at) fail("{}: field {} runs past its message", where, field);
      bytes = msg.substr(at, n);
      at += n;
    } else {
      fail("{}: unsupported wire type {} (field {})", where, type, field);
    }
    f(field, type, value, bytes);
  }
}

}  // namespace

uint32_t crc32c(const void* data, size_t n) {
  static const std::array<uint32_t, 256> table = crc32c_table();
  const auto* p = static_cast<const uint8_t*>(data);
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; ++i) c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

std::string tfrecord(std::string_view payload) {
  std::string out, len;
  put_le(len, payload.size(), 8);
  out += len;
  put_le(out, masked_crc(len.data(), len.size()), 4);
  out += payload;
  put_le(out, masked_crc(payload.data(), payload.size()), 4);
  return out;
}

std::string version_record(double wall_time) {
  std::string e = event_head(wall_time, 0);
  put_bytes(e, 3, "brain.Event:2");
  return tfrecord(e);
}

std::string scalars_record(int64_t step, double wall_time, const Scalars& scalars) {
  if (scalars.empty()) return {};
  std::string summary;
  for (const auto& [tag, value] : scalars) {
    std::string v;
    put_bytes(v, 1, tag);
    uint32_t bits;
    std::memcpy(&bits, &value, 4);
    put_varint(v, 2 << 3 | 5);
    put_le(v, bits, 4);
    put_bytes(summary, 1, v);
  }
  std::string e = event_head(wall_time, step);
  put_bytes(e, 5, summary);
  return tfrecord(e);
}

std::vector<EventRecord> parse_event_file(std::string_view bytes, const std::string& origin) {
  std::vector<EventRecord> out;
  size_t at = 0;
  while (at < bytes.size()) {
    if (bytes.size() - at < 12) fail("{}: truncated record header at byte {}", origin, at);
    const uint64_t n = get_le(bytes.data() + at, 8);
    if (uint32_t(get_le(bytes.data() + at + 8, 4)) != masked_crc(bytes.data() + at, 8))
      fail("{}: bad length checksum at byte {}", origin, at);
    if (n > bytes.size() - at - 12 || bytes.size() - at - 12 - n < 4)
      fail("{}: record at byte {} runs past the end of the file", origin, at);
    const char* payload = bytes.data() + at + 12;
    if (uint32_t(get_le(payload + n, 4)) != masked_crc(payload, n))
      fail("{}: bad payload checksum at byte {}", origin, at);
    const std::string where = fmt::format("{}: event at byte {}", origin, at);
    EventRecord r;
    for_each_field(std::string_view(payload, n), where, [&](int field, int type, uint64_t v, std::string_view b) {
      if (field == 1 && type == 1) std::memcpy(&r.wall_time, &v, 8);
      if (field == 2 && type == 0) r.step = int64_t(v);
      if (field == 3 && type == 2) r.file_version = std::string(b);
      if (field != 5 || type != 2) return;
      for_each_field(b, where, [&](int, int vtype, uint64_t, std::string_view value) {
        if (vtype != 2) return;
        std::pair<std::string, float> scalar;
        for_each_field(value, where, [&](int f, int t, uint64_t x, std::string_view tag) {
          if (f == 1 && t == 2) scalar.first = std::string(tag);
          if (f == 2 && t == 5) {
            const uint32_t bits = uint32_t(x);
            std::memcpy(&scalar.second, &bits, 4);
          }
        });
        r.scalars.push_back(std::move(scalar));
      });
    });
    out.push_back(std::move(r));
    at += 12 + n + 4;
  }
  return out;
}

}  // namespace lengen::io
