#include "nmt/model/seq2seq.h"

#include <algorithm>
#include <cstring>

#include "nmt/core/error.h"
#include "nmt/model/embedding_input.h"
#include "nmt/model/standard_stack.h"
#include "reversible/rev_stack.h"

namespace revnmt {

namespace {

std::unique_ptr<RecurrentStack> make_stack(ParameterSet& params, const std::string& scope,
                                           const ModelConfig& config, bool encoder,
                                           const Seq2SeqOptions& options) {
  const int chunk_steps = options.chunk_steps;
  const bool slices =
      config.context == ContextType::slice || config.context == ContextType::slice_emb;
  const uint32_t dropout_module = dropout_module_id(encoder ? DropoutSite::encoder_between_layers
                                                            : DropoutSite::decoder_between_layers);
  if (config.is_reversible()) {
    RevStackConfig stack;
    stack.cell = config.cell == CellType::revgru ? RevCell::gru : RevCell::lstm;
    stack.layers = config.layers;
    stack.input_size = config.emb_size;
    stack.hidden_size = config.hidden_size;
    stack.max_forget = float(config.max_forget_fraction());
    stack.no_forgetting = config.no_forgetting;
    stack.slice_dim = encoder && slices ? config.slice_dim : 0;
    stack.keep_top_states = encoder && config.context == ContextType::hidden;
    stack.dropout_hidden = float(config.dropout_hidden);
    stack.dropout_module = dropout_module;
    stack.chunk_steps = chunk_steps;
    stack.precision = options.precision;
    stack.tape = options.tape;
    stack.smooth = options.smooth;
    return std::make_unique<RevStack>(params, scope, stack);
  }
  StandardStackConfig stack;
  stack.cell = config.cell == CellType::gru ? StandardCell::gru : StandardCell::lstm;
  stack.layers = config.layers;
  stack.input_size = config.emb_size;
  stack.hidden_size = config.hidden_size;
  stack.dropout_hidden = float(config.dropout_hidden);
  stack.dropout_module = dropout_module;
  stack.chunk_steps = chunk_steps;
  stack.precision = options.precision;
  return std::make_unique<StandardStack>(params, scope, stack);
}

// out[r, :] *= mask[r % rows, :] for a time-major [n * rows, d] array.
void apply_row_mask(float* data, int64_t n_rows, int rows, int d, const float* mask) {
  for (int64_t r = 0; r < n_rows; ++r) {
    const float* m = mask + (r % rows) * d;  // [d]
    float* row = data + r * d;               // [d]
#pragma omp simd
    for (int j = 0; j < d; ++j) row[j] *= m[j];
  }
}

}  // namespace

// The decoder's consumer during its backward sweep: query dropout, attention, generator
// and loss for a chunk of steps, then their gradients back into the decoder outputs and
// the attention context.
class Seq2Seq::DecoderLoss : public OutputGradient {
 public:
  DecoderLoss(Seq2Seq& model, const Batch& batch, float label_smoothing, float scale)
      : model_(model), batch_(batch), label_smoothing_(label_smoothing), scale_(scale) {}

  void backward(int t0, int t1, const float* top, float* d_top) override {
    const int rows = (t1 - t0) * batch_.rows, h = model_.config_.hidden_size;
    query_.assign(top, top + int64_t(rows) * h);  // [R, H]
    apply_row_mask(query_.data(), rows, batch_.rows, h, model_.query_mask_.data());
    attn_h_.resize(size_t(rows) * h);    // [R, H]
    d_attn_h_.resize(size_t(rows) * h);  // [R, H]
    d_query_.resize(size_t(rows) * h);   // [R, H]
    const AttentionContext context = model_.context_.view();
    model_.attention_->forward(query_.data(), rows, nullptr, context, tape_, attn_h_.data(),
                               nullptr);
    stats_ += model_.generator_->loss_and_backward(
        attn_h_.data(), rows, batch_.tgt_out.data() + int64_t(t0) * batch_.rows,
        model_.special_.pad, label_smoothing_, scale_, d_attn_h_.data());
    model_.attention_->backward(query_.data(), rows, nullptr, context, tape_, d_attn_h_.data(),
                                d_query_.data(), model_.context_.gradient());
    apply_row_mask(d_query_.data(), rows, batch_.rows, h, model_.query_mask_.data());
    for (int64_t i = 0; i < int64_t(rows) * h; ++i) d_top[i] += d_query_[i];
  }

