#include "nmt/model/embedding.h"

#include <cstring>

#include "nmt/core/error.h"

namespace revnmt {

Embedding::Embedding(ParameterSet& params, const std::string& scope, int vocab, int dim)
    : vocab_(vocab), dim_(dim) {
  REVNMT_CHECK(vocab > 0 && dim > 0, "embedding sizes ", vocab, ", ", dim);
  table_ = &params.add(scope + "/E", {vocab, dim});
}

void Embedding::check_ids(const int32_t* ids, int64_t n) const {
  REVNMT_CHECK(n >= 0, "embedding of ", n, " tokens");
  for (int64_t i = 0; i < n; ++i)
    REVNMT_CHECK(ids[i] >= 0 && ids[i] < vocab_, "token id ", ids[i], " at position ", i,
                 " outside the vocabulary of ", vocab_);
}

void Embedding::lookup(const int32_t* ids, int64_t n, float* out) const {
  check_ids(ids, n);
  const float* table = table_->data();  // [V, D]
  for (int64_t i = 0; i < n; ++i)
    std::memcpy(out + i * dim_, table + int64_t(ids[i]) * dim_, sizeof(float) * dim_);  // [D]
}

void Embedding::backward(const int32_t* ids, int64_t n, const float* d_out) {
  check_ids(ids, n);
  float* grad = table_->gradient();  // [V, D]
  // Sequential in i: a repeated id sums its rows in token order. (n·D is small next to
  // the matmuls of a step; a parallel version would split columns, not tokens.)
  for (int64_t i = 0; i < n; ++i) {
    float* g = grad + int64_t(ids[i]) * dim_;  // [D]
    const float* d = d_out + i * dim_;         // [D]
    for (int j = 0; j < dim_; ++j) g[j] += d[j];
  }
}

}  // namespace revnmt
