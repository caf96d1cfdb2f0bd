// Hand-computed values of the encodings' fixed math (SPEC section 2).
#include <gtest/gtest.h>

#include <cmath>

#include "arch/model_config.h"
#include "pe/encodings.h"
#include "pe_plan_support.h"
#include "util/error.h"

namespace lengen {
namespace {

TEST(T5Buckets, ExactRegionIsTheDistance) {
  for (int n = 0; n < 16; ++n) EXPECT_EQ(t5_bucket(n, 32, 128), n);
}

TEST(T5Buckets, LogRegionMatchesTheFormula) {
  // bucket = min(31, 16 + floor(log(n/16) / log(8) * 16)), computed by hand for a few n:
  // n=16 -> 16; n=20 -> 16 + floor(0.1073*16=1.717) = 17; n=32 -> 16 + floor(16/3=5.33) = 21;
  // n=64 -> 16 + floor(10.67) = 26; n=100 -> 16 + floor(14.10) = 30; n=127 -> 16 + 15.94 -> 31;
  // n=128 -> 16 + 16 = 32 -> clamped to 31; beyond: 31.
  EXPECT_EQ(t5_bucket(16, 32, 128), 16);
  EXPECT_EQ(t5_bucket(20, 32, 128), 17);
  EXPECT_EQ(t5_bucket(32, 32, 128), 21);
  EXPECT_EQ(t5_bucket(64, 32, 128), 26);
  EXPECT_EQ(t5_bucket(100, 32, 128), 30);
  EXPECT_EQ(t5_bucket(127, 32, 128), 31);
  EXPECT_EQ(t5_bucket(128, 32, 128), 31);
  EXPECT_EQ(t5_bucket(300, 32, 128), 31);
  EXPECT_EQ(t5_bucket(-5, 32, 128), 0);  // future keys (masked anyway) fall in bucket 0
}

TEST(T5Buckets, MonotoneOverZeroTo300) {
  int prev = 0;
  for (int n = 0; n <= 300; ++n) {
    const int b = t5_bucket(n, 32, 128);
    // Independent double-precision evaluation of the SPEC formula.
    const int expect = n < 16 ? n
                              : std::min(31, 16 + int(std::floor(std::log(n / 16.0) /
                                                                   std::log(8.0) * 16 + 1e-9)));
    EXPECT_EQ(b, expect) << "n=" << n;
    EXPECT_GE(b, prev);
    prev = b;
  }
}

TEST(AlibiSlopes, PowersOfTwo) {
  const auto s4 = alibi_slopes(4);
  ASSERT_EQ(s4.size(), 4u);
  EXPECT_DOUBLE_EQ(s4[0], 0.25);
  EXPECT_DOUBLE_EQ(s4[1], 1.0 / 16);
  EXPECT_DOUBLE_EQ(s4[2], 1.0 / 64);
  EXPECT_DOUBLE_EQ(s4[3], 1.0 / 256);
  const auto s8 = alibi_slopes(8);
  for (int h = 0; h < 8; ++h) EXPECT_DOUBLE_EQ(s8[h], std::pow(2.0, -(h + 1)));
}

TEST(AlibiSlopes, TwelveHeads) {
  // SPEC: 2^-1..2^-8, then 2^-0.5, 2^-1.5, 2^-2.5, 2^-3.5.
  const auto s = alibi_slopes(12);
  ASSERT_EQ(s.size(), 12u);
  for (int h = 0; h < 8; ++h) EXPECT_DOUBLE_EQ(s[h], std::pow(2.0, -(h + 1)));
  EXPECT_DOUBLE_EQ(s[8], std::pow(2.0, -0.5));
  EXPECT_DOUBLE_EQ(s[9], std::pow(2.0, -1.5));
  EXPECT_DOUBLE_EQ(s[10], std::pow(2.0, -2.5));
  EXPECT_DOUBLE_EQ(s[11], std::pow(2.0, -3.5));
}

TEST(Sinusoid, TableEntries) {
  // D = 8: w_k = 10000^(-2k/8) = 1, 0.1, 0.01, 0.001; P[p] = [sin(p w), cos(p w)].
  EXPECT_FLOAT_EQ(sinusoid_value(0, 0, 8), 0.0f);
  EXPECT_FLOAT_EQ(sinusoid_value(0, 4, 8), 1.0f);
  EXPECT_FLOAT_EQ(sinusoid_value(1, 0, 8), float(std::sin(1.0)));
  EXPECT_FLOAT_EQ(sinusoid_value(1, 4, 8), float(std::cos(1.0)));
  EXPECT_FLOAT_EQ(sinusoid_value(3, 1, 8), float(std::sin(0.3)));
  EXPECT_FLOAT_EQ(sinusoid_value(3, 5, 8), float(std::cos(0.3)));
  EXPECT_FLOAT_EQ(sinusoid_value(1000, 3, 8), float(std::sin(1.0)));
}

}  // namespace
}  // namespace lengen

