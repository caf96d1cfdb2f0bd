// The rotation shared by the rotary encodings (rotary on position ids, bipe_rope on segment
// ids): each (query, key) dimension pair of a head is rotated by p * theta_t (pair math in
// pe/rotary_math.h). The backward of a rotation is the rotation by the opposite angle.
#pragma once
#include <cstdint>
#include <vector>

namespace lengen {

class RotaryRotation {
 public:
  // interleaved: GPT-J pairs (2t, 2t+1); otherwise Llama half-split pairs (t, t + rdim/2).
  // inv_freq: the rotary_dim/2 frequencies (rotary_inv_freq); temperature: a scale of whole
  // heads (YaRN's attention factor; 1 otherwise), its own transpose in the backward.
  RotaryRotation(int n_heads, int d_head, int rotary_dim, bool interleaved,
                 std::vector<float> inv_freq, float temperature = 1.0f);
  // x: [n, H*dh] with row stride ld, rotated in place by sign * angle(positions[t]).
  void rotate(const int32_t* positions, int n, float* x, int ld, float sign) const;

 private:
  int H_, dh_, rdim_;
  bool interleaved_;
  std::vector<float> inv_freq_;
  float temperature_;
};

}  // namespace lengen
