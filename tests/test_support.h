// Helpers shared by the tests: seeded random tensors and central-difference gradient checks.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "util/rng.h"

namespace lengen::testing {

inline std::vector<float> random_vector(size_t n, uint64_t seed, float scale = 1.0f) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = float(rng.normal()) * scale;
  return v;
}

// Checks d f / d x[i] == grad[i] by central differences (x[i] +- h), for every i when
// `coords` is empty. Errors are bounded by abs_tol + rel_tol * |grad|: in fp32 the function
// value carries ~1e-7 relative rounding, so with h = 1e-3 and |f| ~ 10 the difference quotient
// has ~1e-3 absolute noise; wrong backward formulas give O(|grad|) errors, far above that.
// A ReLU whose input crosses zero within +-h makes the quotient meaningless there: when the
// quotients at h and h/2 disagree by more than the tolerance, the coordinate is skipped as
// non-smooth; at most a quarter of the coordinates may be skipped.
inline void expect_gradient(const std::string& what, std::vector<float>& x,
                            const std::vector<float>& grad, const std::function<double()>& f,
                            double h, double abs_tol, double rel_tol,
                            std::vector<size_t> coords = {}) {
  if (coords.empty())
    for (size_t i = 0; i < x.size(); ++i) coords.push_back(i);
  auto quotient = [&](size_t i, double step) {
    const float saved = x[i];
    x[i] = saved + float(step);
    const double fp = f();
    x[i] = saved - float(step);
    const double fm = f();
    x[i] = saved;
    return (fp - fm) / (double(saved + float(step)) - double(saved - float(step)));
  };
  int failures = 0;
  size_t skipped = 0;
  for (size_t i : coords) {
    const double num = quotient(i, h);
    const double tol = abs_tol + rel_tol * std::abs(grad[i]);
    if (std::abs(num - grad[i]) <= tol) continue;
    const double half = quotient(i, h / 2);
    if (std::abs(num - half) > tol) {  // not converged: a kink inside the interval
      ++skipped;
      continue;
    }
    if (failures++ < 5)
      ADD_FAILURE() << what << "[" << i << "]: analytic " << grad[i] << " vs numeric " << num
                    << " (h/2: " << half << ")";
  }
  EXPECT_LE(skipped * 4, coords.size()) << what << ": too many non-smooth coordinates";
}

// The k coordinates with the largest |grad| (where a wrong gradient shows most clearly).
inline std::vector<size_t> top_coordinates(const float* grad, size_t n, size_t k) {
  std::vector<size_t> idx(n);
  for (size_t i = 0; i < n; ++i) idx[i] = i;
  k = std::min(k, n);
  std::partial_sort(idx.begin(), idx.begin() + long(k), idx.end(),
                    [&](size_t a, size_t b) { return std::abs(grad[a]) > std::abs(grad[b]); });
  idx.resize(k);
  return idx;
}

}  // namespace lengen::testing
