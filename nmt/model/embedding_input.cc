#include "nmt/model/embedding_input.h"

namespace revnmt {

void EmbeddingInput::fill(int t0, int t1, float* out) {
  const int64_t n = int64_t(t1 - t0) * rows_;
  const int d = embedding_.dim();
  embedding_.lookup(ids_ + int64_t(t0) * rows_, n, out);  // [n, D]
  if (mask_ == nullptr) return;
  for (int64_t r = 0; r < n; ++r) {
    const float* m = mask_ + (r % rows_) * d;  // [D]
    float* row = out + r * d;
#pragma omp simd
    for (int j = 0; j < d; ++j) row[j] *= m[j];
  }
}

void EmbeddingInput::backward(int t0, int t1, const float* d_out) {
  const int64_t n = int64_t(t1 - t0) * rows_;
  const int d = embedding_.dim();
  const float* grad = d_out;
  if (mask_ != nullptr) {
    scratch_.resize(size_t(n) * d);
    for (int64_t r = 0; r < n; ++r) {
      const float* m = mask_ + (r % rows_) * d;
#pragma omp simd
      for (int j = 0; j < d; ++j) scratch_[r * d + j] = d_out[r * d + j] * m[j];
    }
    grad = scratch_.data();
  }
  embedding_.backward(ids_ + int64_t(t0) * rows_, n, grad);
}

}  // namespace revnmt
