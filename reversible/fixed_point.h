#pragma once
// Fixed-point arithmetic of the reversible cells (REVERSIBLE.md §2).
//
// States are int64 with 23 fractional bits. The reference used int32 and wrapped
// silently when an LSTM cell grew past 256 (pitfall P9); int64 leaves 29 integer bits,
// and every update checks |state| < 2^52 (kStateLimit) so that the buffer arithmetic,
// which divides through doubles, stays exact. Forget multipliers are Z/1024 with
// 1 <= Z <= 1024 (Z >= 1 always, so the inverse division is defined: pitfall P16).

#include <cmath>
#include <cstdint>

namespace revnmt::fixed {

constexpr int kHiddenRadix = 23;
constexpr int kForgetRadix = 10;
constexpr int64_t kForgetOne = int64_t(1) << kForgetRadix;  // Z = 1024 means z = 1
constexpr int64_t kStateLimit = int64_t(1) << 52;           // |state| must stay below
constexpr float kToFloat = 1.0f / float(int64_t(1) << kHiddenRadix);
constexpr float kToFixed = float(int64_t(1) << kHiddenRadix);

// F(v): fixed point -> float (correctly rounded, so deterministic).
inline float to_float(int64_t v) { return float(v) * kToFloat; }

// Qh(x): float -> fixed point, round half to even. |x| must be below 2^29 (checked by
// the callers through kStateLimit on the resulting states).
inline int64_t to_fixed(float x) { return static_cast<int64_t>(std::nearbyint(x * kToFixed)); }

// Qz(z) clamped to [1, 1024].
inline int32_t quantize_forget(float z) {
  const float scaled = std::nearbyint(z * float(kForgetOne));
  const float low = scaled > 1.0f ? scaled : 1.0f;  // comparisons vectorize, fmin/fmax do not
  return static_cast<int32_t>(low < float(kForgetOne) ? low : float(kForgetOne));
}

// C++ `/` and `%` truncate toward zero; the buffer arithmetic needs floor semantics.
inline int64_t floor_div(int64_t a, int64_t m) {
  const int64_t q = a / m;
  return (a % m != 0 && ((a < 0) != (m < 0))) ? q - 1 : q;
}
inline int64_t floor_mod(int64_t a, int64_t m) {
  const int64_t r = a % m;
  return (r != 0 && ((r < 0) != (m < 0))) ? r + m : r;
}

// floor(n / z) and n mod z for |n| < 2^53 and 1 <= z <= 1024, through one double
// division plus a correction step (no 64-bit integer division: it does not vectorize
// and costs tens of cycles). The double quotient may be off by one near integers; the
// remainder check fixes it exactly.
inline void div_mod_small(int64_t n, int64_t z, int64_t& quotient, int64_t& remainder) {
  int64_t q = static_cast<int64_t>(std::floor(double(n) / double(z)));
  int64_t r = n - q * z;
  q = r < 0 ? q - 1 : q;
  r = r < 0 ? r + z : r;
  q = r >= z ? q + 1 : q;
  r = r >= z ? r - z : r;
  quotient = q;
  remainder = r;
}

}  // namespace revnmt::fixed