  const LossStats& stats() const { return stats_; }

 private:
  Seq2Seq& model_;
  const Batch& batch_;
  float label_smoothing_, scale_;
  LossStats stats_;
  AttentionTape tape_;
  std::vector<float> query_, attn_h_, d_attn_h_, d_query_;
};

// The encoder's consumer during its backward sweep: the gradient that attention sent to
// the stored slices (or whole top outputs) of each source position.
class Seq2Seq::ContextGradient : public OutputGradient {
 public:
  ContextGradient(const ContextStore& context, int hidden) : context_(context), hidden_(hidden) {}
  // d_top [(t1 - t0) * B, H]: the slice is the first slice_width units of the top output.
  void backward(int t0, int t1, const float*, float* d_top) override {
    if (context_.layout().slice_width > 0) context_.add_slice_gradient(t0, t1, d_top, hidden_);
  }

 private:
  const ContextStore& context_;
  int hidden_;
};

Seq2Seq::Seq2Seq(const ModelConfig& config, int src_vocab, int tgt_vocab,
                 const SpecialTokens& special, const Seq2SeqOptions& options)
    : config_(config), special_(special), options_(options) {
  REVNMT_CHECK(options.chunk_steps >= 1, "chunk_steps ", options.chunk_steps);
  validate_model_config(config);
  src_embedding_ =
      std::make_unique<Embedding>(params_, "src_embedding", src_vocab, config.emb_size);
  tgt_embedding_ =
      std::make_unique<Embedding>(params_, "tgt_embedding", tgt_vocab, config.emb_size);
  encoder_ = make_stack(params_, "encoder", config, /*encoder=*/true, options);
  decoder_ = make_stack(params_, "decoder", config, /*encoder=*/false, options);
  attention_ = std::make_unique<GlobalAttention>(params_, "attention", config.hidden_size,
                                                 config.context_size());
  generator_ = std::make_unique<Generator>(params_, "generator", config.hidden_size, tgt_vocab);
  generator_->set_precision(options.precision);
  attention_->set_precision(options.precision);
}

Seq2Seq::~Seq2Seq() = default;

ContextLayout Seq2Seq::context_layout() const {
  switch (config_.context) {
    case ContextType::hidden:
      return {0, config_.hidden_size};
    case ContextType::slice:
      return {0, config_.slice_dim};
    case ContextType::emb:
      return {config_.emb_size, 0};
    case ContextType::slice_emb:
      return {config_.emb_size, config_.slice_dim};
  }
  return {};
}

void Seq2Seq::masks(const Batch& batch, const DropoutKey& dropout) {
  const int b = batch.rows, e = config_.emb_size, h = config_.hidden_size;
  const int slice = context_layout().slice_width;
  src_mask_.resize(size_t(b) * e);
  tgt_mask_.resize(size_t(b) * e);
  query_mask_.resize(size_t(b) * h);
  slice_mask_.resize(size_t(b) * slice);
  locked_dropout_mask(dropout, dropout_module_id(DropoutSite::source_embedding),
                      float(config_.dropout_emb), b, e, src_mask_.data());
  locked_dropout_mask(dropout, dropout_module_id(DropoutSite::target_embedding),
                      float(config_.dropout_emb), b, e, tgt_mask_.data());
  locked_dropout_mask(dropout, dropout_module_id(DropoutSite::query), float(config_.dropout_query),
                      b, h, query_mask_.data());
  locked_dropout_mask(dropout, dropout_module_id(DropoutSite::slice), float(config_.dropout_slice),
                      b, slice, slice_mask_.data());
}

void Seq2Seq::build_context(const Batch& batch, const float* top, const float* src_mask,
                            const float* slice_mask, ContextStore& store) {
  const ContextLayout layout = context_layout();
  const int b = batch.rows, ts = batch.src_steps;
  store.reset(layout, b, ts, batch.src_len.data());
  if (layout.emb_width > 0) {
    buffer_.resize(size_t(ts) * b * layout.emb_width);  // [Ts * B, E]
    src_embedding_->lookup(batch.src.data(), int64_t(ts) * b, buffer_.data());
    if (src_mask != nullptr)
      apply_row_mask(buffer_.data(), int64_t(ts) * b, b, layout.emb_width, src_mask);
    store.set_embeddings(buffer_.data(), layout.emb_width);
  }
  if (layout.slice_width > 0) {
    const int width = layout.slice_width, h = config_.hidden_size;
    top_.resize(size_t(ts) * b * width);  // [Ts * B, width]
    if (top == nullptr) {
      encoder_->kept_outputs(width, top_.data());
    } else {
      for (int64_t r = 0; r < int64_t(ts) * b; ++r)
        std::memcpy(top_.data() + r * width, top + r * h, sizeof(float) * width);
    }
    if (slice_mask != nullptr) apply_row_mask(top_.data(), int64_t(ts) * b, b, width, slice_mask);
    store.set_slices(top_.data(), width);
  }
}

StepResult Seq2Seq::run_forward(const Batch& batch, const DropoutKey& dropout) {
  masks(batch, dropout);
  EmbeddingInput encoder_input(*src_embedding_, batch.src.data(), batch.rows, src_mask_.data());
  encoder_->forward({batch.src_steps, batch.rows, batch.src_len.data()}, encoder_input, nullptr,
                    dropout);
  EmbeddingInput decoder_input(*tgt_embedding_, batch.tgt_in.data(), batch.rows, tgt_mask_.data());
  decoder_->forward({batch.tgt_steps, batch.rows, batch.tgt_len.data()}, decoder_input,
                    &encoder_->final_state(), dropout);
  encoder_->compact();
  decoder_->compact();
  StepResult result;
  result.encoder = encoder_->ledger();
  result.decoder = decoder_->ledger();
  const int64_t token_bytes =
      int64_t(sizeof(int32_t)) *
      (int64_t(batch.src.size() + batch.tgt_in.size() + batch.tgt_out.size()) + 2 * batch.rows);
  result.held_bytes = result.encoder.held_bytes + result.decoder.held_bytes + token_bytes;
  return result;
}

StepResult Seq2Seq::forward_only(const Batch& batch, const DropoutKey& dropout) {
  return run_forward(batch, dropout);
}

StepResult Seq2Seq::train_step(const Batch& batch, const DropoutKey& dropout, float label_smoothing,
                               float scale) {
  const Generator::FixedWeights fixed(*generator_);
  StepResult result = run_forward(batch, dropout);
  // Nothing but the stacks' tapes and the token ids is kept across this line: the masks
  // are regenerated, the context is rebuilt from slices and re-looked-up embeddings.
  masks(batch, dropout);
  build_context(batch, nullptr, src_mask_.data(), slice_mask_.data(), context_);

  EmbeddingInput decoder_input(*tgt_embedding_, batch.tgt_in.data(), batch.rows, tgt_mask_.data());
  DecoderLoss loss(*this, batch, label_smoothing, scale);
  decoder_->backward(decoder_input, loss, nullptr, &d_decoder_init_);
  result.loss = loss.stats();

  const ContextLayout layout = context_layout();
  const int b = batch.rows, ts = batch.src_steps;
  EmbeddingInput encoder_input(*src_embedding_, batch.src.data(), b, src_mask_.data());
  if (layout.emb_width > 0) {  // attention read the source embeddings directly
    buffer_.assign(size_t(ts) * b * layout.emb_width, 0.0f);
    context_.add_embedding_gradient(0, ts, buffer_.data(), layout.emb_width);
    encoder_input.backward(0, ts, buffer_.data());
  }
  if (layout.slice_width > 0) {  // through the slice dropout mask to the top outputs
    const int c = layout.size(), width = layout.slice_width;
    float* gradient = context_.gradient();  // [B, Ts, C]
    for (int s = 0; s < b; ++s)
      for (int t = 0; t < ts; ++t) {
        float* g = gradient + (int64_t(s) * ts + t) * c + layout.emb_width;  // [width]
        const float* m = slice_mask_.data() + int64_t(s) * width;            // [width]
        for (int j = 0; j < width; ++j) g[j] *= m[j];
      }
  }
  ContextGradient context_gradient(context_, config_.hidden_size);
  encoder_->backward(encoder_input, context_gradient, &d_decoder_init_, nullptr);
  return result;
}

LossStats Seq2Seq::evaluate(const Batch& batch) {
  const Generator::FixedWeights fixed(*generator_);
  EncodedBatch encoded;
  encode(batch, encoded);
  const int b = batch.rows, tt = batch.tgt_steps, h = config_.hidden_size;
  EmbeddingInput decoder_input(*tgt_embedding_, batch.tgt_in.data(), b, nullptr);
  std::vector<float> top(size_t(tt) * b * h);  // [Tt * B, H]
  decoder_->infer({tt, b, batch.tgt_len.data()}, decoder_input, encoded.state, top.data());
  LossStats stats;
  AttentionTape tape;
  std::vector<float> attn_h;
  const AttentionContext context = encoded.context.view();
  for (int t0 = 0; t0 < tt; t0 += options_.chunk_steps) {
    const int t1 = std::min(tt, t0 + options_.chunk_steps), rows = (t1 - t0) * b;
    attn_h.resize(size_t(rows) * h);
    attention_->forward(top.data() + int64_t(t0) * b * h, rows, nullptr, context, tape,
                        attn_h.data(), nullptr);
    stats += generator_->loss_only(attn_h.data(), rows, batch.tgt_out.data() + int64_t(t0) * b,
                                   special_.pad, 0.0f);
  }
  return stats;
}

void Seq2Seq::encode(const Batch& batch, EncodedBatch& out) {
  const int b = batch.rows, ts = batch.src_steps, h = config_.hidden_size;
  out.state.resize({config_.layers, b, encoder_->state_width()}, encoder_->state_dtype());
  out.state.zero();
  EmbeddingInput encoder_input(*src_embedding_, batch.src.data(), b, nullptr);
  const bool need_top = context_layout().slice_width > 0;
  std::vector<float> top(need_top ? size_t(ts) * b * h : 0);  // [Ts * B, H]
  encoder_->infer({ts, b, batch.src_len.data()}, encoder_input, out.state,
                  need_top ? top.data() : nullptr);
  build_context(batch, need_top ? top.data() : nullptr, nullptr, nullptr, out.context);
  pack_decode_weights(out);
}

void Seq2Seq::pack_decode_weights(EncodedBatch& out) {
  if (fixed_weights_packed_) {  // earlier in this FixedDecodeWeights scope
    out.weights = fixed_decode_weights_;
    return;
  }
  fixed_weights_packed_ = decode_weights_fixed_;
  // A reversible decoder keeps its (bf16) recurrent weights packed inside its layers.
  if (auto* reversible = dynamic_cast<RevStack*>(decoder_.get()))
    reversible->pack_for_infer_steps();
  if (!options_.pack_decode_weights) {
    out.weights.reset();
    return;
  }
  // Into the previous batch's buffers when nothing else holds them.
  if (out.weights == nullptr || out.weights.use_count() > 1)
    out.weights = std::make_shared<DecodeWeights>();
  DecodeWeights& weights = *out.weights;
  generator_->pack(weights.generator, options_.precision);
  attention_->pack(weights.attention);
  if (const auto* standard = dynamic_cast<const StandardStack*>(decoder_.get())) {
    standard->pack(weights.decoder);
    weights.standard_decoder = true;
  }
  weights.token_projections.slot.assign(size_t(tgt_vocab()), -1);
  weights.token_projections.rows.clear();
  if (decode_weights_fixed_) fixed_decode_weights_ = out.weights;
}

void Seq2Seq::decode_step(const EncodedBatch& encoded, Tensor& state, const int32_t* prev_tokens,
                          const int32_t* sentence_of_row, int rows, float* log_probs,
                          float* attention) {
  decode_step_logits(encoded, state, prev_tokens, sentence_of_row, rows, log_probs, attention);
  generator_->logits_to_log_probs(log_probs, rows);
}

void Seq2Seq::decode_step_logits(const EncodedBatch& encoded, Tensor& state,
                                 const int32_t* prev_tokens, const int32_t* sentence_of_row,
                                 int rows, float* logits, float* attention) {
  const int e = config_.emb_size, h = config_.hidden_size;
  DecodeWeights* weights = encoded.weights.get();
  // The first layer's input: its projections looked up, or the embeddings to multiply.
  const float* projections = nullptr;
  const float* x = nullptr;  // [R, E]
  if (weights != nullptr && options_.cache_token_projections) {
    projections = token_projections(*weights, prev_tokens, rows);
  } else {
    buffer_.resize(size_t(rows) * e);
    tgt_embedding_->lookup(prev_tokens, rows, buffer_.data());
    x = buffer_.data();
  }
  top_.resize(size_t(rows) * h);  // [R, H]
  if (auto* reversible = dynamic_cast<RevStack*>(decoder_.get()))
    reversible->infer_step(x, rows, state, top_.data(), projections);
  else
    static_cast<StandardStack&>(*decoder_).infer_step(
        x, rows, state, top_.data(), weights != nullptr ? &weights->decoder : nullptr, projections);
  attn_h_.resize(size_t(rows) * h);  // [R, H]
  attention_->forward(top_.data(), rows, sentence_of_row, encoded.context.view(), decode_tape_,
                      attn_h_.data(), attention, weights != nullptr ? &weights->attention : nullptr);
  generator_->logits(attn_h_.data(), rows, logits,
                     weights != nullptr ? &weights->generator : nullptr);
}

const float* Seq2Seq::token_projections(DecodeWeights& weights, const int32_t* tokens, int rows) {
  const auto* reversible = dynamic_cast<const RevStack*>(decoder_.get());
  const auto* standard = dynamic_cast<const StandardStack*>(decoder_.get());
  const int gw = reversible != nullptr ? reversible->input_projection_width()
                                       : standard->gate_width();
  const int vocab = tgt_vocab();
  DecodeWeights::TokenProjections& cache = weights.token_projections;
  const int seen = int(cache.rows.size() / size_t(gw));
  new_tokens_.clear();
  for (int r = 0; r < rows; ++r) {
    const int32_t token = tokens[r];
    REVNMT_CHECK(token >= 0 && token < vocab, "decoder input token ", token);
    if (cache.slot[token] >= 0) continue;
    cache.slot[token] = seen + int(new_tokens_.size());
    new_tokens_.push_back(token);
  }
  if (!new_tokens_.empty()) {  // their rows [n, width] = embeddings [n, E] · Wx
    const int n = int(new_tokens_.size());
    try {
      buffer_.resize(size_t(n) * config_.emb_size);
      tgt_embedding_->lookup(new_tokens_.data(), n, buffer_.data());
      cache.rows.resize(size_t(seen + n) * gw);
      float* fresh = cache.rows.data() + int64_t(seen) * gw;
      if (reversible != nullptr)
        reversible->project_input(buffer_.data(), n, fresh);
      else
        standard->project_input(buffer_.data(), n, fresh, weights.decoder);
    } catch (...) {  // leave no token pointing at a row that was not computed
      for (const int32_t token : new_tokens_) cache.slot[token] = -1;
      cache.rows.resize(size_t(seen) * gw);
      throw;
    }
  }
  step_projections_.resize(size_t(rows) * gw);  // [R, width]
  for (int r = 0; r < rows; ++r)
    std::memcpy(step_projections_.data() + int64_t(r) * gw,
                cache.rows.data() + int64_t(cache.slot[tokens[r]]) * gw, sizeof(float) * gw);
  return step_projections_.data();
}

void Seq2Seq::gather_rows(const Tensor& state, const int32_t* from, int rows, Tensor& out) {
  const int layers = int(state.dim(0)), old_rows = int(state.dim(1)), width = int(state.dim(2));
  out.resize({layers, rows, width}, state.dtype());
  const size_t row_bytes = size_t(width) * dtype_size(state.dtype());
  const auto* src = static_cast<const char*>(state.raw());
  auto* dst = static_cast<char*>(out.raw());
  for (int l = 0; l < layers; ++l)
    for (int r = 0; r < rows; ++r) {
      REVNMT_CHECK(from[r] >= 0 && from[r] < old_rows, "gather row ", from[r]);
      std::memcpy(dst + (size_t(l) * rows + r) * row_bytes,
                  src + (size_t(l) * old_rows + from[r]) * row_bytes, row_bytes);
    }
}

}  // namespace revnmt
