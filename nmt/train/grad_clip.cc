#include "nmt/train/grad_clip.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace revnmt {

namespace {
constexpr int64_t kBlock = 16384;  // elements per partial sum; fixed, not per thread

// Σ g² over n floats in double: element k goes to lane k % 8, lanes are combined in a fixed
// tree, then the tail. Vectorizes (a single running sum cannot be reordered by the
// compiler) and gives the same bits for any alignment and thread count.
double sum_squares(const float* g, int64_t n) {
  double acc[8] = {};
  int64_t k = 0;
  for (; k + 8 <= n; k += 8)
    for (int j = 0; j < 8; ++j) acc[j] += double(g[k + j]) * double(g[k + j]);
  double tail = 0.0;
  for (; k < n; ++k) tail += double(g[k]) * double(g[k]);
  return (((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))) +
         tail;
}
}

double global_grad_norm(const ParameterSet& params) {
  double total = 0.0;
  std::vector<double> partial;
  for (size_t i = 0; i < params.size(); ++i) {
    const float* g = params[i].grad.data<float>();
    const int64_t n = params[i].numel();
    const int64_t blocks = (n + kBlock - 1) / kBlock;
    partial.assign(static_cast<size_t>(blocks), 0.0);
#pragma omp parallel for schedule(static) if (blocks > 4)
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t end = std::min(n, (b + 1) * kBlock);
      partial[static_cast<size_t>(b)] = sum_squares(g + b * kBlock, end - b * kBlock);
    }
    for (double sum : partial) total += sum;
  }
  return std::sqrt(total);
}

void scale_gradients(ParameterSet& params, float factor) {
  for (size_t i = 0; i < params.size(); ++i) {
    float* g = params[i].gradient();
    const int64_t n = params[i].numel();
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t k = 0; k < n; ++k) g[k] *= factor;
  }
}

double clip_gradients(ParameterSet& params, double norm, double max_norm) {
  if (max_norm <= 0.0 || !(norm > max_norm)) return 1.0;
  const double factor = max_norm / norm;
  scale_gradients(params, static_cast<float>(factor));
  return factor;
}

}  // namespace revnmt
