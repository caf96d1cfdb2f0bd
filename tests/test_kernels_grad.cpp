// Finite-difference checks of each layer's backward (kernels/cpu), on small random inputs.
// Each check uses f = sum(out * R) for a fixed random R, so d f / d out = R.
#include <gtest/gtest.h>

#include "kernels/cpu/kernels.h"
#include "test_support.h"

namespace lengen {
namespace {

using testing::expect_gradient;
using testing::random_vector;
namespace k = kernels;

double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += double(a[i]) * b[i];
  return s;
}

TEST(KernelGrad, Linear) {
  const int N = 5, I = 7, O = 6;
  auto x = random_vector(N * I, 1), W = random_vector(O * I, 2), R = random_vector(N * O, 3);
  std::vector<float> out(N * O), dx(N * I), dW(O * I, 0.0f);
  auto f = [&] { k::linear_forward(out.data(), x.data(), W.data(), N, I, O); return dot(out, R); };
  k::linear_backward(dx.data(), dW.data(), R.data(), x.data(), W.data(), N, I, O, false);
  expect_gradient("dx", x, dx, f, 1e-2, 1e-3, 1e-3);
  expect_gradient("dW", W, dW, f, 1e-2, 1e-3, 1e-3);
}

TEST(KernelGrad, RmsNorm) {
  const int N = 4, C = 16;
  auto x = random_vector(N * C, 4), w = random_vector(C, 5), R = random_vector(N * C, 6);
  std::vector<float> out(N * C), rstd(N), dx(N * C, 0.0f), dw(C, 0.0f);
  auto f = [&] { k::rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), N, C, 1e-6f); return dot(out, R); };
  f();
  k::rmsnorm_backward(dx.data(), dw.data(), R.data(), x.data(), w.data(), rstd.data(), N, C);
  expect_gradient("dx", x, dx, f, 1e-3, 2e-3, 2e-3);
  expect_gradient("dw", w, dw, f, 1e-3, 2e-3, 2e-3);
}

TEST(KernelGrad, LayerNorm) {
  const int N = 4, C = 16;
  auto x = random_vector(N * C, 7), w = random_vector(C, 8), b = random_vector(C, 9),
       R = random_vector(N * C, 10);
  std::vector<float> out(N * C), mean(N), rstd(N), dx(N * C, 0.0f), dw(C, 0.0f), db(C, 0.0f);
  auto f = [&] {
    k::layernorm_forward(out.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), N, C, 1e-5f);
    return dot(out, R);
  };
  f();
  k::layernorm_backward(dx.data(), dw.data(), db.data(), R.data(), x.data(), w.data(), mean.data(),
                        rstd.data(), N, C);
  expect_gradient("dx", x, dx, f, 1e-3, 2e-3, 2e-3);
  expect_gradient("dw", w, dw, f, 1e-3, 2e-3, 2e-3);
  expect_gradient("db", b, db, f, 1e-3, 2e-3, 2e-3);
}

TEST(KernelGrad, Activations) {
  const size_t n = 64;
  auto x = random_vector(n, 11), y = random_vector(n, 12), R = random_vector(n, 13);
  std::vector<float> out(n), dx(n), dy(n);
  // gelu
  auto fg = [&] { k::gelu_forward(out.data(), x.data(), n); return dot(out, R); };
  k::gelu_backward(dx.data(), R.data(), x.data(), n);
  expect_gradient("gelu", x, dx, fg, 1e-3, 1e-3, 1e-3);
  // swiglu
  auto fs = [&] { k::swiglu_forward(out.data(), x.data(), y.data(), n); return dot(out, R); };
  k::swiglu_backward(dx.data(), dy.data(), R.data(), x.data(), y.data(), n);
  expect_gradient("swiglu gate", x, dx, fs, 1e-3, 1e-3, 1e-3);
  expect_gradient("swiglu up", y, dy, fs, 1e-3, 1e-3, 1e-3);
  // relu: coordinates away from the kink only
  auto fr = [&] { k::relu_forward(out.data(), x.data(), n); return dot(out, R); };
  k::relu_backward(dx.data(), R.data(), x.data(), n);
  std::vector<size_t> smooth;
  for (size_t i = 0; i < n; ++i)
    if (std::abs(x[i]) > 0.01f) smooth.push_back(i);
  expect_gradient("relu", x, dx, fr, 1e-3, 1e-3, 1e-3, smooth);
}

