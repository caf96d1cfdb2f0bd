#include "analysis/divergence.h"

#include <cmath>

#include "util/error.h"

namespace lengen::analysis {
namespace {

void check_same_support(std::span<const float> p, std::span<const float> q, const char* what) {
  if (p.size() != q.size() || p.empty())
    fail("{}: attention rows over {} and {} keys cannot be compared", what, p.size(), q.size());
}

// x log(x / y) with the convention 0 log 0 = 0.
double kl_term(double x, double y) { return x > 0 ? x * std::log(x / y) : 0.0; }

}  // namespace

double symmetric_kl(std::span<const float> p, std::span<const float> q, double eps) {
  check_same_support(p, q, "symmetric KL");
  const double norm = 1.0 + double(p.size()) * eps;
  double sum = 0;
  for (size_t j = 0; j < p.size(); ++j) {
    const double a = (double(p[j]) + eps) / norm, b = (double(q[j]) + eps) / norm;
    sum += (a - b) * std::log(a / b);  // a log(a/b) + b log(b/a)
  }
  return sum;
}

double jensen_shannon(std::span<const float> p, std::span<const float> q) {
  check_same_support(p, q, "Jensen-Shannon");
  double sum = 0;
  for (size_t j = 0; j < p.size(); ++j) {
    const double a = p[j], b = q[j], m = 0.5 * (a + b);
    sum += kl_term(a, m) + kl_term(b, m);
  }
  return 0.5 * sum;
}

}  // namespace lengen::analysis
