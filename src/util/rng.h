// Deterministic random numbers that do not depend on the standard library's distributions
// (which differ between implementations) nor on the thread count.
#pragma once
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

// The counter-based functions below are also compiled for the GPU (backend/cuda/), so that
// dropout masks there are these, bit for bit.
#if defined(__CUDACC__)
#define LENGEN_HOST_DEVICE __host__ __device__
#else
#define LENGEN_HOST_DEVICE
#endif

namespace lengen {

LENGEN_HOST_DEVICE inline uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Counter-based stream: value k of stream `key` is splitmix64(key ^ splitmix64(k)). Used where
// many threads need reproducible randomness (dropout masks): no shared state to order.
LENGEN_HOST_DEVICE inline uint64_t hash_combine(uint64_t key, uint64_t k) { return splitmix64(key ^ splitmix64(k)); }

// Uniform in [0, 1) with 24 random bits (exactly representable as float).
LENGEN_HOST_DEVICE inline float uniform01_from_bits(uint64_t bits) { return float(bits >> 40) * (1.0f / 16777216.0f); }

// Sequential generator (xoshiro256**), seeded through the splitmix64 sequence of the seed.
// Fully specified (no std distributions, whose draws are implementation-defined), so the same
// seed gives the same datasets and weights on every platform.
class Rng {
 public:
  explicit Rng(uint64_t seed = 0) { reseed(seed); }
  void reseed(uint64_t seed) {
    for (int i = 0; i < 4; ++i) s_[i] = splitmix64(seed + uint64_t(i) * 0x9E3779B97F4A7C15ull);
  }
  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform integer in [0, n) without modulo bias (Lemire's method, rejection on the low part).
  uint64_t below(uint64_t n) {
    for (;;) {
      const __uint128_t m = (__uint128_t)next() * n;
      const uint64_t low = (uint64_t)m;
      if (low >= n || low >= (-n) % n) return (uint64_t)(m >> 64);
    }
  }
  // Uniform integer in [lo, hi] (inclusive).
  int64_t uniform(int64_t lo, int64_t hi) { return lo + int64_t(below(uint64_t(hi - lo) + 1)); }
  // Uniform double in [0, 1) with 53 random bits.
  double uniform() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }
  // Fisher-Yates with our own integers (std::shuffle's draws are unspecified).
  template <typename T>
  void shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
  }
  // An independent child stream (e.g. one per split).
  Rng fork() { return Rng(next()); }
  // Standard normal by Box-Muller (both values drawn fresh each call: simple and stateless).
  double normal() {
    double u1 = uniform();
    const double u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  const uint64_t* state() const { return s_; }
  void set_state(const uint64_t s[4]) {
    for (int i = 0; i < 4; ++i) s_[i] = s[i];
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace lengen
