#include "pe/rotation.h"

#include <cmath>

namespace lengen {

RotaryRotation::RotaryRotation(int n_heads, int d_head, int rotary_dim, bool interleaved,
                               double base)
    : H_(n_heads), dh_(d_head), rdim_(rotary_dim), interleaved_(interleaved) {
  // inv_freq in float32, then angle = float(p) * inv_freq in float32, as HF computes it.
  for (int t = 0; t < rdim_ / 2; ++t)
    inv_freq_.push_back(1.0f / float(std::pow(base, double(2 * t) / rdim_)));
}

void RotaryRotation::rotate(const int32_t* positions, int n, float* x, int ld, float sign) const {
  const int half = rdim_ / 2;
#pragma omp parallel for schedule(static)
  for (int t = 0; t < n; ++t) {
    float cs[512], sn[512];  // rdim/2 <= 512 checked when the options are read
    for (int i = 0; i < half; ++i) {
      const float angle = float(positions[t]) * inv_freq_[i];
      cs[i] = float(std::cos(double(angle)));
      sn[i] = sign * float(std::sin(double(angle)));
    }
    for (int h = 0; h < H_; ++h) {
      float* v = x + size_t(t) * ld + size_t(h) * dh_;
      for (int i = 0; i < half; ++i) {
        const int a = interleaved_ ? 2 * i : i;
        const int b = interleaved_ ? 2 * i + 1 : i + half;
        const float xa = v[a], xb = v[b];
        v[a] = xa * cs[i] - xb * sn[i];
        v[b] = xa * sn[i] + xb * cs[i];
      }
    }
  }
}

}  // namespace lengen
