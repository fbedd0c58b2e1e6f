// The whole attention encoder-decoder: finite-difference gradients for every cell type and
// context type, reversal gradients equal to stored-state backprop, validation loss, and
// batch-invariant decoding.

#include "nmt/model/seq2seq.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <set>
#include <tuple>

#include "nmt/data/batcher.h"
#include "nmt/data/corpus.h"
#include "reversible/self_check.h"

namespace revnmt {
namespace {

constexpr int kVocab = 9;  // ids 0..3 are unk/bos/eos/pad

ParallelCorpus tiny_corpus(unsigned seed, int sentences = 3) {
  ParallelCorpus corpus(SpecialIds{}, SpecialIds{});
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> token(4, kVocab - 1), length(1, 5);
  for (int i = 0; i < sentences; ++i) {
    std::vector<int32_t> src(length(rng)), tgt(length(rng));
    for (auto& t : src) t = token(rng);
    for (auto& t : tgt) t = token(rng);
    corpus.add(src, tgt, i + 1);
  }
  return corpus;
}

Batch whole_corpus_batch(const ParallelCorpus& corpus) {
  BatcherOptions options;
  options.shuffle = false;
  Batcher batcher(corpus, options);
  std::vector<int64_t> all(corpus.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = int64_t(i);
  return batcher.make_batch(all);
}

ModelConfig tiny_config(CellType cell, ContextType context, int layers = 1) {
  ModelConfig config;
  config.cell = cell;
  config.context = context;
  config.layers = layers;
  config.emb_size = 4;
  config.hidden_size = 4;
  config.slice_dim = context == ContextType::slice || context == ContextType::slice_emb ? 1 : 20;
  config.max_forget_bits = 2;
  config.dropout_emb = config.dropout_hidden = config.dropout_query = config.dropout_slice = 0.25;
  config.init_range = 0.5;
  return config;
}

std::string describe(CellType cell, ContextType context) {
  return to_string(cell) + "/" + to_string(context);
}

class WholeModel : public ::testing::TestWithParam<std::tuple<CellType, ContextType>> {};

// Central differences of the training loss (same dropout masks) against the gradients
// of train_step, for a sample of every parameter tensor's entries. Reversible cells use
// the smooth arithmetic (no quantized multipliers), in which derivatives exist.
TEST_P(WholeModel, FiniteDifferences) {
  const auto [cell, context] = GetParam();
  const ModelConfig config = tiny_config(cell, context, cell == CellType::revgru ? 2 : 1);
  Seq2SeqOptions options;
  options.chunk_steps = 2;
  options.smooth = is_reversible(cell);
  options.tape = Tape::stored;
  Seq2Seq model(config, kVocab, kVocab, SpecialTokens{}, options);
  model.initialize(3);
  const ParallelCorpus corpus = tiny_corpus(7);
  const Batch batch = whole_corpus_batch(corpus);
  const DropoutKey dropout{11, 5, true};
  const float smoothing = 0.1f;
  model.params().zero_grads();
  model.train_step(batch, dropout, smoothing, 1.0f);
  auto loss = [&]() {
    return model.train_step(batch, dropout, smoothing, 0.0f).loss.smoothed_loss;
  };
  std::mt19937 rng(1);
  const float eps = 3e-3f;
  int checked = 0;
  for (size_t p = 0; p < model.params().size(); ++p) {
    Parameter& param = model.params()[p];
    std::uniform_int_distribution<int64_t> pick(0, param.numel() - 1);
    for (int k = 0; k < std::min<int64_t>(10, param.numel()); ++k) {
      const int64_t i = pick(rng);
      const float analytic = param.grad.data<float>()[i];
      float& v = param.data()[i];
      const float original = v;
      v = original + eps;
      const double plus = loss();
      v = original - eps;
      const double minus = loss();
      v = original;
      const double numeric = (plus - minus) / (2.0 * eps);
      EXPECT_NEAR(numeric, analytic, 3e-3 + 3e-2 * std::fabs(numeric))
          << describe(cell, context) << " " << param.name << "[" << i << "]";
      ++checked;
    }
  }
  EXPECT_GT(checked, 40);
}

// The training path (reversal) and stored-state backprop of the same fixed-point forward
// give the same gradients for the whole model.
class WholeReversibleModel : public ::testing::TestWithParam<std::tuple<CellType, ContextType>> {};

TEST_P(WholeReversibleModel, ReversalEqualsStoredBackprop) {
  const auto [cell, context] = GetParam();
  ModelConfig config = tiny_config(cell, context, 2);
  config.emb_size = 6;
  config.hidden_size = 8;
  if (config.slice_dim < 20) config.slice_dim = 2;
  const ParallelCorpus corpus = tiny_corpus(9, 6);
  const Batch batch = whole_corpus_batch(corpus);
  Seq2SeqOptions reversal_options, stored_options;
  reversal_options.chunk_steps = 3;
  stored_options.chunk_steps = 3;
  stored_options.tape = Tape::stored;
  Seq2Seq reversal(config, kVocab, kVocab, SpecialTokens{}, reversal_options);
  Seq2Seq stored(config, kVocab, kVocab, SpecialTokens{}, stored_options);
  reversal.initialize(4);
  stored.initialize(4);
  const DropoutKey dropout{3, 1, true};
  const StepResult a = reversal.train_step(batch, dropout, 0.0f, 1.0f);
  const StepResult b = stored.train_step(batch, dropout, 0.0f, 1.0f);
  EXPECT_EQ(a.loss.nll, b.loss.nll);
  EXPECT_EQ(a.loss.tokens, batch.target_tokens());
  for (size_t p = 0; p < reversal.params().size(); ++p) {
    const Parameter& x = reversal.params()[p];
    const Parameter& y = stored.params()[p];
    EXPECT_LE(max_relative_error(x.grad.data<float>(), y.grad.data<float>(), x.numel()), 1e-5)
        << x.name;
  }
  // What the reversal path keeps is far less than what stored backprop keeps.
  EXPECT_LT(a.held_bytes, b.held_bytes);
}

INSTANTIATE_TEST_SUITE_P(CellsAndContexts, WholeModel,
                         ::testing::Combine(::testing::Values(CellType::revgru, CellType::revlstm,
                                                              CellType::gru, CellType::lstm),
                                            ::testing::Values(ContextType::hidden,
                                                              ContextType::slice, ContextType::emb,
                                                              ContextType::slice_emb)),
                         [](const auto& param_info) {
                           return to_string(std::get<0>(param_info.param)) + "_" +
                                  to_string(std::get<1>(param_info.param));
                         });

INSTANTIATE_TEST_SUITE_P(CellsAndContexts, WholeReversibleModel,
                         ::testing::Combine(::testing::Values(CellType::revgru, CellType::revlstm),
                                            ::testing::Values(ContextType::hidden,
                                                              ContextType::slice, ContextType::emb,
                                                              ContextType::slice_emb)),
                         [](const auto& param_info) {
                           return to_string(std::get<0>(param_info.param)) + "_" +
                                  to_string(std::get<1>(param_info.param));
                         });

// Validation (inference arithmetic, no dropout) sees the same loss as training without
// dropout, up to the low bits the reversible buffers add during training.
TEST(Seq2Seq, EvaluateMatchesTrainingLossWithoutDropout) {
  for (CellType cell : {CellType::revgru, CellType::gru}) {
    ModelConfig config = tiny_config(cell, ContextType::slice_emb);
    Seq2Seq model(config, kVocab, kVocab, SpecialTokens{});
    model.initialize(5);
    const Batch batch = whole_corpus_batch(tiny_corpus(3, 5));
    const LossStats train = model.train_step(batch, DropoutKey{}, 0.0f, 0.0f).loss;
    const LossStats valid = model.evaluate(batch);
    EXPECT_EQ(train.tokens, valid.tokens);
    EXPECT_NEAR(train.nll, valid.nll, 1e-3 * std::fabs(valid.nll)) << to_string(cell);
  }
}

// Decoding packs every weight product in the model's precision: in bf16 the recurrent
// product and attention too, though training keeps the recurrent product in fp32.
TEST(Seq2Seq, DecodeWeightsArePackedInTheModelsPrecision) {
  for (Precision precision : {Precision::fp32, Precision::bf16}) {
    ModelConfig config = tiny_config(CellType::gru, ContextType::slice_emb, 2);
    Seq2SeqOptions model_options;
    model_options.precision = precision;
    Seq2Seq model(config, kVocab, kVocab, SpecialTokens{}, model_options);
    model.initialize(6);
    EncodedBatch encoded;
    model.encode(whole_corpus_batch(tiny_corpus(4, 7)), encoded);
    ASSERT_NE(encoded.weights, nullptr);
    const DecodeWeights& w = *encoded.weights;
    EXPECT_TRUE(w.standard_decoder);
    EXPECT_EQ(w.generator.precision(), precision);
    EXPECT_EQ(w.attention.w_in.precision(), precision);
    EXPECT_EQ(w.attention.w_out.precision(), precision);
    for (const auto* layer : {&w.decoder.wx, &w.decoder.wh}) {
      ASSERT_EQ(layer->size(), size_t(config.layers));
      for (const PackedMatrix& m : *layer) EXPECT_EQ(m.precision(), precision);
    }
  }
}

// A sentence's decoder log-probabilities do not depend on the other sentences of its
// batch (exact bits), for every cell type.
TEST(Seq2Seq, DecodingIsBatchInvariant) {
  for (Precision precision : {Precision::fp32, Precision::bf16})
  for (CellType cell : {CellType::revgru, CellType::revlstm, CellType::gru, CellType::lstm}) {
    ModelConfig config = tiny_config(cell, ContextType::slice_emb, 2);
    config.hidden_size = 8;
    config.slice_dim = 2;
    Seq2SeqOptions model_options;
    model_options.precision = precision;
    Seq2Seq model(config, kVocab, kVocab, SpecialTokens{}, model_options);
    model.initialize(6);
    const ParallelCorpus corpus = tiny_corpus(21, 7);
    const Batch all = whole_corpus_batch(corpus);
    EncodedBatch together;
    model.encode(all, together);
    for (int row = 0; row < all.rows; ++row) {
      BatcherOptions options;
      options.shuffle = false;
      Batcher batcher(corpus, options);
      const Batch alone_batch = batcher.make_batch({all.index[row]});
      EncodedBatch alone;
      model.encode(alone_batch, alone);
      // Three greedy-like steps with fixed tokens, alone and in the full batch.
      Tensor state_alone = alone.state;
      Tensor state_all = together.state;
      std::vector<int32_t> prev_all(all.rows, 1), sentence_all(all.rows);
      for (int r = 0; r < all.rows; ++r) sentence_all[r] = r;
      int32_t prev_alone = 1, sentence_alone = 0;
      std::vector<float> lp_all(size_t(all.rows) * kVocab), lp_alone(kVocab);
      for (int step = 0; step < 3; ++step) {
        model.decode_step(together, state_all, prev_all.data(), sentence_all.data(), all.rows,
                          lp_all.data(), nullptr);
        model.decode_step(alone, state_alone, &prev_alone, &sentence_alone, 1, lp_alone.data(),
                          nullptr);
        ASSERT_EQ(std::memcmp(lp_all.data() + size_t(row) * kVocab, lp_alone.data(),
                              sizeof(float) * kVocab),
                  0)
            << to_string(cell) << " " << precision_name(precision) << " row " << row
            << " step " << step;
        for (auto& p : prev_all) p = 4 + step;
        prev_alone = 4 + step;
      }
    }
  }
}

// Decoding with the weights packed per batch (the default) gives the log-probabilities of
// the plain multiplies up to rounding.
TEST(Seq2Seq, PackedDecodeWeightsMatchPlainOnes) {
  for (CellType cell : {CellType::gru, CellType::lstm, CellType::revgru}) {
    ModelConfig config = tiny_config(cell, ContextType::slice_emb);
    Seq2SeqOptions packed, plain;
    plain.pack_decode_weights = false;
    Seq2Seq a(config, kVocab, kVocab, SpecialTokens{}, packed);
    Seq2Seq b(config, kVocab, kVocab, SpecialTokens{}, plain);
    a.initialize(8);
    b.initialize(8);
    const Batch batch = whole_corpus_batch(tiny_corpus(4, 5));
    EncodedBatch ea, eb;
    a.encode(batch, ea);
    b.encode(batch, eb);
    ASSERT_NE(ea.weights, nullptr);
    ASSERT_EQ(eb.weights, nullptr);
    std::vector<int32_t> prev(batch.rows, 1), sentence(batch.rows);
    for (int r = 0; r < batch.rows; ++r) sentence[r] = r;
    std::vector<float> la(size_t(batch.rows) * kVocab), lb(la.size());
    for (int step = 0; step < 3; ++step) {
      a.decode_step(ea, ea.state, prev.data(), sentence.data(), batch.rows, la.data(), nullptr);
      b.decode_step(eb, eb.state, prev.data(), sentence.data(), batch.rows, lb.data(), nullptr);
      for (size_t i = 0; i < la.size(); ++i) ASSERT_NEAR(la[i], lb[i], 1e-4) << to_string(cell);
      for (auto& p : prev) p = 4 + step;
    }
  }
}

// Inside a FixedDecodeWeights scope (a translation) every batch shares the weights the
// first encode() packed, with the same log-probabilities as packing per batch; after the
// scope, encode() packs the current weights again.
TEST(Seq2Seq, FixedDecodeWeightsArePackedOncePerScope) {
  for (CellType cell : {CellType::gru, CellType::revgru}) {
    SCOPED_TRACE(to_string(cell));
    ModelConfig config = tiny_config(cell, ContextType::slice_emb, 2);
    Seq2SeqOptions options;
    options.precision = Precision::bf16;  // the reversible decoder packs its recurrent weights
    const Batch first = whole_corpus_batch(tiny_corpus(4, 5));
    const Batch second = whole_corpus_batch(tiny_corpus(3, 9));
    // Log-probs of three decoding steps.
    const auto decode = [](Seq2Seq& model, EncodedBatch& encoded, int rows) {
      std::vector<int32_t> prev(rows, 1), sentence(rows);
      for (int r = 0; r < rows; ++r) sentence[r] = r;
      std::vector<float> all, lp(size_t(rows) * kVocab);
      for (int step = 0; step < 3; ++step) {
        model.decode_step(encoded, encoded.state, prev.data(), sentence.data(), rows, lp.data(),
                          nullptr);
        all.insert(all.end(), lp.begin(), lp.end());
        for (auto& p : prev) p = 4 + step;
      }
      return all;
    };
    const auto per_batch = [&](uint64_t seed, const Batch& batch) {
      Seq2Seq fresh(config, kVocab, kVocab, SpecialTokens{}, options);
      fresh.initialize(seed);
      EncodedBatch encoded;
      fresh.encode(batch, encoded);
      return decode(fresh, encoded, batch.rows);
    };

    Seq2Seq model(config, kVocab, kVocab, SpecialTokens{}, options);
    model.initialize(8);
    {
      const Seq2Seq::FixedDecodeWeights fixed(model);
      EncodedBatch a, b;
      model.encode(first, a);
      model.encode(second, b);
      ASSERT_NE(a.weights, nullptr);
      EXPECT_EQ(a.weights.get(), b.weights.get());  // packed once
      EXPECT_EQ(decode(model, a, first.rows), per_batch(8, first));
      EXPECT_EQ(decode(model, b, second.rows), per_batch(8, second));
    }
    model.initialize(9);  // new weights after the scope: packed again
    EncodedBatch c;
    model.encode(second, c);
    EXPECT_EQ(decode(model, c, second.rows), per_batch(9, second));
  }
}

// A decoder looks up its first layer's input projection of each token, computed
// at the token's first use and kept for later steps and batches: the log-probabilities are
// bit for bit those of multiplying every step's input, and only the tokens read so far
// have a row.
TEST(Seq2Seq, TokenProjectionsChangeNoBit) {
  for (Precision precision : {Precision::fp32, Precision::bf16})
  for (CellType cell : {CellType::gru, CellType::lstm, CellType::revgru, CellType::revlstm}) {
    SCOPED_TRACE(to_string(cell) + " " + precision_name(precision));
    ModelConfig config = tiny_config(cell, ContextType::slice_emb, 2);
    Seq2SeqOptions cached, multiplied;
    cached.precision = multiplied.precision = precision;
    multiplied.cache_token_projections = false;
    Seq2Seq a(config, kVocab, kVocab, SpecialTokens{}, cached);
    Seq2Seq b(config, kVocab, kVocab, SpecialTokens{}, multiplied);
    a.initialize(11);
    b.initialize(11);
    const Seq2Seq::FixedDecodeWeights fixed_a(a), fixed_b(b);
    // Steps whose rows repeat tokens, meet new ones and come back to earlier ones.
    const std::vector<std::vector<int32_t>> steps = {
        {1, 1, 1, 1}, {5, 6, 5, 7}, {7, 5, 8, 8}, {1, 0, 6, 4}};
    std::set<int32_t> seen;
    size_t width = 0;  // floats per token row
    for (int batch_seed : {5, 9}) {  // two batches in one scope: rows carry over
      const Batch batch = whole_corpus_batch(tiny_corpus(4, batch_seed));
      EncodedBatch ea, eb;
      a.encode(batch, ea);
      b.encode(batch, eb);
      const int rows = batch.rows;
      std::vector<int32_t> sentence(rows), prev(rows);
      for (int r = 0; r < rows; ++r) sentence[r] = r;
      std::vector<float> la(size_t(rows) * kVocab), lb(la.size());
      for (const auto& pattern : steps) {
        for (int r = 0; r < rows; ++r) prev[r] = pattern[r % pattern.size()];
        a.decode_step(ea, ea.state, prev.data(), sentence.data(), rows, la.data(), nullptr);
        b.decode_step(eb, eb.state, prev.data(), sentence.data(), rows, lb.data(), nullptr);
        ASSERT_EQ(std::memcmp(la.data(), lb.data(), sizeof(float) * la.size()), 0);
        seen.insert(prev.begin(), prev.end());
        const auto& cache = ea.weights->token_projections;
        if (width == 0) width = cache.rows.size() / seen.size();
        EXPECT_GT(width, 0u);
        EXPECT_EQ(cache.rows.size(), seen.size() * width);
        EXPECT_TRUE(eb.weights->token_projections.rows.empty());
      }
    }
  }
}

// bf16 input projections, recurrent products, attention and output layer: the loss and the
// gradients stay close to fp32's
// (same parameters, same dropout).
TEST(Seq2Seq, Bf16TrainingStepIsCloseToFp32) {
  for (CellType cell : {CellType::gru, CellType::lstm, CellType::revgru, CellType::revlstm}) {
    ModelConfig config = tiny_config(cell, ContextType::slice_emb);
    config.emb_size = config.hidden_size = 16;
    config.slice_dim = 4;
    Seq2SeqOptions fp32, bf16;
    bf16.precision = Precision::bf16;
    Seq2Seq a(config, kVocab, kVocab, SpecialTokens{}, fp32);
    Seq2Seq b(config, kVocab, kVocab, SpecialTokens{}, bf16);
    a.initialize(9);
    b.initialize(9);
    const Batch batch = whole_corpus_batch(tiny_corpus(5, 6));
    const DropoutKey dropout{3, 1, true};
    const LossStats la = a.train_step(batch, dropout, 0.1f, 1.0f).loss;
    const LossStats lb = b.train_step(batch, dropout, 0.1f, 1.0f).loss;
    EXPECT_NEAR(la.nll, lb.nll, 0.02 * std::fabs(la.nll)) << to_string(cell);
    // Gradient directions: cosine similarity over all parameters.
    double dot = 0, na = 0, nb = 0;
    for (size_t i = 0; i < a.params().size(); ++i) {
      const float* ga = a.params()[i].grad.data<float>();
      const float* gb = b.params()[i].grad.data<float>();
      for (int64_t k = 0; k < a.params()[i].numel(); ++k) {
        dot += double(ga[k]) * gb[k];
        na += double(ga[k]) * ga[k];
        nb += double(gb[k]) * gb[k];
      }
    }
    EXPECT_GT(dot / std::sqrt(na * nb), 0.99) << to_string(cell);
  }
}

}  // namespace
}  // namespace revnmt