namespace lengen {
namespace {

// Rotary on one head of 8 dims at position p: which dims pair up, and the angle p * theta_t
// with theta_t = base^(-2t / rotary_dim), computed by hand.
std::vector<float> rotate_basis(const std::string& pairing, double fraction, int pos, int dim) {
  ModelConfig c = model_config_from_json(
      {{"n_heads", 1}, {"d_head", 8}, {"d_model", 8},
       {"pe", {{"type", "rotary"}, {"pairing", pairing}, {"rotary_fraction", fraction}, {"base", 100}}}});
  auto pe = make_positional_encoding(c);
  std::vector<float> x(8, 0.0f);
  x[dim] = 1.0f;
  testing::rotate_at(*pe, pos, x, 1, 8, false);
  return x;
}

TEST(Rotary, InterleavedPairsAdjacentDims) {
  // rotary_dim 8, base 100: theta_0 = 1, theta_1 = 100^(-1/4), ...; pair (2t, 2t+1).
  const int p = 3;
  auto x = rotate_basis("interleaved", 1.0, p, 2);  // e_2 is the first dim of pair t = 1
  const double a = p * std::pow(100.0, -2.0 / 8);
  EXPECT_NEAR(x[2], std::cos(a), 1e-6);
  EXPECT_NEAR(x[3], std::sin(a), 1e-6);
  for (int d : {0, 1, 4, 5, 6, 7}) EXPECT_EQ(x[d], 0.0f) << d;
  auto y = rotate_basis("interleaved", 1.0, p, 1);  // second dim of pair t = 0: angle p
  EXPECT_NEAR(y[0], -std::sin(double(p)), 1e-6);
  EXPECT_NEAR(y[1], std::cos(double(p)), 1e-6);
}

TEST(Rotary, HalfSplitPairsDimTWithTPlusHalf) {
  const int p = 5;
  auto x = rotate_basis("half", 1.0, p, 1);  // pair (1, 5), theta_1 = 100^(-2/8)
  const double a = p * std::pow(100.0, -2.0 / 8);
  EXPECT_NEAR(x[1], std::cos(a), 1e-6);
  EXPECT_NEAR(x[5], std::sin(a), 1e-6);
  for (int d : {0, 2, 3, 4, 6, 7}) EXPECT_EQ(x[d], 0.0f) << d;
}

TEST(Rotary, PartialRotationLeavesTheRestAndPositionZeroIsIdentity) {
  // rotary_fraction 0.5: dims 0..3 rotate (pairs (0,1), (2,3)), dims 4..7 pass through.
  auto x = rotate_basis("interleaved", 0.5, 7, 5);
  for (int d = 0; d < 8; ++d) EXPECT_EQ(x[d], d == 5 ? 1.0f : 0.0f) << d;
  auto y = rotate_basis("interleaved", 0.5, 7, 2);
  const double a = 7 * std::pow(100.0, -2.0 / 4);  // rotary_dim 4: theta_1 = 100^(-1/2)
  EXPECT_NEAR(y[2], std::cos(a), 1e-6);
  EXPECT_NEAR(y[3], std::sin(a), 1e-6);
  auto z = rotate_basis("half", 1.0, 0, 6);
  for (int d = 0; d < 8; ++d) EXPECT_EQ(z[d], d == 6 ? 1.0f : 0.0f) << d;
}

}  // namespace
}  // namespace lengen
