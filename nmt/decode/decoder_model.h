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
  // into the batch of begin()); writes log_probs [rows, V] and, if not null, attention
  // weights [rows, source_steps()]. Row r's results depend only on that row's state,
  // token and sentence (batch invariance).
  virtual void step(const int32_t* prev_tokens, const int32_t* sentence_of_row, int rows,
                    float* log_probs, float* attention) = 0;
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
  void step(const int32_t* prev_tokens, const int32_t* sentence_of_row, int rows, float* log_probs,
            float* attention) override;
  void reorder(const int32_t* from, int rows) override;

 private:
  Seq2Seq& model_;
  int32_t src_eos_, src_pad_;
  EncodedBatch encoded_;
  Tensor state_;    // [L, rows, W]
  Tensor scratch_;  // [L, rows, W] gather target, swapped with state_
};

}  // namespace revnmt
