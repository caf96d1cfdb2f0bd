// Shared math of the rotary family (rotary, xpos, bipe_rope): the rotation frequencies, with the
// inference-time context-extension rules of `rotary`. The rotation itself is a backend op
// (backend.h RotationArgs) fed by the plan of pe/plan_util.h.
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

}  // namespace lengen
