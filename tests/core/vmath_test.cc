#include "nmt/core/vmath.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

namespace revnmt {
namespace {

double rel_error(double got, double want) {
  return std::fabs(got - want) / std::max(std::fabs(want), 1e-30);
}

TEST(Vmath, ExpAccuracy) {
  for (double x = -87.0; x <= 88.0; x += 0.01) {
    ASSERT_LT(rel_error(vmath::exp(float(x)), std::exp(double(float(x)))), 4e-7) << x;
  }
  EXPECT_EQ(vmath::exp(-std::numeric_limits<float>::infinity()), 0.0f);
  EXPECT_EQ(vmath::exp(-1000.0f), 0.0f);
  EXPECT_EQ(vmath::exp(0.0f), 1.0f);
  EXPECT_TRUE(std::isfinite(vmath::exp(1000.0f)));
}

TEST(Vmath, TanhAndSigmoidAccuracy) {
  for (double x = -12.0; x <= 12.0; x += 0.001) {
    const float xf = float(x);
    ASSERT_NEAR(vmath::tanh(xf), std::tanh(double(xf)), 3e-7) << x;
    if (std::fabs(xf) > 1e-6f) {
      ASSERT_LT(rel_error(vmath::tanh(xf), std::tanh(double(xf))), 5e-7) << x;
    }
    ASSERT_LT(rel_error(vmath::sigmoid(xf), 1.0 / (1.0 + std::exp(-double(xf)))), 6e-7) << x;
  }
  EXPECT_EQ(vmath::tanh(0.0f), 0.0f);
  EXPECT_EQ(vmath::tanh(50.0f), 1.0f);
  EXPECT_EQ(vmath::tanh(-50.0f), -1.0f);
}

TEST(Vmath, LogAccuracy) {
  for (double x = 1e-30; x < 1e30; x *= 1.0123) {
    const float xf = float(x);
    ASSERT_NEAR(vmath::log(xf), std::log(double(xf)),
                2e-7 * std::max(1.0, std::fabs(std::log(double(xf)))))
        << x;
  }
  EXPECT_EQ(vmath::log(1.0f), 0.0f);
  EXPECT_NEAR(vmath::log2(0.875f), std::log2(0.875), 1e-7);
}

// A vectorized loop and a one-at-a-time call give the same bits (the loop's scalar tail
// and its vector body must agree, or batch invariance breaks).
TEST(Vmath, VectorizedLoopMatchesScalarCalls) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-20.0f, 20.0f);
  const int n = 1003;
  std::vector<float> x(n), e(n), t(n), s(n), l(n);
  for (auto& v : x) v = dist(rng);
#pragma omp simd
  for (int i = 0; i < n; ++i) {
    e[i] = vmath::exp(x[i]);
    t[i] = vmath::tanh(x[i]);
    s[i] = vmath::sigmoid(x[i]);
    l[i] = vmath::log(std::fabs(x[i]) + 1e-3f);
  }
  for (int i = 0; i < n; ++i) {
    volatile float xi = x[i];  // force a scalar evaluation
    const float es = vmath::exp(xi), ts = vmath::tanh(xi), ss = vmath::sigmoid(xi);
    const float ls = vmath::log(std::fabs(xi) + 1e-3f);
    ASSERT_EQ(std::memcmp(&ls, &l[i], 4), 0) << x[i];
    ASSERT_EQ(std::memcmp(&es, &e[i], 4), 0) << x[i];
    ASSERT_EQ(std::memcmp(&ts, &t[i], 4), 0) << x[i];
    ASSERT_EQ(std::memcmp(&ss, &s[i], 4), 0) << x[i];
  }
}

}  // namespace
}  // namespace revnmt
