// Shared math of the rotary family (rotary, xpos): the rotated pairs of a head, the rotation
// frequencies (with the inference-time context-extension rules of `rotary`) and the rotation
// of one token's queries or keys. Kept here so that every rotary-based encoding rotates the
// same pairs the same way.
#pragma once
#include <cmath>
#include <string>
#include <vector>

namespace lengen {

struct RotarySettings;

// Context extension of RoPE at inference (no retraining), `pe.scaling` of `rotary`:
//   none   theta_t = base^(-2t/rdim)
//   linear position interpolation (Chen et al. 2023): theta_t / factor
//   ntk    NTK-aware base change: base' = base * factor^(rdim / (rdim - 2))
//   yarn   NTK-by-parts (Peng et al. 2023): per pair, a ramp between the interpolated
//          (theta/factor) and the original frequency by the number of rotations the pair
//          makes over `original_max_positions` (beta_fast / beta_slow bounds), plus the
//          attention temperature: queries and keys scaled by 0.1 ln(factor) + 1.
struct RopeScaling {
  std::string kind = "none";
  double factor = 1.0;
  int original_max_positions = 0;  // yarn: the training context length
  double beta_fast = 32.0, beta_slow = 1.0;
};

// The rdim/2 rotation frequencies in float32 (as HF computes them: inv_freq in float32, then
// angle = float(p) * inv_freq in float32).
std::vector<float> rotary_inv_freq(int rotary_dim, double base, const RopeScaling& scaling);
// YaRN's query/key scale sqrt(1/t) = 0.1 ln(factor) + 1 (1 for the other kinds).
double rotary_attention_factor(const RopeScaling& scaling);

// Rotates the rdim/2 pairs of each of H heads of one token's vector v (head stride dh) by the
// angles whose cosines/sines are cs/sn, each pair additionally multiplied by pair_scale[i]
// (null: 1). Interleaved pairs are (2i, 2i+1) (GPT-J); otherwise (i, i + rdim/2) (Llama).
inline void rotate_token_pairs(float* v, int H, int dh, int half, bool interleaved,
                               const float* cs, const float* sn, const float* pair_scale) {
  for (int h = 0; h < H; ++h) {
    float* x = v + size_t(h) * dh;
    for (int i = 0; i < half; ++i) {
      const int a = interleaved ? 2 * i : i;
      const int b = interleaved ? 2 * i + 1 : i + half;
      const float s = pair_scale ? pair_scale[i] : 1.0f;
      const float xa = x[a], xb = x[b];
      x[a] = s * (xa * cs[i] - xb * sn[i]);
      x[b] = s * (xa * sn[i] + xb * cs[i]);
    }
  }
}

// cos/sin of p * inv_freq[i] (float32 angle, evaluated in double), sin times `sign` (the
// backward rotates by the opposite angle).
inline void rotary_angles(int p, const std::vector<float>& inv_freq, float sign, float* cs,
                          float* sn) {
  for (size_t i = 0; i < inv_freq.size(); ++i) {
    const float angle = float(p) * inv_freq[i];
    cs[i] = float(std::cos(double(angle)));
    sn[i] = sign * float(std::sin(double(angle)));
  }
}

}  // namespace lengen
