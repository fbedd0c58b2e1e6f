#pragma once
// The output layer: logits = h · Wᵀ + b over the target vocabulary, with a fused
// log-softmax + negative log-likelihood loss and its backward.
//
// Rows are processed in blocks of kBlockRows non-pad rows, so no buffer larger than
// [kBlockRows, V] exists, and each row's softmax is computed by one thread in a fixed
// order: results are identical for any thread count. A row's logits and log-probs do not
// depend on the other rows of the call (batch invariance, needed by translation).
//
// Label smoothing as in Marian/fairseq: the target distribution of a token is
// (1 - ε)·onehot(y) + ε/V, so the smoothed loss of a row is
//   (1 - ε)·(-log p_y) + ε·(log Z - mean_v logit_v)
// and the gradient w.r.t. the logits is softmax - target distribution.

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "nmt/core/matmul.h"
#include "nmt/core/params.h"
#include "nmt/core/tensor.h"

namespace revnmt {

struct LossStats {
  double nll = 0;            // Σ -log p(target) over non-pad tokens (no smoothing)
  double smoothed_loss = 0;  // Σ cross-entropy against the smoothed target (= nll if ε = 0)
  int64_t tokens = 0;        // non-pad tokens

  LossStats& operator+=(const LossStats& other) {
    nll += other.nll;
    smoothed_loss += other.smoothed_loss;
    tokens += other.tokens;
    return *this;
  }
  // exp(nll / tokens); 1 when there are no tokens.
  double perplexity() const { return tokens > 0 ? std::exp(nll / double(tokens)) : 1.0; }
};

// The log-softmax of a row of logits l (bias added) as two numbers:
// log p_v = (l_v - max) - log_sum, so that a search converts only the entries it keeps.
// The default {0, 0} leaves values that are log-probs already unchanged.
struct LogSoftmaxNormalizer {
  float max = 0;
  float log_sum = 0;
  float log_prob(float logit) const { return (logit - max) - log_sum; }
};

class Generator {
 public:
  static constexpr int kBlockRows = 256;

  // Registers scope/W [V, H] and scope/b [V].
  Generator(ParameterSet& params, const std::string& scope, int hidden, int vocab);

  int hidden() const { return hidden_; }  // H
  int vocab() const { return vocab_; }    // V

  // Arithmetic of the training multiplies (loss_and_backward, loss_only); fp32 by default.
  void set_precision(Precision precision) { precision_ = precision; }
  Precision precision() const { return precision_; }

  // While one of these lives (one training step, one evaluation: the weights do not
  // change), bf16 weights are rounded and packed at the first call that needs them instead
  // of at every call: a step calls the generator once per chunk of target steps, and
  // packing the 8k × 300 matrix twice costs about 1.4 ms. Outside a scope every call packs.
  class FixedWeights {
   public:
    explicit FixedWeights(Generator& generator) : generator_(generator) {
      generator_.fixed_weights_ = true;
      generator_.w_t_fresh_ = generator_.w_fresh_ = false;
    }
    ~FixedWeights() { generator_.fixed_weights_ = false; }
    FixedWeights(const FixedWeights&) = delete;
    FixedWeights& operator=(const FixedWeights&) = delete;

   private:
    Generator& generator_;
  };

  // h [R, H], targets [R]. Rows whose target is pad_id are skipped (not counted, zero
  // gradient). Returns unscaled sums. Backward of scale · smoothed_loss: d_h [R, H] is
  // written, dW and db are accumulated into the parameters' grads.
  // Targets other than pad_id must be in [0, V) (InternalError otherwise).
  LossStats loss_and_backward(const float* h, int rows, const int32_t* targets, int32_t pad_id,
                              float label_smoothing, float scale, float* d_h);

  // The same statistics without gradients (validation).
  LossStats loss_only(const float* h, int rows, const int32_t* targets, int32_t pad_id,
                      float label_smoothing);

  // out [R, V] = log_softmax(h · Wᵀ + b), for decoding. Thread-safe. With `w_t` (from
  // pack()), the product reads the packed weights (faster, above all for few rows).
  void log_probs(const float* h, int rows, float* out, const PackedMatrix* w_t = nullptr) const;

  // The same in two parts, so that a search can finish each row while it is in cache and
  // look at a few of its entries only: logits writes out [R, V] = h · Wᵀ; normalize_row
  // adds the bias to one row [V] and returns its normalizer. The log-prob of entry v is
  // then normalizer.log_prob(row[v]), bit for bit what log_probs writes.
  void logits(const float* h, int rows, float* out, const PackedMatrix* w_t = nullptr) const;
  LogSoftmaxNormalizer normalize_row(float* row) const;
  // out [R, V]: logits in, log-probs out (normalize_row and log_prob for every entry).
  void logits_to_log_probs(float* out, int rows) const;
  // Wᵀ [H, V] packed for log_probs, in `precision`; pack again after the weights change.
  void pack(PackedMatrix& w_t, Precision precision) const;

 private:
  LossStats run(const float* h, int rows, const int32_t* targets, int32_t pad_id,
                float label_smoothing, float scale, float* d_h);

  int hidden_;
  int vocab_;
  Precision precision_ = Precision::fp32;
  Parameter* w_;  // [V, H]
  Parameter* b_;  // [V]

  // Reused across calls.
  std::vector<int32_t> kept_;  // [R] indices of non-pad rows
  Tensor h_block_;             // [blk, H] gathered rows
  Tensor logits_;              // [blk, V] logits, then d(loss)/d(logits) in place
  Tensor d_h_block_;           // [blk, H]
  // bf16: the weights packed once per call, or once per FixedWeights scope (Wᵀ for the
  // logits, W for d_h), and bf16 copies of the block's rows and of d(loss)/d(logits).
  PackedMatrix w_t_packed_, w_packed_;
  bool fixed_weights_ = false;
  bool w_t_fresh_ = false, w_fresh_ = false;  // packed in the current FixedWeights scope
  std::vector<bf16_t> h16_, dlogits16_;
  std::vector<double> row_nll_;       // [blk]
  std::vector<double> row_smoothed_;  // [blk]
};

}  // namespace revnmt
