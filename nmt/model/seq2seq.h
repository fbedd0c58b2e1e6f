#pragma once
// The attention encoder-decoder (REVERSIBLE.md §6–§7), with reversible or standard cells.
//
// Training step (DESIGN.md, "the training step"):
//   1. encoder forward over the source embeddings, keeping only what its backward needs
//      (a reversible encoder: bit-buffers, final states, the attention slices);
//   2. decoder forward from the encoder's final states, keeping the same (no attention
//      is needed yet: the decoder RNN does not read it, there is no input feeding);
//   3. the attention context of the batch is built once (slices/hidden from the encoder,
//      embeddings re-looked-up from token ids);
//   4. decoder backward sweep: per chunk of steps the recovered top outputs go through
//      query dropout, attention, generator and the fused loss, whose gradient flows back
//      into the decoder and into the context;
//   5. encoder backward sweep, fed with the context's slice gradient per chunk and with
//      the gradient of the decoder's initial state.
// So the loss is computed during the backward sweep, chunk by chunk, and the T×B×V logits
// never exist at once.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "attention/context.h"
#include "attention/global_attention.h"
#include "nmt/config/model_config.h"
#include "nmt/core/dropout.h"
#include "nmt/core/matmul.h"
#include "nmt/core/params.h"
#include "nmt/data/batch.h"
#include "nmt/model/embedding.h"
#include "nmt/model/generator.h"
#include "nmt/model/standard_stack.h"
#include "reversible/recurrent_stack.h"
#include "reversible/rev_stack.h"

namespace revnmt {

struct SpecialTokens {
  int32_t pad = 3;
  int32_t bos = 1;
  int32_t eos = 2;
  int32_t unk = 0;
};

struct StepResult {
  LossStats loss;
  MemoryLedger encoder;  // what the encoder kept between forward and backward
  MemoryLedger decoder;
  int64_t held_bytes = 0;  // real bytes kept between forward and backward (both + token ids)
};

// The decoder-side weights packed for decode_step (PackedMatrix: faster products with the
// few rows of a decoding step); encode() packs them from the current weights, once per
// batch or once per FixedDecodeWeights scope.
// Every product of a decoding step is in the model's precision, as in training.
struct DecodeWeights {
  PackedMatrix generator;     // Wᵀ [H, V]
  PackedAttention attention;  // W_in, W_out
  PackedStack decoder;        // standard stacks only: Wx, Wh
  bool standard_decoder = false;
  // The decoder's first-layer input projection (target embedding · Wx, and + bx for
  // reversible layers) of every token id a decoding step has read so far, computed at its
  // first use. A step's input is the previous token's embedding, so its projection is
  // looked up rather than multiplied again for every hypothesis and step (bit for bit the
  // same: matmul rows do not depend on the other rows).
  struct TokenProjections {
    std::vector<int32_t> slot;  // [V] the token's row in `rows`, -1 before its first use
    std::vector<float> rows;    // [tokens seen, the first layer's projection width]
  } token_projections;
};

// The context and decoder start state of a batch of sources, for decoding.
struct EncodedBatch {
  ContextStore context;  // [S, Ts, C]
  Tensor state;          // decoder initial state [L, S, W]
  std::shared_ptr<DecodeWeights> weights;
  int sentences() const { return context.sentences(); }
};

struct Seq2SeqOptions {
  int chunk_steps = 16;  // time steps per chunk of the backward sweeps (memory/speed)
  // For verification only (reversible cells): Tape::stored backpropagates through stored
  // states instead of reversing; smooth arithmetic makes finite differences meaningful.
  Tape tape = Tape::reversal;
  bool smooth = false;
  // Arithmetic of the weight products: input projections, recurrent products, attention
  // and the output layer (nmt/core/matmul.h). bf16 rounds the operands (f32 accumulation);
  // the recurrent weight gradients stay fp32 products.
  Precision precision = Precision::fp32;
  // Decoding multiplies by packed weights (EncodedBatch::weights, see encode()); false
  // multiplies by the plain weights (to measure what packing buys).
  bool pack_decode_weights = true;
  // With packed weights: look up DecodeWeights::token_projections (false multiplies every
  // step's input, to test that the lookup changes no bit).
  bool cache_token_projections = true;
};

class Seq2Seq {
 public:
  Seq2Seq(const ModelConfig& config, int src_vocab, int tgt_vocab, const SpecialTokens& special,
          const Seq2SeqOptions& options = {});
  ~Seq2Seq();

  const ModelConfig& config() const { return config_; }
  const SpecialTokens& special() const { return special_; }
  ParameterSet& params() { return params_; }
  const ParameterSet& params() const { return params_; }
  int src_vocab() const { return src_embedding_->vocab(); }
  int tgt_vocab() const { return generator_->vocab(); }

