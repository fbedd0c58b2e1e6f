#include "reversible/rev_layer.h"

#include <cstdlib>

#include "nmt/core/error.h"
#include "nmt/core/matmul.h"
#include "nmt/core/parallel.h"
#include "nmt/core/vmath.h"
#include "reversible/fixed_point.h"

namespace revnmt {

RevLayer::RevLayer(ParameterSet& params, const std::string& scope, const RevLayerConfig& config,
                   int projection_width)
    : config_(config),
      projection_width_(projection_width),
      wx_(params.add(scope + "/Wx", {config.input_size, projection_width})),
      bx_(params.add(scope + "/bx", {projection_width})),
      max_forget_(config.max_forget),
      one_minus_max_forget_(1.0f - config.max_forget) {
  REVNMT_CHECK(config.hidden_size > 0 && config.hidden_size % 2 == 0,
               "reversible layers need an even hidden size, got ", config.hidden_size);
  REVNMT_CHECK(config.max_forget > 0.0f && config.max_forget <= 1.0f, "max_forget ",
               config.max_forget);
}

void RevLayer::project(const float* x, int rows, float* p) const {
  const int n = projection_width_;
  // p [rows, n] = x [rows, I] · Wx [I, n]
  matmul(config_.precision, false, false, rows, n, config_.input_size, x, config_.input_size,
         wx_.data(), n, p, n);
  const float* bias = bx_.data();
  for_each_row(rows, n, [=](int r) {
    const int width = n;
    float* row = p + int64_t(r) * width;  // [n]
#pragma omp simd
    for (int j = 0; j < width; ++j) row[j] += bias[j];
  });
}

void RevLayer::backward_projection(const float* x, const float* dp, int rows, float* dx) {
  const int n = projection_width_, in = config_.input_size;
  // dWx [I, n] += xᵀ [I, rows] · dp [rows, n]
  matmul(config_.precision, true, false, in, n, rows, x, in, dp, n, wx_.gradient(), n,
         /*accumulate=*/true);
  add_column_sums(dp, rows, n, bx_.gradient());
  // dx [rows, I] = dp [rows, n] · Wxᵀ [n, I]
  if (dx != nullptr)
    matmul(config_.precision, false, true, rows, in, n, dp, n, wx_.data(), n, dx, in);
}

void RevLayer::add_optimal_bits(const float* s, int64_t ld, const uint8_t* active, int rows,
                                int slice, double* optimal) const {
  const int g = half();
  const ForgetMap forget = forget_map();
  for (int b = 0; b < rows; ++b) {
    if (!active[b]) continue;
    const float* row = s + b * ld;  // [G]
    float row_bits = 0;
#pragma omp simd reduction(+ : row_bits)
    for (int u = slice; u < g; ++u) {
      const float z = forget(row[u]);
      row_bits -= vmath::log2(z > kMinForget ? z : kMinForget);
    }
    optimal[b] += row_bits;
  }
}

void check_state_range(const int64_t* h, int64_t ld, int rows, int units, const uint8_t* active,
                       const char* what) {
  bool bad = false;
#pragma omp parallel for schedule(static) reduction(| : bad) if (use_team(int64_t(rows) * units))
  for (int b = 0; b < rows; ++b) {
    if (!active[b]) continue;
    const int64_t* row = h + b * ld;
#pragma omp simd reduction(| : bad)
    for (int u = 0; u < units; ++u)
      bad |= (row[u] >= fixed::kStateLimit) | (row[u] <= -fixed::kStateLimit);
  }
  if (bad)
    throw RangeError(detail::concat(
        what, " left the fixed-point range (|value| >= 2^", 52 - fixed::kHiddenRadix,
        "); the model diverged (lower the learning rate or enable gradient clipping)"));
}

}  // namespace revnmt
