// The few-row linear kernel (backend/cpu/linear_few_rows.cpp) that decoding takes: equal to a
// double-precision product at every row count, ragged widths included, and bit-identical at
// any thread count.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>

#include "backend/cpu/kernels.h"
#include "test_support.h"

namespace lengen {
namespace {

namespace k = kernels;

TEST(LinearFewRows, MatchesTheProductAtEveryRowCountAndWidth) {
  for (int N : {1, 2, 3, 5, 8, 9, 17})
    for (int I : {1, 5, 16, 37, 768})
      for (int O : {1, 3, 33, 70}) {
        const auto x = testing::random_vector(size_t(N) * I, 11), W = testing::random_vector(size_t(O) * I, 12);
        std::vector<float> out(size_t(N) * O, -1.0f), via_dispatch(size_t(N) * O, -1.0f);
        k::linear_forward_few_rows(out.data(), x.data(), W.data(), N, I, O);
        k::linear_forward(via_dispatch.data(), x.data(), W.data(), N, I, O);
        for (int n = 0; n < N; ++n)
          for (int o = 0; o < O; ++o) {
            double want = 0, scale = 0;
            for (int i = 0; i < I; ++i) {
              want += double(x[size_t(n) * I + i]) * W[size_t(o) * I + i];
              scale += std::fabs(double(x[size_t(n) * I + i]) * W[size_t(o) * I + i]);
            }
            const float got = out[size_t(n) * O + o];
            ASSERT_NEAR(got, want, 1e-6 * scale + 1e-7) << N << "x" << I << "x" << O << " at " << n << "," << o;
            // N <= 8 dispatches here; more rows go to sgemm
            ASSERT_NEAR(via_dispatch[size_t(n) * O + o], want, 1e-6 * scale + 1e-7);
          }
      }
}

TEST(LinearFewRows, BitIdenticalAtAnyThreadCount) {
  const int N = 8, I = 300, O = 517;
  const auto x = testing::random_vector(size_t(N) * I, 3), W = testing::random_vector(size_t(O) * I, 4);
  const int before = omp_get_max_threads();
  std::vector<std::vector<float>> outs;
  for (int threads : {1, 2, 3}) {
    omp_set_num_threads(threads);
    outs.emplace_back(size_t(N) * O);
    k::linear_forward_few_rows(outs.back().data(), x.data(), W.data(), N, I, O);
  }
  omp_set_num_threads(before);
  EXPECT_EQ(outs[0], outs[1]);
  EXPECT_EQ(outs[0], outs[2]);
}

}  // namespace
}  // namespace lengen
