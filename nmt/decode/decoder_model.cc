#include "nmt/decode/decoder_model.h"

#include <utility>

#include "nmt/data/batcher.h"

namespace revnmt {

void DecoderModel::step_log_probs(const int32_t* prev_tokens, const int32_t* sentence_of_row,
                                  int rows, float* log_probs, float* attention) {
  step(prev_tokens, sentence_of_row, rows, log_probs, attention);
  const int v = vocab();
  for (int r = 0; r < rows; ++r) {
    float* row = log_probs + int64_t(r) * v;  // [V]
    const LogSoftmaxNormalizer normalizer = finish_row(row);
    for (int j = 0; j < v; ++j) row[j] = normalizer.log_prob(row[j]);
  }
}

Seq2SeqDecoder::Seq2SeqDecoder(Seq2Seq& model, int32_t src_eos, int32_t src_pad)
    : model_(model), src_eos_(src_eos), src_pad_(src_pad) {}

void Seq2SeqDecoder::begin(const std::vector<std::vector<int32_t>>& sources) {
  const Batch batch = make_source_batch(sources, src_eos_, src_pad_);
  model_.encode(batch, encoded_);
  std::swap(state_, encoded_.state);  // decode_step reads the context only
}

void Seq2SeqDecoder::step(const int32_t* prev_tokens, const int32_t* sentence_of_row, int rows,
                          float* scores, float* attention) {
  REVNMT_CHECK(state_.ndim() == 3 && state_.dim(1) == rows, "decoder state rows ",
               state_.ndim() == 3 ? state_.dim(1) : -1, " vs ", rows);
  model_.decode_step_logits(encoded_, state_, prev_tokens, sentence_of_row, rows, scores,
                            attention);
}

void Seq2SeqDecoder::reorder(const int32_t* from, int rows) {
  Seq2Seq::gather_rows(state_, from, rows, scratch_);
  std::swap(state_, scratch_);
}

}  // namespace revnmt
