#include "attention/global_attention.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "nmt/core/error.h"
#include "nmt/core/matmul.h"
#include "nmt/core/parallel.h"
#include "nmt/core/vmath.h"

namespace revnmt {

namespace {

// Rows × steps × C below which the per-row loops stay on one thread.
constexpr int64_t kParallelWork = int64_t(1) << 15;

constexpr int kLanes = 8;

// <a, b> over n floats: kLanes independent partial sums combined in a fixed tree, then the
// tail. Without -ffast-math the compiler may vectorize this but not reorder it, so the
// result is the same for any alignment of a and b and any position of the row in a batch.
inline float dot(const float* a, const float* b, int n) {
  float acc[kLanes] = {};
  int i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[j] += a[i + j] * b[i + j];
  float tail = 0.0f;
  for (; i < n; ++i) tail += a[i] * b[i];
  return (((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))) + tail;
}

}  // namespace

GlobalAttention::GlobalAttention(ParameterSet& params, const std::string& scope, int query_size,
                                 int context_size)
    : query_size_(query_size), context_size_(context_size) {
  REVNMT_CHECK(query_size > 0 && context_size > 0, "attention sizes ", query_size, ", ",
               context_size);
  w_in_ = &params.add(scope + "/W_in", {query_size, context_size});
  w_out_ = &params.add(scope + "/W_out", {context_size + query_size, query_size});
}

void GlobalAttention::check(int rows, const int32_t* sentence_of_row,
                            const AttentionContext& context) const {
  REVNMT_CHECK(rows >= 0, "attention rows ", rows);
  REVNMT_CHECK(context.size == context_size_, "context size ", context.size, ", attention expects ",
               context_size_);
  REVNMT_CHECK(context.steps >= 0 && context.sentences >= 0, "context shape ", context.sentences,
               "x", context.steps);
  if (rows == 0) return;
  REVNMT_CHECK(context.sentences > 0, "attention over an empty context batch");
  for (int i = 0; i < context.sentences; ++i)
    REVNMT_CHECK(context.lengths[i] >= 0 && context.lengths[i] <= context.steps, "source length ",
                 context.lengths[i], " of ", context.steps);
  if (sentence_of_row != nullptr)
    for (int r = 0; r < rows; ++r)
      REVNMT_CHECK(sentence_of_row[r] >= 0 && sentence_of_row[r] < context.sentences, "row ", r,
                   " attends to sentence ", sentence_of_row[r], " of ", context.sentences);
}

void GlobalAttention::pack(PackedAttention& packed) const {
  const int h = query_size_, c = context_size_;
  packed.w_in.pack(false, h, c, w_in_->data(), c, precision_);
  packed.w_out.pack(false, c + h, h, w_out_->data(), h, precision_);
}

void GlobalAttention::forward(const float* query, int rows, const int32_t* sentence_of_row,
                              const AttentionContext& context, AttentionTape& tape, float* attn_h,
                              float* weights_out, const PackedAttention* packed) const {
  check(rows, sentence_of_row, context);
  const int h = query_size_, c = context_size_, hc = c + h, t = context.steps;
  tape.rows = rows;
  tape.steps = t;
  tape.wq.resize({rows, c});
  tape.weights.resize({rows, t});
  tape.concat.resize({rows, hc});
  tape.attn_h.resize({rows, h});
  float* wq = tape.wq.data<float>();            // [R, C]
  float* weights = tape.weights.data<float>();  // [R, T]
  float* concat = tape.concat.data<float>();    // [R, C + H]
  float* out = tape.attn_h.data<float>();       // [R, H]

  // wq [R, C] = q [R, H] · W_in [H, C]
  if (packed != nullptr)
    matmul_packed(rows, query, h, packed->w_in, wq, c);
  else
    matmul(precision_, false, false, rows, c, h, query, h, w_in_->data(), c, wq, c);

  const int64_t work = int64_t(rows) * t * c;
#pragma omp parallel for schedule(static) if (work >= kParallelWork)
  for (int r = 0; r < rows; ++r) {
    const int i = sentence_of_row != nullptr ? sentence_of_row[r] : r % context.sentences;
    const int length = context.lengths[i];
    const float* cs = context.values + int64_t(i) * t * c;  // [T, C] of sentence i
    const float* wq_r = wq + int64_t(r) * c;                // [C]
    float* a = weights + int64_t(r) * t;                    // [T]
    float* ctx = concat + int64_t(r) * hc;                  // [C] then q [H]

    // score_s = <c_s, wq>, s < length                     // [length]
    float max_score = -std::numeric_limits<float>::infinity();
    for (int s = 0; s < length; ++s) {
      a[s] = dot(cs + int64_t(s) * c, wq_r, c);
      max_score = std::max(max_score, a[s]);
    }
    // a_s = exp(score_s - max) / Σ exp(...)                 // [length]
    double sum = 0.0;
    for (int s = 0; s < length; ++s) {
      a[s] = vmath::exp(a[s] - max_score);
      sum += a[s];
    }
    // sum >= 1 (the max term is exp(0)); a sentence of length 0 has no weights at all.
    const float inv = length > 0 ? float(1.0 / sum) : 0.0f;
    for (int s = 0; s < length; ++s) a[s] *= inv;
    std::fill(a + length, a + t, 0.0f);  // masked positions: exactly 0

    // ctx [C] = Σ_s a_s c_s, in increasing s
    std::fill(ctx, ctx + c, 0.0f);
    for (int s = 0; s < length; ++s) {
      const float as = a[s];
      const float* cv = cs + int64_t(s) * c;  // [C]
      for (int j = 0; j < c; ++j) ctx[j] += as * cv[j];
    }
    std::memcpy(ctx + c, query + int64_t(r) * h, sizeof(float) * h);  // q [H]
  }

  // pre [R, H] = [ctx ; q] [R, C + H] · W_out [C + H, H]
  if (packed != nullptr)
    matmul_packed(rows, concat, hc, packed->w_out, out, h);
  else
    matmul(precision_, false, false, rows, h, hc, concat, hc, w_out_->data(), h, out, h);
  // attn_h [R, H] = tanh(pre)
  const int64_t n = int64_t(rows) * h;
  for_each_row(rows, h, [=](int r) {
    const int units = h;
    float* o = out + int64_t(r) * units;  // [H]
#pragma omp simd
    for (int u = 0; u < units; ++u) o[u] = vmath::tanh(o[u]);
  });
  if (attn_h != out) std::memcpy(attn_h, out, sizeof(float) * size_t(n));
  if (weights_out != nullptr)
    std::memcpy(weights_out, weights, sizeof(float) * size_t(rows) * size_t(t));  // [R, T]
}

void GlobalAttention::backward(const float* query, int rows, const int32_t* sentence_of_row,
                               const AttentionContext& context, const AttentionTape& tape,
                               const float* d_attn_h, float* d_query, float* d_context) {
  check(rows, sentence_of_row, context);
  REVNMT_CHECK(tape.rows == rows && tape.steps == context.steps, "attention tape holds ", tape.rows,
               "x", tape.steps, ", backward asked for ", rows, "x", context.steps);
  const int h = query_size_, c = context_size_, hc = c + h, t = context.steps;
  const int sentences = context.sentences;
  d_pre_.resize({rows, h});
  d_concat_.resize({rows, hc});
  d_wq_.resize({rows, c});
  d_scores_.resize({rows, t});
  const float* wq = tape.wq.data<float>();            // [R, C]
  const float* weights = tape.weights.data<float>();  // [R, T]
  const float* concat = tape.concat.data<float>();    // [R, C + H]
  const float* out = tape.attn_h.data<float>();       // [R, H]
  float* d_pre = d_pre_.data<float>();                // [R, H]
  float* d_concat = d_concat_.data<float>();          // [R, C + H]
  float* d_wq = d_wq_.data<float>();                  // [R, C]
  float* d_scores = d_scores_.data<float>();          // [R, T]

  // d_pre [R, H] = d_attn_h ⊙ (1 - attn_h²)
  for_each_row(rows, h, [=](int r) {
    const int units = h;
    const int64_t row = int64_t(r) * units;
    const float *g = d_attn_h + row, *o = out + row;  // [H]
    float* d = d_pre + row;                           // [H]
#pragma omp simd
    for (int u = 0; u < units; ++u) d[u] = g[u] * (1.0f - o[u] * o[u]);
  });
  // dW_out [C + H, H] += concatᵀ [C + H, R] · d_pre [R, H]
  matmul(precision_, true, false, hc, h, rows, concat, hc, d_pre, h, w_out_->gradient(), h,
         /*accumulate=*/true);
  // d_concat [R, C + H] = d_pre [R, H] · W_outᵀ [H, C + H]
  matmul(precision_, false, true, rows, hc, h, d_pre, h, w_out_->data(), h, d_concat, hc);

  const int64_t work = int64_t(rows) * t * c;
#pragma omp parallel for schedule(static) if (work >= kParallelWork)
  for (int r = 0; r < rows; ++r) {
    const int i = sentence_of_row != nullptr ? sentence_of_row[r] : r % sentences;
    const int length = context.lengths[i];
    const float* cs = context.values + int64_t(i) * t * c;  // [T, C]
    const float* d_ctx = d_concat + int64_t(r) * hc;        // [C] then d_q [H]
    const float* a = weights + int64_t(r) * t;              // [T]
    float* ds = d_scores + int64_t(r) * t;                  // [T]
    float* dwq = d_wq + int64_t(r) * c;                     // [C]

    // da_s = <d_ctx, c_s>; softmax backward: ds_s = a_s (da_s - Σ_k a_k da_k)
    double weighted = 0.0;
    for (int s = 0; s < length; ++s) {
      ds[s] = dot(d_ctx, cs + int64_t(s) * c, c);
      weighted += double(a[s]) * double(ds[s]);
    }
    const float mean = float(weighted);
    for (int s = 0; s < length; ++s) ds[s] = a[s] * (ds[s] - mean);  // [length]

    // d_wq [C] = Σ_s ds_s c_s
    std::fill(dwq, dwq + c, 0.0f);
    for (int s = 0; s < length; ++s) {
      const float g = ds[s];
      const float* cv = cs + int64_t(s) * c;  // [C]
      for (int j = 0; j < c; ++j) dwq[j] += g * cv[j];
    }
    // d_query [H] = d_concat[C:] (the W_in path is added below)
    std::memcpy(d_query + int64_t(r) * h, d_ctx + c, sizeof(float) * h);
  }

  // d_query [R, H] += d_wq [R, C] · W_inᵀ [C, H]
  matmul(precision_, false, true, rows, h, c, d_wq, c, w_in_->data(), c, d_query, h,
         /*accumulate=*/true);
  // dW_in [H, C] += qᵀ [H, R] · d_wq [R, C]
  matmul(precision_, true, false, h, c, rows, query, h, d_wq, c, w_in_->gradient(), c,
         /*accumulate=*/true);

  // d_context: several rows may read one sentence (decoder steps of a chunk, beams).
  // Group rows by sentence (stable, increasing r) so each sentence's gradient is summed
  // by one thread in a fixed order, whatever the thread count.
  offsets_.assign(size_t(sentences) + 1, 0);  // [S + 1]
  order_.resize(size_t(rows));                // [R]
  for (int r = 0; r < rows; ++r) {
    const int i = sentence_of_row != nullptr ? sentence_of_row[r] : r % sentences;
    ++offsets_[size_t(i) + 1];
  }
  for (int i = 0; i < sentences; ++i) offsets_[i + 1] += offsets_[i];
  cursor_.assign(offsets_.begin(), offsets_.end() - 1);  // [S]
  for (int r = 0; r < rows; ++r) {
    const int i = sentence_of_row != nullptr ? sentence_of_row[r] : r % sentences;
    order_[size_t(cursor_[size_t(i)]++)] = r;
  }

#pragma omp parallel for schedule(static) if (work >= kParallelWork)
  for (int i = 0; i < sentences; ++i) {
    const int length = context.lengths[i];
    float* dcs = d_context + int64_t(i) * t * c;  // [T, C] of sentence i
    for (int k = offsets_[i]; k < offsets_[i + 1]; ++k) {
      const int r = order_[size_t(k)];
      const float* a = weights + int64_t(r) * t;        // [T]
      const float* ds = d_scores + int64_t(r) * t;      // [T]
      const float* d_ctx = d_concat + int64_t(r) * hc;  // [C]
      const float* wq_r = wq + int64_t(r) * c;          // [C]
      // d c_s [C] += a_s d_ctx + ds_s wq, s < length (masked positions untouched)
      for (int s = 0; s < length; ++s) {
        const float as = a[s], g = ds[s];
        float* dc = dcs + int64_t(s) * c;  // [C]
        for (int j = 0; j < c; ++j) dc[j] += as * d_ctx[j] + g * wq_r[j];
      }
    }
  }
}

}  // namespace revnmt
