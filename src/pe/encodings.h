// Factories of the built-in encodings (one .cpp each in this folder) and the small pieces of
// math that tests check against hand-computed values.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pe/positional_encoding.h"
#include "pe/rotary_math.h"

namespace lengen {

using PeFactory = std::unique_ptr<PositionalEncoding>(const ModelConfig&, const std::string&);
PeFactory make_nope, make_abs_sin, make_abs_learned, make_t5_bias, make_alibi, make_alibi_learned,
    make_rotary, make_bipe_rope, make_bipe_alibi;
// Beyond the two papers (README "Newer encodings and formats").
PeFactory make_fire, make_kerple, make_xpos, make_abacus;
// The relative encodings of the length-generalization code beyond the paper's five.
PeFactory make_transformer_xl;

// Unidirectional T5 bucket of distance n = i - j (negative n counts as 0), as HF T5 computes
// it (float32 logarithms).
int t5_bucket(int n, int num_buckets, int max_distance);
// Press et al. ALiBi slopes for any head count.
std::vector<double> alibi_slopes(int n_heads);
// The ALiBi bias -slopes[h] * (q - k) on stream s as a computed distance table (alibi on
// position ids, bipe_alibi on segment ids).
void alibi_bias_plan(const std::vector<float>& slopes, const PositionView& v, Stream s,
                     BiasPlan& out);
// Sinusoidal table entry P[p][d] (halves concatenated: sin for d < D/2, cos after).
float sinusoid_value(int p, int d, int D);

// The resolved options of an encoding (family defaults applied), for code that maps a model to
// another layout (checkpoint converters). Each validates like the factory and names `where`.
struct RotarySettings {
  int rotary_dim;
  bool interleaved;  // GPT-J pairs (2t, 2t+1); false: Llama half-split pairs (t, t + rdim/2)
  double base;
  RopeScaling scaling = {};  // inference-time context extension (rotary only)
};
RotarySettings rotary_settings(const ModelConfig& c, const std::string& where = "config");
// The pair geometry alone (rotary_fraction / rotary_dim, pairing, base with the family
// defaults), read from options that the caller validates: shared by rotary and xpos.
RotarySettings rotary_geometry(const ModelConfig& c, const PeOptions& o);
int abs_learned_positions(const ModelConfig& c, const std::string& where = "config");
struct T5BiasSettings {
  int num_buckets, max_distance;
};
T5BiasSettings t5_bias_settings(const ModelConfig& c, const std::string& where = "config");
// transformer_xl's distance clamp (pe.clamp_length, 1000 as the reference hard-codes).
int transformer_xl_clamp(const ModelConfig& c, const std::string& where = "config");

}  // namespace lengen
