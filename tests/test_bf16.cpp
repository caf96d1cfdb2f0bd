// bf16 matrix products (`--precision bf16`, backend/cpu/linear_bf16.cpp): the rounding, the
// products against double-precision products of the rounded inputs, and training in bf16
// against fp32. The products need oneDNN and AVX512-BF16; where either is missing those tests
// skip and say which (the reasons themselves are tested everywhere).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/kernels.h"
#include "file_test_support.h"
#include "model_fixtures.h"
#include "test_support.h"
#include "train/optimizer.h"

namespace lengen {
namespace {

namespace k = kernels;

TEST(Bf16, RoundsToNearestEven) {
  EXPECT_EQ(k::to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(k::to_bf16(1.0f + 0x1p-8f), 0x3F80);      // halfway: to the even 1.0
  EXPECT_EQ(k::to_bf16(1.0f + 3 * 0x1p-8f), 0x3F82);  // halfway: to the even neighbour above
  EXPECT_EQ(k::to_bf16(1.0f + 0x1p-8f + 0x1p-20f), 0x3F81);  // above halfway: up
  EXPECT_EQ(k::to_bf16(-2.5f), 0xC020);
  EXPECT_EQ(k::from_bf16(k::to_bf16(0.1f)), 0.10009765625f);
  EXPECT_TRUE(std::isinf(k::from_bf16(k::to_bf16(std::numeric_limits<float>::infinity()))));
  EXPECT_TRUE(std::isnan(k::from_bf16(k::to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  // a NaN whose payload sits only in the low bits must not round to infinity
  EXPECT_TRUE(std::isnan(k::from_bf16(k::to_bf16(std::bit_cast<float>(0x7F800001u)))));
}

TEST(Bf16, SaysWhyItIsUnavailable) {
  EXPECT_EQ(k::bf16_unavailable_reason(true, true), "");
  EXPECT_NE(k::bf16_unavailable_reason(false, true).find("oneDNN"), std::string::npos);
  EXPECT_NE(k::bf16_unavailable_reason(true, false).find("AVX512-BF16"), std::string::npos);
  EXPECT_NE(testing::error_of([] { parse_matmul_precision("fp16"); }).find("fp32, bf16"),
            std::string::npos);
}

#define SKIP_WITHOUT_BF16()                                                      \
  if (const std::string why = k::bf16_unavailable_reason(); !why.empty()) \
  GTEST_SKIP() << why

// out = bf16(x) bf16(W)^T, accumulated in fp32: against the same product in double, the
// difference is fp32 accumulation over K terms (bound K * 2^-24 * sum |x w|; 2e-5 covers
// K = 70 with room), far below bf16's own rounding (2^-9 per input).
TEST(Bf16, LinearIsTheProductOfRoundedInputs) {
  SKIP_WITHOUT_BF16();
  const int N = 37, I = 70, O = 45;
  const auto x = testing::random_vector(size_t(N) * I, 1), W = testing::random_vector(size_t(O) * I, 2);
  const auto dout = testing::random_vector(size_t(N) * O, 3);
  const auto r = [](float v) { return double(k::from_bf16(k::to_bf16(v))); };
  std::vector<float> out(size_t(N) * O), dx(size_t(N) * I, 0.5f), dW(size_t(O) * I, 0.25f);
  k::linear_forward_bf16(out.data(), x.data(), W.data(), N, I, O);
  k::linear_backward_bf16(dx.data(), dW.data(), dout.data(), x.data(), W.data(), N, I, O, true);
  // got[r, c] = base + sum_j a(r, j) b(j, c), the inputs bf16-rounded, within fp32 accumulation
  const auto expect_product = [&](const std::vector<float>& got, int rows, int cols, int inner,
                                  double base, auto a, auto b, const char* what) {
    for (int rr = 0; rr < rows; ++rr)
      for (int c = 0; c < cols; ++c) {
        double want = base, mag = 0;
        for (int j = 0; j < inner; ++j) {
          const double p = r(a(rr, j)) * r(b(j, c));
          want += p, mag += std::fabs(p);
        }
        ASSERT_NEAR(got[size_t(rr) * cols + c], want, 2e-5 * mag + 1e-6) << what << " " << rr << "," << c;
      }
  };
  expect_product(out, N, O, I, 0.0, [&](int n, int i) { return x[size_t(n) * I + i]; },
                 [&](int i, int o) { return W[size_t(o) * I + i]; }, "out = x W^T");
  expect_product(dx, N, I, O, 0.5, [&](int n, int o) { return dout[size_t(n) * O + o]; },
                 [&](int o, int i) { return W[size_t(o) * I + i]; }, "dx = 0.5 + dout W");
  expect_product(dW, O, I, N, 0.25, [&](int o, int n) { return dout[size_t(n) * O + o]; },
                 [&](int n, int i) { return x[size_t(n) * I + i]; }, "dW = 0.25 + dout^T x");
  // without accumulation dinp is overwritten
  std::vector<float> dx2(size_t(N) * I, 99.0f), dW2(size_t(O) * I, 0.25f);
  k::linear_backward_bf16(dx2.data(), dW2.data(), dout.data(), x.data(), W.data(), N, I, O, false);
  for (size_t j = 0; j < dx2.size(); ++j) ASSERT_NEAR(dx2[j], dx[j] - 0.5f, 1e-5f);
  EXPECT_EQ(dW2, dW);  // the same products, bit for bit
}

// A sweep trains its jobs as threads of one process: products from two threads at once, of
// different shapes, equal the same products made one after the other.
TEST(Bf16, ThreadsOfOneProcessDoNotShareScratch) {
  SKIP_WITHOUT_BF16();
  struct Job {
    int N, I, O;
    std::vector<float> x, W, serial, parallel;
  };
  std::vector<Job> jobs = {{64, 96, 48, {}, {}, {}, {}}, {33, 40, 120, {}, {}, {}, {}}};
  for (size_t j = 0; j < jobs.size(); ++j) {
    Job& b = jobs[j];
    b.x = testing::random_vector(size_t(b.N) * b.I, 10 + j);
    b.W = testing::random_vector(size_t(b.O) * b.I, 20 + j);
    b.serial.resize(size_t(b.N) * b.O);
    b.parallel.resize(size_t(b.N) * b.O);
    k::linear_forward_bf16(b.serial.data(), b.x.data(), b.W.data(), b.N, b.I, b.O);
  }
  std::vector<std::thread> threads;
  for (Job& b : jobs)
    threads.emplace_back([&b] {
      for (int rep = 0; rep < 50; ++rep)
        k::linear_forward_bf16(b.parallel.data(), b.x.data(), b.W.data(), b.N, b.I, b.O);
    });
  for (auto& t : threads) t.join();
  for (const Job& b : jobs) EXPECT_EQ(b.parallel, b.serial);
}

struct Bf16Backend {
  Bf16Backend() { cpu_backend().set_matmul_precision(MatmulPrecision::bf16); }
  ~Bf16Backend() { cpu_backend().set_matmul_precision(MatmulPrecision::fp32); }
};

// The tiny model of Training.TinyModelOverfitsAFixedBatch: in bf16 its initial loss is within
// bf16's rounding of fp32's (inputs rounded by 2^-9 relative: logits move by ~1e-3 of their
// size), it still memorises the batch, and two bf16 runs are bit-identical.
TEST(Bf16, TrainingFollowsFp32AndIsDeterministic) {
  SKIP_WITHOUT_BF16();
  const ModelConfig c = testing::small_config({"t5", "rotary"});
  const Batch batch = testing::sample_batch(c.vocab_size, 42);
  const auto run = [&](bool bf16, double* initial) {
    std::optional<Bf16Backend> precision;
    if (bf16) precision.emplace();
    Transformer model(c);
    model.init_weights(0);
    OptimizerConfig oc;
    oc.lr = 1e-2f;
    AdamW opt(model, oc);
    *initial = testing::loss_of(model, batch);
    Workspace ws(model);
    for (int s = 0; s < 150; ++s) {
      model.zero_grads();
      forward_backward(model, batch, ws, 0);
      opt.step(model, oc.lr);
    }
    return std::make_pair(testing::loss_of(model, batch), model.params_to_host());
  };
  double init32 = 0, init16 = 0, init16b = 0;
  const auto [loss32, params32] = run(false, &init32);
  const auto [loss16, params16] = run(true, &init16);
  const auto [loss16b, params16b] = run(true, &init16b);
  EXPECT_NEAR(init16, init32, 1e-2 * init32);
  EXPECT_NE(init16, init32);  // the products did change precision
  EXPECT_LT(loss16, 0.05) << "fp32 reached " << loss32;
  EXPECT_EQ(params16, params16b);
  EXPECT_EQ(loss16, loss16b);
}

}  // namespace
}  // namespace lengen
