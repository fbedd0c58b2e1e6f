#pragma once
// What beam search needs from a model, per batch of source sentences: start from the
// encoded sources (one row per sentence), run one decoder step for any set of rows, and
// reorder the rows' recurrent state. Seq2SeqDecoder adapts Seq2Seq; tests substitute
// small exact models to compare the search against exhaustive enumeration.

#include <cstdint>
#include <vector>

#include "nmt/model/seq2seq.h"

namespace revnmt {

class DecoderModel {
 public:
  virtual ~DecoderModel() = default;

  virtual int vocab() const = 0;  // V
  virtual const SpecialTokens& special() const = 0;

  // Encodes a batch of sources (ids without EOS, none empty). Afterwards the state has one
  // row per sentence, row b for sources[b].
  virtual void begin(const std::vector<std::vector<int32_t>>& sources) = 0;
  // Width of the attention rows step() writes: the batch's padded source length incl. EOS
  // (positions >= a sentence's length + 1 get weight 0).
  virtual int source_steps() const = 0;
  // One decoder step for `rows` rows: prev_tokens [rows], sentence_of_row [rows] (index
  // into the batch of begin()); writes scores [rows, V] and, if not null, attention
  // weights [rows, source_steps()]. Row r's results depend only on that row's state,
  // token and sentence (batch invariance).
  //
  // The scores become log-probs row by row: finish_row(row) turns row [V] into values
  // whose order is the log-probs' and returns the normalizer that maps each value to its
  // log-prob (normalizer.log_prob(value)). So a search finishes a row while it is in
  // cache and converts only the entries it keeps. Safe to call for different rows at once.
  virtual void step(const int32_t* prev_tokens, const int32_t* sentence_of_row, int rows,
                    float* scores, float* attention) = 0;
  virtual LogSoftmaxNormalizer finish_row(float* row) const = 0;
  // step() with every row finished and converted: log_probs [rows, V].
  void step_log_probs(const int32_t* prev_tokens, const int32_t* sentence_of_row, int rows,
                      float* log_probs, float* attention);
  // New row r takes the state of old row from[r] (beam reordering and compaction).
  virtual void reorder(const int32_t* from, int rows) = 0;
};

// The real model: Seq2Seq::encode / decode_step / gather_rows.
class Seq2SeqDecoder : public DecoderModel {
 public:
  // src_eos / src_pad: the source vocabulary's ids for the batch padding.
  Seq2SeqDecoder(Seq2Seq& model, int32_t src_eos, int32_t src_pad);

  int vocab() const override { return model_.tgt_vocab(); }
  const SpecialTokens& special() const override { return model_.special(); }
  void begin(const std::vector<std::vector<int32_t>>& sources) override;
  int source_steps() const override { return encoded_.context.steps(); }
  // Scores: the output layer's logits; finish_row adds the bias (Seq2Seq::decode_step_logits).
  void step(const int32_t* prev_tokens, const int32_t* sentence_of_row, int rows, float* scores,
            float* attention) override;
  LogSoftmaxNormalizer finish_row(float* row) const override {
    return model_.finish_logits_row(row);
  }
  void reorder(const int32_t* from, int rows) override;

 private:
  Seq2Seq& model_;
  int32_t src_eos_, src_pad_;
  EncodedBatch encoded_;
  Tensor state_;    // [L, rows, W]
  Tensor scratch_;  // [L, rows, W] gather target, swapped with state_
};

}  // namespace revnmt
