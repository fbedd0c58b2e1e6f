#pragma once
// Luong "general" global attention (REVERSIBLE.md §6), forward and hand-written backward.
//
//   Wq      = q · W_in                       q [R, H], W_in [H, C]
//   score_s = <c_s, Wq>        for s < length of the row's sentence
//   a       = softmax(score)   (a_s = 0 exactly for masked s)
//   ctx     = Σ_s a_s c_s                    [R, C]; zero for a sentence of length 0
//   attn_h  = tanh([ctx ; q] · W_out)        W_out [C + H, H] (context first, then query)
//
// A row's result depends only on its query and its own sentence's first `length` context
// vectors, computed in a fixed order: it is bit-identical whatever the other rows of the
// call are and however long the padding is (batch invariance, needed by translation).
//
// The reversible decoder calls forward/backward once per chunk of decoder steps during
// its backward sweep (REVERSIBLE.md §4.2): rows are time-major (t - t0) * B + b, so the
// default row-to-sentence map is r % sentences. Beam search passes an explicit map.

#include <cstdint>
#include <string>
#include <vector>

#include "attention/context.h"
#include "nmt/core/matmul.h"
#include "nmt/core/params.h"
#include "nmt/core/tensor.h"

namespace revnmt {

// What forward keeps for backward. Caller-owned and reused: buffers grow to the largest
// call and are never reallocated afterwards.
struct AttentionTape {
  int rows = 0;
  int steps = 0;
  Tensor wq;       // [R, C]      q · W_in
  Tensor weights;  // [R, T]      softmax weights, 0 at masked positions
  Tensor concat;   // [R, C + H]  [ctx ; q]
  Tensor attn_h;   // [R, H]      tanh(concat · W_out)
};

// The attention weights packed for decoding steps, in the attention's precision; pack
// again after they change.
struct PackedAttention {
  PackedMatrix w_in, w_out;
};

class GlobalAttention {
 public:
  // Registers scope/W_in [H, C] and scope/W_out [C + H, H] (no biases).
  GlobalAttention(ParameterSet& params, const std::string& scope, int query_size, int context_size);

  int query_size() const { return query_size_; }      // H
  int context_size() const { return context_size_; }  // C

  // Arithmetic of the four weight products of forward (without `packed`) and backward:
  // fp32 (the default), or bf16 operands with f32 accumulation. The scores, softmax and
  // context sums stay in fp32.
  void set_precision(Precision precision) { precision_ = precision; }
  Precision precision() const { return precision_; }

  // query [R, H]; sentence_of_row [R] (null: r % context.sentences); attn_h [R, H];
  // weights_out [R, context.steps] or null. Thread-safe for distinct tapes.
  // With `packed` (from pack()), the two products read the packed weights.
  void forward(const float* query, int rows, const int32_t* sentence_of_row,
               const AttentionContext& context, AttentionTape& tape, float* attn_h,
               float* weights_out, const PackedAttention* packed = nullptr) const;
  // Packs W_in and W_out in precision().
  void pack(PackedAttention& packed) const;

  // Same query/rows/map/context as the forward that filled `tape`. d_attn_h [R, H];
  // d_query [R, H] is written; d_context [sentences, steps, C] is accumulated (masked
  // positions untouched); dW_in and dW_out are accumulated into the parameters' grads.
  void backward(const float* query, int rows, const int32_t* sentence_of_row,
                const AttentionContext& context, const AttentionTape& tape, const float* d_attn_h,
                float* d_query, float* d_context);

 private:
  void check(int rows, const int32_t* sentence_of_row, const AttentionContext& context) const;

  int query_size_;
  int context_size_;
  Precision precision_ = Precision::fp32;
  Parameter* w_in_;   // [H, C]
  Parameter* w_out_;  // [C + H, H]

  // Backward scratch, reused across calls.
  Tensor d_pre_;                  // [R, H]
  Tensor d_concat_;               // [R, C + H]
  Tensor d_wq_;                   // [R, C]
  Tensor d_scores_;               // [R, T]
  std::vector<int32_t> offsets_;  // [S + 1] rows grouped by sentence
  std::vector<int32_t> cursor_;   // [S]
  std::vector<int32_t> order_;    // [R]
};

}  // namespace revnmt
