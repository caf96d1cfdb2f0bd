// Finite-difference checks of each layer's backward (backend/cpu), on small random inputs.
// Each check uses f = sum(out * R) for a fixed random R, so d f / d out = R.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "backend/cpu/kernels.h"
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

TEST(KernelGrad, RelativeScoresAndAddRow) {
  const int N = 5, H = 3, dh = 4, C = 6, HD = H * dh;
  const float scale = 0.5f;
  auto q = random_vector(N * HD, 1), R = random_vector(C * HD, 2), Rs = random_vector(N * H * C, 3);
  auto row = random_vector(HD, 4);
  std::vector<float> scores(N * H * C), qv(N * HD), dqv(N * HD, 0.0f), dR(C * HD, 0.0f),
      drow(HD, 0.0f);
  // f = sum(R_s * scale (q + row) . R): through add_row and the relative scores
  auto f = [&] {
    qv = q;
    k::add_row_forward(qv.data(), row.data(), N, HD);
    k::relative_scores_forward(scores.data(), qv.data(), R.data(), N, H, dh, C, scale);
    return dot(scores, Rs);
  };
  f();
  k::relative_scores_backward(dqv.data(), dR.data(), Rs.data(), qv.data(), R.data(), N, H, dh, C,
                              scale);
  k::add_row_backward(drow.data(), dqv.data(), N, HD);
  expect_gradient("dq", q, dqv, f, 1e-2, 1e-3, 1e-3);
  expect_gradient("dR", R, dR, f, 1e-2, 1e-3, 1e-3);
  expect_gradient("drow", row, drow, f, 1e-2, 1e-3, 1e-3);
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
  // geglu (tanh GELU gate)
  auto fgg = [&] { k::geglu_forward(out.data(), x.data(), y.data(), n); return dot(out, R); };
  k::geglu_backward(dx.data(), dy.data(), R.data(), x.data(), y.data(), n);
  expect_gradient("geglu gate", x, dx, fgg, 1e-3, 1e-3, 1e-3);
  expect_gradient("geglu up", y, dy, fgg, 1e-3, 1e-3, 1e-3);
  // relu: coordinates away from the kink only
  auto fr = [&] { k::relu_forward(out.data(), x.data(), n); return dot(out, R); };
  k::relu_backward(dx.data(), R.data(), x.data(), n);
  std::vector<size_t> smooth;
  for (size_t i = 0; i < n; ++i)
    if (std::abs(x[i]) > 0.01f) smooth.push_back(i);
  expect_gradient("relu", x, dx, fr, 1e-3, 1e-3, 1e-3, smooth);
}

// Fused attention over B rows of T tokens; with a bias, a computed table [H, T] over the
// distances 0..T-1 (positions 0..T-1 in every row), as an encoding's plan gives it.
struct AttentionCase {
  int B, T, H, dh;
  std::vector<float> q, k, v, values;
  std::vector<int32_t> pos, col_of;
  ScoreBias bias;
  AttentionArgs args;
  AttentionCase(int B_, int T_, int H_, int dh_, bool with_bias, float dropout)
      : B(B_), T(T_), H(H_), dh(dh_) {
    const size_t n = size_t(B) * T * H * dh;
    q = random_vector(n, 20), k = random_vector(n, 21), v = random_vector(n, 22);
    values = random_vector(size_t(H) * T, 23);
    for (int b = 0; b < B; ++b)
      for (int t = 0; t < T; ++t) pos.push_back(t);
    for (int c = 0; c < T; ++c) col_of.push_back(c);
    bias.q_pos = bias.k_pos = pos.data();
    bias.values = values.data();
    bias.h_stride = T, bias.c_stride = 1, bias.extent = int64_t(H) * T;
    bias.col_of = col_of.data(), bias.dmin = 0, bias.dmax = T - 1;
    args.B = B, args.H = H, args.dh = dh, args.Q = T, args.ld = H * dh, args.key_stride = T;
    args.q = q.data(), args.k = k.data(), args.v = v.data();
    args.scale = 0.5f;
    args.bias = with_bias ? &bias : nullptr;
    args.dropout = dropout, args.dropout_key = 99;
  }
  size_t n() const { return size_t(B) * T * H * dh; }
};

