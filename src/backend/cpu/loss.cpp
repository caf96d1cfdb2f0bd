#include <cmath>
#include <vector>

#include "backend/cpu/kernels.h"

namespace lengen::kernels {
namespace {

// log(sum_v exp(z[v])), shifted by the maximum for range safety, accumulated in double.
double logsumexp(const float* z, int V) {
  float mx = z[0];
  for (int v = 1; v < V; ++v) mx = z[v] > mx ? z[v] : mx;
  double sum = 0;
  for (int v = 0; v < V; ++v) sum += std::exp(double(z[v] - mx));
  return mx + std::log(sum);
}

}  // namespace

double softmax_xent_forward_backward(float* logits, const int32_t* targets, const float* weights,
                                     int M, int V, float* row_loss) {
  std::vector<double> losses(M);
#pragma omp parallel for schedule(static)
  for (int m = 0; m < M; ++m) {
    float* z = logits + size_t(m) * V;
    const double lse = logsumexp(z, V);
    const int t = targets[m];
    const double nll = lse - z[t];
    losses[m] = nll;
    if (row_loss) row_loss[m] = float(nll);
    const float w = weights[m];
    for (int v = 0; v < V; ++v) z[v] = w * float(std::exp(double(z[v]) - lse));
    z[t] -= w;
  }
  double total = 0;
  for (int m = 0; m < M; ++m) total += losses[m] * weights[m];
  return total;
}

void log_softmax_inplace(float* logits, int M, int V) {
#pragma omp parallel for schedule(static)
  for (int m = 0; m < M; ++m) {
    float* z = logits + size_t(m) * V;
    const float lse = float(logsumexp(z, V));
    for (int v = 0; v < V; ++v) z[v] -= lse;
  }
}

}  // namespace lengen::kernels