void check_attention(float dropout, bool with_bias) {
  const k::AttentionShape s{2, 5, 3, 4};
  const int N = s.B * s.T, ld = s.ld();
  auto q = random_vector(N * ld, 20), kk = random_vector(N * ld, 21), v = random_vector(N * ld, 22);
  auto bias = random_vector(size_t(s.B) * s.H * s.T * s.T, 23);
  auto R = random_vector(N * ld, 24);
  std::vector<float> out(N * ld), probs(bias.size()), dq(N * ld), dk(N * ld), dv(N * ld),
      dbias(bias.size(), 0.0f);
  const float scale = 0.5f;
  const uint64_t key = 99;
  auto f = [&] {
    k::attention_forward(out.data(), probs.data(), q.data(), kk.data(), v.data(),
                         with_bias ? bias.data() : nullptr, s, scale, dropout, key);
    return dot(out, R);
  };
  f();
  k::attention_backward(dq.data(), dk.data(), dv.data(), with_bias ? dbias.data() : nullptr,
                        R.data(), q.data(), kk.data(), v.data(), probs.data(), s, scale, dropout,
                        key);
  expect_gradient("dq", q, dq, f, 1e-3, 2e-3, 2e-3);
  expect_gradient("dk", kk, dk, f, 1e-3, 2e-3, 2e-3);
  expect_gradient("dv", v, dv, f, 1e-3, 2e-3, 2e-3);
  if (with_bias) {
    // Only causal entries (j <= i) influence the output; the others must get zero gradient.
    for (int bh = 0; bh < s.B * s.H; ++bh)
      for (int i = 0; i < s.T; ++i)
        for (int j = i + 1; j < s.T; ++j) EXPECT_EQ(dbias[(size_t(bh) * s.T + i) * s.T + j], 0.0f);
    expect_gradient("dbias", bias, dbias, f, 1e-3, 2e-3, 2e-3);
  }
}

TEST(KernelGrad, AttentionPlain) { check_attention(0.0f, false); }
TEST(KernelGrad, AttentionWithBias) { check_attention(0.0f, true); }
TEST(KernelGrad, AttentionWithDropout) { check_attention(0.3f, true); }

TEST(KernelGrad, SoftmaxCrossEntropy) {
  const int M = 4, V = 9;
  auto z = random_vector(M * V, 30, 2.0f);
  std::vector<int32_t> t = {0, 3, 8, 5};
  std::vector<float> w = {0.25f, 0.5f, 0.0f, 1.0f};
  std::vector<float> dz = z;
  k::softmax_xent_forward_backward(dz.data(), t.data(), w.data(), M, V, nullptr);
  auto f = [&] {
    std::vector<float> tmp = z;
    return k::softmax_xent_forward_backward(tmp.data(), t.data(), w.data(), M, V, nullptr);
  };
  expect_gradient("dlogits", z, dz, f, 1e-3, 1e-4, 1e-3);
}

TEST(KernelGrad, DropoutMaskIsDeterministicAndHasTheRightRate) {
  std::vector<float> a(20000, 1.0f), b(20000, 1.0f);
  k::dropout_forward(a.data(), a.size(), 0.25f, 7);
  k::dropout_forward(b.data(), b.size(), 0.25f, 7);
  EXPECT_EQ(a, b);
  size_t zeros = 0;
  for (float x : a) {
    zeros += x == 0.0f;
    if (x != 0.0f) {
      EXPECT_FLOAT_EQ(x, 1.0f / 0.75f);
    }
  }
  EXPECT_NEAR(double(zeros) / a.size(), 0.25, 0.02);
}

TEST(KernelGrad, AdamWMatchesTheFormula) {
  std::vector<float> p = {1.0f, -2.0f}, g = {0.5f, -0.1f}, m = {0, 0}, v = {0, 0};
  k::adamw_update(p.data(), g.data(), m.data(), v.data(), 2, {0.1f, 0.9f, 0.999f, 1e-8f, 0.01f, 1}, true);
  // step 1: m_hat = g, v_hat = g^2, update = lr * g / (|g| + eps) = lr * sign(g);
  // decay first: p * (1 - lr wd).
  EXPECT_NEAR(p[0], 1.0 * (1 - 0.001) - 0.1, 1e-6);
  EXPECT_NEAR(p[1], -2.0 * (1 - 0.001) + 0.1, 1e-6);
}

}  // namespace
}  // namespace lengen
