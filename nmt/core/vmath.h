#pragma once
// Elementwise transcendental functions for the cells, attention and softmax.
//
// They are written as straight-line IEEE arithmetic (explicit fma, selects instead of
// branches) so that a loop over them vectorizes, and so that the vectorized body and a
// scalar tail produce the same bits for the same input. Reversal (forward and reverse
// recompute the same gates) and batch invariance (a row's values do not depend on where
// it sits in a batch) both rely on that. Accuracy: a few ulp over the used ranges.

#include <cmath>
#include <cstdint>
#include <cstring>

namespace revnmt::vmath {

inline float bits_to_float(int32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// e^x; exactly 0 for x < -87.3 (so masked scores of -inf give 0), finite for all x.
inline float exp(float x) {
  // Comparisons, not std::fmin/fmax: GCC cannot vectorize those (their NaN rules).
  const float low = x > -87.3f ? x : -87.3f;
  const float clamped = low < 88.0f ? low : 88.0f;
  const float n = std::nearbyint(clamped * 1.44269504088896341f);
  // r = x - n*ln2 in two steps (Cody-Waite) keeps r exact to float precision.
  float r = std::fma(n, -0.693145751953125f, clamped);
  r = std::fma(n, -1.428606765330187045e-06f, r);
  // e^r on |r| <= ln2/2: Taylor to degree 7 (truncation below 2e-9 relative).
  float p = 1.98412698e-4f;
  p = std::fma(p, r, 1.38888889e-3f);
  p = std::fma(p, r, 8.33333333e-3f);
  p = std::fma(p, r, 4.16666667e-2f);
  p = std::fma(p, r, 1.66666667e-1f);
  p = std::fma(p, r, 0.5f);
  p = std::fma(p, r, 1.0f);
  p = std::fma(p, r, 1.0f);
  const float scale = bits_to_float((static_cast<int32_t>(n) + 127) << 23);
  const float result = p * scale;
  return x < -87.3f ? 0.0f : result;
}

// e^y - 1 for 0 <= y, accurate near 0 (no cancellation).
inline float expm1_nonnegative(float y) {
  // Taylor to degree 9 on [0, ln2): truncation below 1e-8 relative.
  float p = 2.75573192e-6f;
  p = std::fma(p, y, 2.48015873e-5f);
  p = std::fma(p, y, 1.98412698e-4f);
  p = std::fma(p, y, 1.38888889e-3f);
  p = std::fma(p, y, 8.33333333e-3f);
  p = std::fma(p, y, 4.16666667e-2f);
  p = std::fma(p, y, 1.66666667e-1f);
  p = std::fma(p, y, 0.5f);
  p = std::fma(p, y, 1.0f);
  const float small = p * y;
  const float large = exp(y) - 1.0f;
  return y < 0.693147f ? small : large;
}

inline float tanh(float x) {
  const float ax = std::fabs(x);
  const float a = ax < 9.0f ? ax : 9.0f;
  const float em = expm1_nonnegative(2.0f * a);
  const float t = em / (em + 2.0f);
  return std::copysign(t, x);
}

inline float sigmoid(float x) { return 1.0f / (1.0f + exp(-x)); }

// Natural logarithm for finite x > 0 (x <= 0 gives -inf; no NaN handling needed here).
inline float log(float x) {
  int32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  // x = 2^e · m with m in [sqrt(1/2), sqrt(2)): integer arithmetic only, so it vectorizes.
  const int32_t mantissa = (bits & 0x007fffff) | 0x3f800000;   // m in [1, 2)
  const int32_t high = int32_t(mantissa > 0x3fb504f3);          // m > sqrt(2): halve it
  const int32_t e = ((bits >> 23) & 0xff) - 127 + high;
  const float m = bits_to_float(mantissa - (high << 23));
  // ln m = 2 atanh(s), s = (m-1)/(m+1), |s| <= 0.1716: series to s^11.
  const float s = (m - 1.0f) / (m + 1.0f);
  const float s2 = s * s;
  float p = 1.0f / 11.0f;
  p = std::fma(p, s2, 1.0f / 9.0f);
  p = std::fma(p, s2, 1.0f / 7.0f);
  p = std::fma(p, s2, 1.0f / 5.0f);
  p = std::fma(p, s2, 1.0f / 3.0f);
  p = std::fma(p, s2, 1.0f);
  const float ln_m = 2.0f * s * p;
  const float result = std::fma(float(e), 0.693147180559945f, ln_m);
  return x > 0.0f ? result : -__builtin_inff();
}

inline float log2(float x) { return log(x) * 1.44269504088896341f; }

}  // namespace revnmt::vmath
