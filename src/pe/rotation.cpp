#include "pe/rotation.h"

#include "pe/rotary_math.h"
#include "util/error.h"

namespace lengen {

RotaryRotation::RotaryRotation(int n_heads, int d_head, int rotary_dim, bool interleaved,
                               std::vector<float> inv_freq, float temperature)
    : H_(n_heads), dh_(d_head), rdim_(rotary_dim), interleaved_(interleaved),
      inv_freq_(std::move(inv_freq)), temperature_(temperature) {
  if (int(inv_freq_.size()) != rdim_ / 2 || rdim_ / 2 > 512)
    fail("rotary: {} frequencies for rotary_dim {} (at most 1024)", inv_freq_.size(), rdim_);
}

void RotaryRotation::rotate(const int32_t* positions, int n, float* x, int ld, float sign) const {
  const int half = rdim_ / 2;
#pragma omp parallel for schedule(static)
  for (int t = 0; t < n; ++t) {
    float cs[512], sn[512];  // half <= 512 checked at construction
    rotary_angles(positions[t], inv_freq_, sign, cs, sn);
    float* v = x + size_t(t) * ld;
    rotate_token_pairs(v, H_, dh_, half, interleaved_, cs, sn, nullptr);
    if (temperature_ != 1.0f)
      for (int d = 0; d < H_ * dh_; ++d) v[d] *= temperature_;
  }
}

}  // namespace lengen