  // Parameters uniform in [-init_range, init_range] from the seed.
  void initialize(uint64_t seed) { params_.init_uniform(float(config_.init_range), seed); }

  // Forward and backward of one batch: accumulates into the parameters' gradients the
  // gradient of `scale` × (label-smoothed loss summed over target tokens).
  StepResult train_step(const Batch& batch, const DropoutKey& dropout, float label_smoothing,
                        float scale);

  // Only the training forward, for memory measurements: the ledgers of what would be kept.
  StepResult forward_only(const Batch& batch, const DropoutKey& dropout);

  // Validation: loss without dropout or gradients (inference arithmetic).
  LossStats evaluate(const Batch& batch);

  // --- decoding ---
  // Encodes batch.src / batch.src_len (targets are not used), with the decoding weights
  // packed from the current weights: at every call, or once per FixedDecodeWeights scope.
  void encode(const Batch& batch, EncodedBatch& out);

  // While one of these lives the weights do not change (a translation of many batches):
  // encode() packs the decoding weights at its first call and later batches share them.
  // Without a scope every encode() packs again, so it always sees the current weights.
  class FixedDecodeWeights {
   public:
    explicit FixedDecodeWeights(Seq2Seq& model) : model_(model) {
      model_.decode_weights_fixed_ = true;
      model_.fixed_weights_packed_ = false;
    }
    ~FixedDecodeWeights() {
      model_.decode_weights_fixed_ = model_.fixed_weights_packed_ = false;
      model_.fixed_decode_weights_.reset();
    }
    FixedDecodeWeights(const FixedDecodeWeights&) = delete;
    FixedDecodeWeights& operator=(const FixedDecodeWeights&) = delete;

   private:
    Seq2Seq& model_;
  };

  // One decoder step for `rows` hypotheses: state [L, rows, W] (updated), prev_tokens
  // [rows], sentence_of_row [rows] (index into the encoded batch); writes log_probs
  // [rows, V] and, if not null, attention weights [rows, Ts].
  void decode_step(const EncodedBatch& encoded, Tensor& state, const int32_t* prev_tokens,
                   const int32_t* sentence_of_row, int rows, float* log_probs, float* attention);
  // The same step writing the output layer's logits [rows, V] without the bias; each row
  // becomes log-probs through finish_logits_row (Generator::normalize_row), which a search
  // calls row by row while the row is still in cache.
  void decode_step_logits(const EncodedBatch& encoded, Tensor& state, const int32_t* prev_tokens,
                          const int32_t* sentence_of_row, int rows, float* logits,
                          float* attention);
  LogSoftmaxNormalizer finish_logits_row(float* row) const {
    return generator_->normalize_row(row);
  }
  // state [L, R, W] -> out [L, rows, W] with out[:, r] = state[:, from[r]] (beam reordering).
  static void gather_rows(const Tensor& state, const int32_t* from, int rows, Tensor& out);

 private:
  class DecoderLoss;
  class ContextGradient;

  ContextLayout context_layout() const;
  // Builds the batch's context from the encoder's kept outputs (training) or from
  // `top` [Ts, B, H] (inference), with the slice dropout mask when training.
  void build_context(const Batch& batch, const float* top, const float* src_mask,
                     const float* slice_mask, ContextStore& store);
  void masks(const Batch& batch, const DropoutKey& dropout);
  // The weights decode_step multiplies by, into out.weights (see FixedDecodeWeights).
  void pack_decode_weights(EncodedBatch& out);
  // The first decoder layer's input projections [rows, width] of `tokens` [rows] from
  // weights.token_projections, computing those of tokens not seen before.
  const float* token_projections(DecodeWeights& weights, const int32_t* tokens, int rows);
  StepResult run_forward(const Batch& batch, const DropoutKey& dropout);

  ModelConfig config_;
  SpecialTokens special_;
  ParameterSet params_;
  std::unique_ptr<Embedding> src_embedding_;
  std::unique_ptr<Embedding> tgt_embedding_;
  std::unique_ptr<RecurrentStack> encoder_;
  std::unique_ptr<RecurrentStack> decoder_;
  std::unique_ptr<GlobalAttention> attention_;
  std::unique_ptr<Generator> generator_;
  Seq2SeqOptions options_;

  // FixedDecodeWeights: inside a scope, and packed by its first encode().
  bool decode_weights_fixed_ = false;
  bool fixed_weights_packed_ = false;
  std::shared_ptr<DecodeWeights> fixed_decode_weights_;

  // Per-batch scratch, reused.
  std::vector<float> src_mask_, tgt_mask_, query_mask_, slice_mask_;  // locked dropout masks
  ContextStore context_;
  std::vector<float> buffer_, top_, attn_h_;
  std::vector<float> step_projections_;  // [R, first layer projection width]
  std::vector<int32_t> new_tokens_;
  AttentionTape decode_tape_;
  Tensor d_decoder_init_;
};

}  // namespace revnmt
