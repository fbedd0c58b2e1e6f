#pragma once
// The layer-0 input of a stack: token embeddings of a time-major [T, B] id array, times a
// locked dropout mask [B, D] (the same for every step of a sentence). Recomputed on
// demand, so the reverse sweep re-looks embeddings up from token ids instead of storing
// them (REVERSIBLE.md §4.2).

#include <cstdint>
#include <vector>

#include "nmt/model/embedding.h"
#include "reversible/recurrent_stack.h"

namespace revnmt {

class EmbeddingInput : public StackInput {
 public:
  // ids: [steps, rows] time-major; mask: [rows, D] or null (no dropout). Both must outlive
  // this object.
  EmbeddingInput(Embedding& embedding, const int32_t* ids, int rows, const float* mask)
      : embedding_(embedding), ids_(ids), rows_(rows), mask_(mask) {}

  int size() const override { return embedding_.dim(); }
  void fill(int t0, int t1, float* out) override;
  void backward(int t0, int t1, const float* d) override;

 private:
  Embedding& embedding_;
  const int32_t* ids_;
  int rows_;
  const float* mask_;
  std::vector<float> scratch_;
};

}  // namespace revnmt
