// Hand-computed values of the encodings' fixed math (SPEC section 2).
#include <gtest/gtest.h>

#include <cmath>

#include "model/config.h"
#include "pe/encodings.h"
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
