#pragma once
// Word embeddings: a lookup table scope/E [V, D] with a scatter-add backward.

#include <cstdint>
#include <string>

#include "nmt/core/params.h"

namespace revnmt {

class Embedding {
 public:
  // Registers scope/E [V, D].
  Embedding(ParameterSet& params, const std::string& scope, int vocab, int dim);

  int vocab() const { return vocab_; }  // V
  int dim() const { return dim_; }      // D

  // out [n, D]: row i = E[ids[i]]. Ids outside [0, V) are an InternalError (nothing written).
  void lookup(const int32_t* ids, int64_t n, float* out) const;
  // dE[ids[i]] += d_out[i] for i = 0..n-1, in that order (deterministic, also for repeated
  // ids). d_out [n, D]. Ids outside [0, V) are an InternalError (nothing accumulated).
  void backward(const int32_t* ids, int64_t n, const float* d_out);

 private:
  void check_ids(const int32_t* ids, int64_t n) const;

  int vocab_;
  int dim_;
  Parameter* table_;  // [V, D]
};

}  // namespace revnmt
