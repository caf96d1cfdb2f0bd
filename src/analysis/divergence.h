// Divergences between two attention rows: distributions of one query over its causal keys
// 0..i (SPEC section 5, the distance of a model's attention to NoPE's).
//
// Epsilon policy (zero probabilities):
// - Symmetric KL = KL(p||q) + KL(q||p) (natural log). Both rows are smoothed over the causal
//   support only: p' = (p + eps) / (1 + n eps), n = i + 1 keys, eps = kKlEpsilon (1e-6), so a
//   key one row ignores and the other attends to gives a large but finite value (disjoint
//   one-hot rows: 2 / (1 + 2 eps) log((1 + eps) / eps) ~ 27.6 for n = 2).
// - Jensen-Shannon = (KL(p||m) + KL(q||m)) / 2, m = (p + q) / 2, natural log, on the rows as
//   they are: it is finite without smoothing (0 log 0 = 0), 0 for equal rows and ln 2 for
//   disjoint supports.
// Rows are used as given (the model's softmax output sums to 1 up to rounding).
#pragma once
#include <span>

namespace lengen::analysis {

inline constexpr double kKlEpsilon = 1e-6;

// p and q: the same number of keys (else lengen::Error).
double symmetric_kl(std::span<const float> p, std::span<const float> q, double eps = kKlEpsilon);
double jensen_shannon(std::span<const float> p, std::span<const float> q);

struct Divergence {
  double sym_kl = 0, js = 0;
};

}  // namespace lengen::analysis
