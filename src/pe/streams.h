// The per-token position streams an encoding can read. Callers supply `Position` (position
// ids: 0, 1, 2, ... or task-supplied ones) and, for encodings that read it, `DigitPlace` (the
// significance of each digit within its number, from the task data: abacus). The encodings
// derive the other streams from the tokens themselves (`Segment`, `IntraSegment`: the bilevel
// encodings), so no caller ever computes an encoding's streams.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace lengen {

enum class Stream { Position, DigitPlace, Segment, IntraSegment };
constexpr int kNumStreams = 4;
const char* stream_name(Stream s);

// Read-only views of the streams of n tokens ([n] each; null: absent).
struct TokenStreams {
  const int32_t* of[kNumStreams] = {};
  const int32_t* operator[](Stream s) const { return of[int(s)]; }
  TokenStreams offset(size_t t) const {
    TokenStreams r;
    for (int s = 0; s < kNumStreams; ++s) r.of[s] = of[s] ? of[s] + t : nullptr;
    return r;
  }
};

// Owned streams (empty vector: absent).
struct StreamSet {
  std::vector<int32_t> of[kNumStreams];
  std::vector<int32_t>& operator[](Stream s) { return of[int(s)]; }
  const std::vector<int32_t>& operator[](Stream s) const { return of[int(s)]; }
  TokenStreams view(size_t offset = 0) const {
    TokenStreams r;
    for (int s = 0; s < kNumStreams; ++s) r.of[s] = of[s].empty() ? nullptr : of[s].data() + offset;
    return r;
  }
};

// Where an encoding writes the streams it derives ([n] each; null: not derived).
struct DerivedStreams {
  int32_t* of[kNumStreams] = {};
  int32_t* operator[](Stream s) const { return of[int(s)]; }
};

// An encoding's per-row state for deriving streams token by token (the bilevel encodings: the
// segment count and the tokens since the last delimiter), so that a row fed in pieces (KV-cache
// decoding) gets the streams it would get in one piece. Its meaning is the encoding's own.
struct StreamState {
  int32_t value[2] = {0, 0};
};

}  // namespace lengen
