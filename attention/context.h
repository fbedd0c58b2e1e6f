#pragma once
// What attention reads per source position (REVERSIBLE.md §6): a read-only view of the
// context vectors of a batch of source sentences (AttentionContext), and the store that
// owns them for one batch (ContextStore).
//
// A context vector is [embedding ; slice] — embedding first, as the reference's
// slice_emb. The four context types of a recipe are layouts of that vector:
//   hidden    : emb_width = 0, slice_width = H (the whole top-layer output)
//   slice     : emb_width = 0, slice_width = sd
//   emb       : emb_width = E, slice_width = 0
//   slice_emb : emb_width = E, slice_width = sd
// The encoder produces both parts time-major (row t * sentences + b); attention wants each
// sentence's positions contiguous, so the store is sentence-major and converts on the way
// in (values) and on the way out (gradients).

#include <cstdint>
#include <cstring>
#include <vector>

#include "nmt/core/error.h"
#include "nmt/core/tensor.h"

namespace revnmt {

struct AttentionContext {
  int sentences = 0;
  int steps = 0;                     // T (padded source length)
  int size = 0;                      // C
  const float* values = nullptr;     // [sentences, steps, size]
  const int32_t* lengths = nullptr;  // [sentences]; positions s >= lengths[i] are masked
};

struct ContextLayout {
  int emb_width = 0;    // E: columns [0, E) hold the source embedding
  int slice_width = 0;  // sd: columns [E, E + sd) hold the top-layer slice
  int size() const { return emb_width + slice_width; }
};

// Owns the context of one batch and its gradient. Buffers are reused across batches
// (no allocation once the largest batch has been seen).
class ContextStore {
 public:
  // Shapes the store for a batch and zeroes values and gradient. `lengths` [sentences]
  // is copied; every length must be in [0, steps].
  void reset(const ContextLayout& layout, int sentences, int steps, const int32_t* lengths) {
    REVNMT_CHECK(layout.emb_width >= 0 && layout.slice_width >= 0 && layout.size() > 0,
                 "context layout ", layout.emb_width, "+", layout.slice_width);
    REVNMT_CHECK(sentences >= 0 && steps >= 0, "context shape ", sentences, "x", steps);
    layout_ = layout;
    sentences_ = sentences;
    steps_ = steps;
    lengths_.assign(lengths, lengths + sentences);
    for (int32_t length : lengths_)
      REVNMT_CHECK(length >= 0 && length <= steps, "source length ", length, " of ", steps);
    values_.resize({sentences, steps, layout.size()});
    values_.zero();
    gradient_.resize({sentences, steps, layout.size()});
    gradient_.zero();
  }

  // src: time-major [steps * sentences, ld], row t * sentences + b; its first emb_width
  // columns become the embedding part of position t of sentence b (masked positions stay 0).
  void set_embeddings(const float* src, int ld) { copy_in(0, layout_.emb_width, src, ld); }
  // Same for the slice part (first slice_width columns of each source row).
  void set_slices(const float* src, int ld) {
    copy_in(layout_.emb_width, layout_.slice_width, src, ld);
  }

  AttentionContext view() const {
    return {sentences_, steps_, layout_.size(), values_.data<float>(), lengths_.data()};
  }

  // d(loss)/d(values) [sentences, steps, size]: what GlobalAttention::backward accumulates.
  float* gradient() { return gradient_.data<float>(); }
  const float* gradient() const { return gradient_.data<float>(); }
  void zero_gradient() { gradient_.zero(); }

  // Adds the gradient of the embedding (slice) part of steps [t0, t1) into dst, time-major
  // rows (t - t0) * sentences + b with leading dimension ld, columns [0, emb_width)
  // ([0, slice_width)). This is the shape the stacks' backward sweeps hand out per chunk.
  void add_embedding_gradient(int t0, int t1, float* dst, int ld) const {
    add_out(0, layout_.emb_width, t0, t1, dst, ld);
  }
  void add_slice_gradient(int t0, int t1, float* dst, int ld) const {
    add_out(layout_.emb_width, layout_.slice_width, t0, t1, dst, ld);
  }

  const ContextLayout& layout() const { return layout_; }
  int sentences() const { return sentences_; }
  int steps() const { return steps_; }
  const int32_t* lengths() const { return lengths_.data(); }

 private:
  void copy_in(int column, int width, const float* src, int ld) {
    const int c = layout_.size();
    float* values = values_.data<float>();  // [S, T, C]
    for (int b = 0; b < sentences_; ++b)
      for (int t = 0; t < lengths_[b]; ++t)
        std::memcpy(values + (int64_t(b) * steps_ + t) * c + column,  // [width]
                    src + (int64_t(t) * sentences_ + b) * ld,         // [width]
                    sizeof(float) * size_t(width));
  }

  void add_out(int column, int width, int t0, int t1, float* dst, int ld) const {
    REVNMT_CHECK(0 <= t0 && t0 <= t1 && t1 <= steps_, "steps ", t0, "..", t1, " of ", steps_);
    const int c = layout_.size();
    const float* gradient = gradient_.data<float>();  // [S, T, C]
    for (int t = t0; t < t1; ++t)
      for (int b = 0; b < sentences_; ++b) {
        if (t >= lengths_[b]) continue;  // masked: gradient is zero
        const float* g = gradient + (int64_t(b) * steps_ + t) * c + column;  // [width]
        float* d = dst + (int64_t(t - t0) * sentences_ + b) * ld;            // [width]
        for (int j = 0; j < width; ++j) d[j] += g[j];
      }
  }

  ContextLayout layout_;
  int sentences_ = 0;
  int steps_ = 0;
  std::vector<int32_t> lengths_;
  Tensor values_;    // [S, T, C]
  Tensor gradient_;  // [S, T, C]
};

}  // namespace revnmt