// Finite differences of f = sum(out * R) for q, k, v and the bias values: every coordinate, or
// the `top` largest gradients of each.
void check_attention_gradients(AttentionCase& c, bool with_bias, size_t top = 0) {
  const size_t n = c.n();
  auto R = random_vector(n, 24);
  std::vector<float> out(n), lse(size_t(c.B) * c.H * c.T), dq(n), dk(n), dv(n),
      dvalues(c.values.size(), 0.0f);
  c.bias.dvalues = dvalues.data();
  auto f = [&] {
    k::attention_forward(c.args, out.data(), lse.data());
    return dot(out, R);
  };
  f();
  k::attention_backward(c.args, out.data(), lse.data(), R.data(), dq.data(), dk.data(), dv.data());
  auto coords = [&](const std::vector<float>& g) {
    return top ? testing::top_coordinates(g.data(), g.size(), top) : std::vector<size_t>{};
  };
  expect_gradient("dq", c.q, dq, f, 1e-3, 2e-3, 2e-3, coords(dq));
  expect_gradient("dk", c.k, dk, f, 1e-3, 2e-3, 2e-3, coords(dk));
  expect_gradient("dv", c.v, dv, f, 1e-3, 2e-3, 2e-3, coords(dv));
  if (with_bias) expect_gradient("dvalues", c.values, dvalues, f, 1e-3, 2e-3, 2e-3, coords(dvalues));
}

void check_attention(float dropout, bool with_bias) {
  AttentionCase c(2, 5, 3, 4, with_bias, dropout);
  check_attention_gradients(c, with_bias);
}

// The tiled kernel against a direct double-precision softmax(q k^T + bias) v, at lengths that
// take several query and key tiles, and its probabilities (the capture path) likewise.
TEST(KernelAttention, TiledForwardMatchesTheDirectFormulaAcrossTiles) {
  for (const int T : {7, 130, 301}) {
    AttentionCase c(2, T, 2, 8, true, 0.0f);
    std::vector<float> out(c.n()), probs(size_t(c.B) * c.H * T * T);
    k::attention_forward(c.args, out.data(), nullptr);
    k::attention_probs(c.args, probs.data());
    const int ld = c.H * c.dh;
    double worst = 0, worst_p = 0;
    for (int b = 0; b < c.B; ++b)
      for (int h = 0; h < c.H; ++h)
        for (int i = 0; i < T; ++i) {
          std::vector<double> s(size_t(i) + 1);
          double mx = -1e300, z = 0;
          for (int j = 0; j <= i; ++j) {
            double dotqk = 0;
            for (int d = 0; d < c.dh; ++d)
              dotqk += double(c.q[(size_t(b) * T + i) * ld + h * c.dh + d]) *
                       c.k[(size_t(b) * T + j) * ld + h * c.dh + d];
            s[j] = 0.5 * dotqk + c.values[size_t(h) * T + (i - j)];
            mx = std::max(mx, s[j]);
          }
          for (int j = 0; j <= i; ++j) z += (s[j] = std::exp(s[j] - mx));
          const float* prow = probs.data() + ((size_t(b) * c.H + h) * T + i) * T;
          for (int j = 0; j < T; ++j)
            worst_p = std::max(worst_p, std::abs((j <= i ? s[j] / z : 0.0) - prow[j]));
          for (int d = 0; d < c.dh; ++d) {
            double o = 0;
            for (int j = 0; j <= i; ++j) o += s[j] / z * c.v[(size_t(b) * T + j) * ld + h * c.dh + d];
            worst = std::max(worst, std::abs(o - out[(size_t(b) * T + i) * ld + h * c.dh + d]));
          }
        }
    EXPECT_LT(worst, 1e-5) << "T = " << T;
    EXPECT_LT(worst_p, 1e-6) << "T = " << T;
  }
}

// Backward across tiles: gradients of a few coordinates by finite differences.
TEST(KernelAttention, TiledBackwardMatchesFiniteDifferences) {
  AttentionCase c(1, 200, 2, 4, true, 0.1f);
  check_attention_gradients(c, true, 12);
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
