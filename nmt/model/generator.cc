#include "nmt/model/generator.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "nmt/core/error.h"
#include "nmt/core/matmul.h"
#include "nmt/core/vmath.h"

namespace revnmt {

namespace {

// Rows × V below which the per-row loops stay on one thread.
constexpr int64_t kParallelWork = int64_t(1) << 16;
// Columns of db summed by one thread.
constexpr int kBiasChunk = 1024;

// Partial sums per row: kLanes double accumulators, element i always going to lane
// i % kLanes, combined in a fixed tree. Accurate for V in the tens of thousands, and the
// same bits for any alignment, vectorization or thread.
constexpr int kLanes = 16;
// Elements of a row exponentiated at once into a stack buffer (a multiple of kLanes).
constexpr int kChunk = 512;

// l += bias over n > 0 floats, returning max_v l_v (one pass). The max is exact, so the
// reduction order does not matter.
inline float add_bias_and_max(float* l, const float* bias, int n) {
  float m = l[0] + bias[0];
#pragma omp simd reduction(max : m)
  for (int i = 0; i < n; ++i) {
    const float v = l[i] + bias[i];
    l[i] = v;
    m = std::max(m, v);
  }
  return m;
}

// acc[i % kLanes] += x[i] for i < n, with n a multiple of kLanes except at a row's end.
inline void add_lanes(const float* x, int n, double* acc) {
  int i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[j] += double(x[i + j]);  // [kLanes]
  for (int j = 0; i < n; ++i, ++j) acc[j] += double(x[i]);
}

inline double combine_lanes(const double* acc) {
  double level[kLanes / 2];
  for (int j = 0; j < kLanes / 2; ++j) level[j] = acc[j] + acc[j + kLanes / 2];
  for (int w = kLanes / 4; w >= 1; w /= 2)
    for (int j = 0; j < w; ++j) level[j] += level[j + w];
  return level[0];
}

struct RowSums {
  double exp = 0;     // Σ_v exp(l_v - max)
  double logits = 0;  // Σ_v l_v (only with kSumLogits)
};

// Σ exp(l - max) and optionally Σ l over a row [n]. With kStore the row is overwritten by
// exp(l - max); otherwise it is left alone (the exponentials go through a stack chunk, so
// no V-sized temporary exists).
template <bool kStore, bool kSumLogits>
RowSums exp_sums(float* l, int n, float max) {
  double se[kLanes] = {}, sl[kLanes] = {};
  alignas(64) float chunk[kChunk];
  for (int c0 = 0; c0 < n; c0 += kChunk) {
    const int cn = std::min(kChunk, n - c0);
    float* lc = l + c0;              // [cn]
    float* e = kStore ? lc : chunk;  // [cn]
    if (kSumLogits) add_lanes(lc, cn, sl);
#pragma omp simd
    for (int k = 0; k < cn; ++k) e[k] = vmath::exp(lc[k] - max);  // [cn]
    add_lanes(e, cn, se);
  }
  RowSums sums;
  sums.exp = combine_lanes(se);
  if (kSumLogits) sums.logits = combine_lanes(sl);
  return sums;
}

// Loss of one row of logits [V] (bias added) and, with `grad`, the row overwritten by
// scale · (softmax - smoothed target).
template <bool kGrad>
void row_loss(float* l, const float* bias, int v, int target, float eps, float scale, double* nll,
              double* smoothed) {
  const float max = add_bias_and_max(l, bias, v);
  const float l_target = l[target];
  const RowSums sums =
      eps > 0.0f ? exp_sums<kGrad, true>(l, v, max) : exp_sums<kGrad, false>(l, v, max);
  const double log_z = double(max) + std::log(sums.exp);  // log Σ exp(l)
  *nll = log_z - double(l_target);
  *smoothed = eps > 0.0f ? (1.0 - eps) * *nll + eps * (log_z - sums.logits / double(v)) : *nll;
  if (kGrad) {
    const float inv = float(1.0 / sums.exp);
    const float off = eps / float(v);                               // ε/V of the smoothed target
    for (int k = 0; k < v; ++k) l[k] = (l[k] * inv - off) * scale;  // [V]
    l[target] -= (1.0f - eps) * scale;
  }
}

}  // namespace

Generator::Generator(ParameterSet& params, const std::string& scope, int hidden, int vocab)
    : hidden_(hidden), vocab_(vocab) {
  REVNMT_CHECK(hidden > 0 && vocab > 0, "generator sizes ", hidden, ", ", vocab);
  w_ = &params.add(scope + "/W", {vocab, hidden});
  b_ = &params.add(scope + "/b", {vocab});
}

LossStats Generator::loss_and_backward(const float* h, int rows, const int32_t* targets,
                                       int32_t pad_id, float label_smoothing, float scale,
                                       float* d_h) {
  REVNMT_CHECK(d_h != nullptr, "loss_and_backward without a gradient output");
  return run(h, rows, targets, pad_id, label_smoothing, scale, d_h);
}

LossStats Generator::loss_only(const float* h, int rows, const int32_t* targets, int32_t pad_id,
                               float label_smoothing) {
  return run(h, rows, targets, pad_id, label_smoothing, 0.0f, nullptr);
}

LossStats Generator::run(const float* h, int rows, const int32_t* targets, int32_t pad_id,
                         float eps, float scale, float* d_h) {
  REVNMT_CHECK(rows >= 0, "generator rows ", rows);
  REVNMT_CHECK(eps >= 0.0f && eps < 1.0f, "label smoothing ", eps);
  const int hd = hidden_, v = vocab_;
  const bool grad = d_h != nullptr;

  // Non-pad rows, in order; checked before any gradient is touched.
  kept_.clear();
  for (int r = 0; r < rows; ++r) {
    const int32_t y = targets[r];
    if (y == pad_id) {
      if (grad) std::memset(d_h + int64_t(r) * hd, 0, sizeof(float) * hd);  // [H]
      continue;
    }
    REVNMT_CHECK(y >= 0 && y < v, "target id ", y, " outside the vocabulary of ", v);
    kept_.push_back(r);
  }
  const int kept = int(kept_.size());
  LossStats stats;
  stats.tokens = kept;
  if (kept == 0) return stats;

  const int capacity = std::min(kept, kBlockRows);
  h_block_.resize({capacity, hd});
  logits_.resize({capacity, v});
  row_nll_.resize(size_t(capacity));
  row_smoothed_.resize(size_t(capacity));
  if (grad) d_h_block_.resize({capacity, hd});
  float* hb = h_block_.data<float>();     // [blk, H]
  float* logits = logits_.data<float>();  // [blk, V]
  const float* w = w_->data();            // [V, H]
  const float* bias = b_->data();         // [V]
  // bf16: the weights rounded and packed once per call (they do not change during it), or
  // once per FixedWeights scope. (Packing them in fp32 too bought nothing measurable at
  // these block sizes.)
  const bool bf16 = precision_ == Precision::bf16;
  if (bf16) {
    if (!(fixed_weights_ && w_t_fresh_)) {
      w_t_packed_.pack(true, hd, v, w, hd, Precision::bf16);  // Wᵀ [H, V]
      w_t_fresh_ = fixed_weights_;
    }
    if (grad && !(fixed_weights_ && w_fresh_)) {
      w_packed_.pack(false, v, hd, w, hd, Precision::bf16);  // W [V, H]
      w_fresh_ = fixed_weights_;
    }
    h16_.resize(size_t(capacity) * hd);
    if (grad) dlogits16_.resize(size_t(capacity) * v);
  }

  for (int start = 0; start < kept; start += kBlockRows) {
    const int n = std::min(kBlockRows, kept - start);
    const int32_t* index = kept_.data() + start;  // [n]
    for (int k = 0; k < n; ++k)
      std::memcpy(hb + int64_t(k) * hd, h + int64_t(index[k]) * hd, sizeof(float) * hd);  // [H]
    // logits [n, V] = h_blk [n, H] · Wᵀ [H, V]
    if (bf16)
      matmul_packed(n, hb, hd, w_t_packed_, logits, v);
    else
      matmul_nt(n, v, hd, hb, w, logits);

    // One thread per row; per-row results are combined below in row order.
#pragma omp parallel for schedule(static) if (int64_t(n) * v >= kParallelWork)
    for (int k = 0; k < n; ++k) {
      float* row = logits + int64_t(k) * v;  // [V]
      const int y = targets[index[k]];
      if (grad)
        row_loss<true>(row, bias, v, y, eps, scale, &row_nll_[size_t(k)],
                       &row_smoothed_[size_t(k)]);
      else
        row_loss<false>(row, bias, v, y, eps, scale, &row_nll_[size_t(k)],
                        &row_smoothed_[size_t(k)]);
      // bf16 copy of the row's gradient while it is still in cache.
      if (grad && bf16) to_bf16(row, v, dlogits16_.data() + int64_t(k) * v);
    }
    for (int k = 0; k < n; ++k) {
      stats.nll += row_nll_[size_t(k)];
      stats.smoothed_loss += row_smoothed_[size_t(k)];
    }
    if (!grad) continue;

    // logits now holds dlogits [n, V].
    // db [V] += Σ_k dlogits[k], rows in order; columns split across threads.
    float* db = b_->gradient();  // [V]
#pragma omp parallel for schedule(static) if (int64_t(n) * v >= kParallelWork)
    for (int c0 = 0; c0 < v; c0 += kBiasChunk) {
      const int c1 = std::min(v, c0 + kBiasChunk);
      for (int k = 0; k < n; ++k) {
        const float* g = logits + int64_t(k) * v;  // [V]
        for (int j = c0; j < c1; ++j) db[j] += g[j];
      }
    }
    float* dhb = d_h_block_.data<float>();  // [blk, H]
    if (bf16) {
      const bf16_t* g16 = dlogits16_.data();  // [n, V], written by the row loop
      bf16_t* h16 = h16_.data();              // [n, H]
      to_bf16(hb, int64_t(n) * hd, h16);
      // dW [V, H] += dlogitsᵀ [V, n] · h_blk [n, H]
      matmul_bf16(true, false, v, hd, n, g16, v, h16, hd, w_->gradient(), hd,
                  /*accumulate=*/true);
      // d_h_blk [n, H] = dlogits [n, V] · W [V, H]
      matmul_packed(n, g16, v, w_packed_, dhb, hd);
    } else {
      // dW [V, H] += dlogitsᵀ [V, n] · h_blk [n, H]
      matmul_tn(v, hd, n, logits, hb, w_->gradient(), /*accumulate=*/true);
      // d_h_blk [n, H] = dlogits [n, V] · W [V, H]
      matmul_nn(n, hd, v, logits, w, dhb);
    }
    for (int k = 0; k < n; ++k)
      std::memcpy(d_h + int64_t(index[k]) * hd, dhb + int64_t(k) * hd, sizeof(float) * hd);
  }
  return stats;
}

void Generator::pack(PackedMatrix& w_t, Precision precision) const {
  w_t.pack(true, hidden_, vocab_, w_->data(), hidden_, precision);  // Wᵀ [H, V]
}

void Generator::logits(const float* h, int rows, float* out, const PackedMatrix* w_t) const {
  REVNMT_CHECK(rows >= 0, "generator rows ", rows);
  const int hd = hidden_, v = vocab_;
  // out [R, V] = h [R, H] · Wᵀ [H, V]
  if (w_t != nullptr) {
    REVNMT_CHECK(w_t->k() == hd && w_t->n() == v, "packed output layer of another shape");
    matmul_packed(rows, h, hd, *w_t, out, v);
  } else {
    matmul_nt(rows, v, hd, h, w_->data(), out);
  }
}

LogSoftmaxNormalizer Generator::normalize_row(float* row) const {
  const int v = vocab_;
  const float max = add_bias_and_max(row, b_->data(), v);
  const RowSums sums = exp_sums<false, false>(row, v, max);
  return {max, float(std::log(sums.exp))};
}

void Generator::log_probs(const float* h, int rows, float* out, const PackedMatrix* w_t) const {
  logits(h, rows, out, w_t);
  logits_to_log_probs(out, rows);
}

void Generator::logits_to_log_probs(float* out, int rows) const {
  const int v = vocab_;
#pragma omp parallel for schedule(static) if (int64_t(rows) * v >= kParallelWork)
  for (int r = 0; r < rows; ++r) {
    float* row = out + int64_t(r) * v;  // [V]
    const LogSoftmaxNormalizer normalizer = normalize_row(row);
    for (int j = 0; j < v; ++j) row[j] = normalizer.log_prob(row[j]);  // [V]
  }
}

}  // namespace revnmt
