// train.max_memory_mb: the memory model against what the model reports and what the process
// measures, the plan of sub-batches, split steps that equal the unsplit step up to float
// summation order, and the trainer's refusals.

#include "nmt/train/memory_budget.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <tuple>

#include "nmt/core/error.h"
#include "nmt/model/seq2seq.h"
#include "nmt/train/trainer.h"
#include "tests/support/test_support.h"

namespace revnmt {
namespace {

using testing::TempDir;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif
#else
constexpr bool kAddressSanitizer = false;
#endif

constexpr int kVocab = 60;

// A padded batch of `rows` random pairs; row b has a source of src_steps - b % 3 tokens
// (incl. EOS, so rows stay sorted by decreasing source length as the batcher sorts them) and
// a target of tgt_steps - b % 4 steps.
Batch random_batch(int rows, int src_steps, int tgt_steps, uint32_t seed) {
  std::mt19937 rng(seed);
  auto word = [&] { return int32_t(4 + rng() % (kVocab - 4)); };
  Batch b;
  b.rows = rows;
  b.src_steps = src_steps;
  b.tgt_steps = tgt_steps;
  b.src.assign(size_t(src_steps) * rows, 3);
  b.tgt_in.assign(size_t(tgt_steps) * rows, 3);
  b.tgt_out.assign(size_t(tgt_steps) * rows, 3);
  for (int r = 0; r < rows; ++r) {
    const int ls = src_steps - (r * 3 / std::max(rows, 1)) % 3, lt = tgt_steps - r % 4;
    b.src_len.push_back(ls);
    b.tgt_len.push_back(lt);
    b.index.push_back(r);
    for (int t = 0; t < ls; ++t) b.src[size_t(t) * rows + r] = t == ls - 1 ? 2 : word();
    for (int t = 0; t < lt; ++t) {
      b.tgt_in[size_t(t) * rows + r] = t == 0 ? 1 : word();
      b.tgt_out[size_t(t) * rows + r] = t == lt - 1 ? 2 : word();
    }
  }
  return b;
}

// Rows [begin, end) of `batch` as a padded batch of their own.
Batch slice_rows(const Batch& batch, int begin, int end) {
  const BatchShape shape = shape_of_rows(batch, begin, end);
  Batch s;
  s.rows = end - begin;
  s.src_steps = shape.src_steps;
  s.tgt_steps = shape.tgt_steps;
  auto take = [&](const std::vector<int32_t>& from, int steps, std::vector<int32_t>& to) {
    for (int t = 0; t < steps; ++t)
      for (int r = begin; r < end; ++r) to.push_back(from[size_t(t) * batch.rows + r]);
  };
  take(batch.src, s.src_steps, s.src);
  take(batch.tgt_in, s.tgt_steps, s.tgt_in);
  take(batch.tgt_out, s.tgt_steps, s.tgt_out);
  s.src_len.assign(batch.src_len.begin() + begin, batch.src_len.begin() + end);
  s.tgt_len.assign(batch.tgt_len.begin() + begin, batch.tgt_len.begin() + end);
  s.index.assign(batch.index.begin() + begin, batch.index.begin() + end);
  return s;
}

ModelConfig small_config(CellType cell, ContextType context, int forget_bits, bool nf) {
  ModelConfig c;
  c.cell = cell;
  c.context = context;
  c.layers = 2;
  c.emb_size = 8;
  c.hidden_size = 16;
  c.slice_dim = 3;
  c.max_forget_bits = forget_bits;
  c.no_forgetting = nf;
  c.dropout_emb = c.dropout_hidden = c.dropout_query = c.dropout_slice = 0.2;
  c.init_range = 1.5;  // saturated gates: forget multipliers near their limit
  return c;
}

// ------------------------------------------------------------------ the memory model

// The tape bound must hold whatever the data: large initial weights push the forget gates
// to their limit, where the reversible buffers take the most bits.
TEST(MemoryModel, TapeBoundsHoldForEveryCellContextAndForgetLimit) {
  for (CellType cell : {CellType::revgru, CellType::revlstm, CellType::gru, CellType::lstm})
    for (ContextType context : {ContextType::hidden, ContextType::slice_emb})
      for (int bits : {1, 3, 0})
        for (bool nf : {false, true}) {
          const bool reversible = cell == CellType::revgru || cell == CellType::revlstm;
          if ((nf || bits != 3) && !reversible) continue;
          const ModelConfig config = small_config(cell, context, bits, nf);
          Seq2SeqOptions options;
          options.chunk_steps = 4;
          Seq2Seq model(config, kVocab, kVocab, SpecialTokens{}, options);
          model.initialize(5);
          const MemoryModel memory(config, kVocab, options.chunk_steps, model.params().numel(), 2);
          for (auto [rows, src, tgt] : {std::tuple{1, 3, 2}, {5, 25, 30}, {9, 40, 12}}) {
            const Batch batch = random_batch(rows, src, tgt, uint32_t(rows + src));
            model.params().zero_grads();
            const StepResult step = model.train_step(batch, DropoutKey{3, 1, true}, 0.1f, 0.01f);
            SCOPED_TRACE(model_config_to_yaml(config) + "rows " + std::to_string(rows));
            EXPECT_LE(step.encoder.held_bytes, memory.tape_bound(true, rows, src));
            EXPECT_LE(step.decoder.held_bytes, memory.tape_bound(false, rows, tgt));
          }
        }
}

// The estimate of a step covers what the process's resident set actually grows by (with an
// allowance of 2 MB for the math library's kernels compiled for new matrix shapes). RSS
// means nothing under AddressSanitizer (shadow memory, quarantine), so not there.
TEST(MemoryModel, EstimateCoversTheMeasuredGrowthOfTheResidentSet) {
  if (kAddressSanitizer) GTEST_SKIP() << "resident set sizes are not meaningful under ASan";
  if (!reset_peak_resident() || peak_resident_bytes() == 0)
    GTEST_SKIP() << "/proc/self/clear_refs cannot reset the peak resident set here";
  constexpr int64_t kAllowance = 2 << 20;
  for (CellType cell : {CellType::revgru, CellType::lstm}) {
    ModelConfig config;
    config.cell = cell;
    config.layers = 2;
    config.emb_size = 128;
    config.hidden_size = 256;
    config.context = ContextType::slice_emb;
    config.slice_dim = 32;
    const int vocab = 4000;
    Seq2Seq model(config, vocab, vocab, SpecialTokens{}, Seq2SeqOptions{});
    model.initialize(1);
    MemoryBudget::Options options;
    options.cap_bytes = int64_t(1) << 40;
    options.measure_peaks = false;  // the test measures
    MemoryBudget budget(MemoryModel(config, vocab, 16, model.params().numel(), 2), options);
    model.train_step(random_batch(2, 3, 3, 1), DropoutKey{1, 1, true}, 0.0f, 0.1f);  // warm-up
    for (auto [rows, src, tgt] : {std::tuple{8, 10, 12}, {32, 30, 28}, {16, 50, 50}}) {
      const Batch batch = random_batch(rows, src, tgt, uint32_t(rows));
      const int64_t estimate = budget.estimate(shape_of_rows(batch, 0, rows));
      const int64_t before = resident_bytes();
      ASSERT_TRUE(reset_peak_resident());
      budget.before_step();
      const StepResult step = model.train_step(batch, DropoutKey{1, 2, true}, 0.0f, 0.001f);
      const int64_t growth = peak_resident_bytes() - before;
      budget.after_step(shape_of_rows(batch, 0, rows), step);
      EXPECT_LE(growth, estimate + kAllowance) << to_string(cell) << " rows " << rows << ": grew "
                                               << growth << ", estimated " << estimate;
    }
  }
}

// ------------------------------------------------------------------ the plan

TEST(MemoryBudget, PlanCutsTheBatchIntoConsecutiveRunsThatFit) {
  const ModelConfig config = small_config(CellType::revgru, ContextType::slice_emb, 3, false);
  const MemoryModel memory(config, kVocab, 4, 10000, 2);
  const Batch batch = random_batch(12, 30, 25, 7);
  const int64_t one = memory.step(shape_of_rows(batch, 0, 1)).total();
  const int64_t whole = memory.step(shape_of_rows(batch, 0, 12)).total();
  const int64_t resident = int64_t(100) << 20;
  MemoryBudget::Options options;
  options.resident = [&] { return resident; };
  options.measure_peaks = false;

  options.cap_bytes = resident + whole;  // fits exactly
  MemoryBudget roomy(memory, options);
  EXPECT_EQ(roomy.plan(batch, [](int) { return std::string(); }),
            (std::vector<std::pair<int, int>>{{0, 12}}));

  options.cap_bytes = resident + 3 * one;
  MemoryBudget tight(memory, options);
  const auto pieces = tight.plan(batch, [](int) { return std::string(); });
  ASSERT_GT(pieces.size(), 2u);
  int next = 0;
  int64_t grown = 0;  // the kept buffers earlier runs left allocated
  MemoryBudget replay(memory, options);
  for (const auto& [begin, end] : pieces) {
    EXPECT_EQ(begin, next);
    EXPECT_LT(begin, end);
    const BatchShape shape = shape_of_rows(batch, begin, end);
    EXPECT_LE(resident + grown + replay.estimate(shape), options.cap_bytes) << begin;
    if (end < 12) {  // the run is as long as fits: one more row would not
      EXPECT_GT(resident + grown + replay.estimate(shape_of_rows(batch, begin, end + 1)),
                options.cap_bytes)
          << begin;
    }
    grown += replay.estimate(shape) - memory.step(shape).tape() - memory.step(shape).local;
    replay.after_step(shape, StepResult());
    next = end;
  }
  EXPECT_EQ(next, 12);

  options.cap_bytes = resident + one / 2;
  MemoryBudget hopeless(memory, options);
  try {
    hopeless.plan(batch, [](int row) { return "row " + std::to_string(row); });
    FAIL() << "a row that cannot fit was accepted";
  } catch (const InputError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("train.max_memory_mb 100: row 0 needs about "), std::string::npos)
        << message;
    EXPECT_NE(message.find("raise train.max_memory_mb (--max-memory-mb)"), std::string::npos);
  }
}

// ------------------------------------------------------------------ split steps

// The gradient of a batch run as sub-batches (each scaled by the whole batch's tokens, with
// the dropout masks of its rows' places in the batch) is the unsplit gradient up to the
// order of float summation; with every sub-batch's masks drawn from row 0 it is not.
class SplitStep : public ::testing::TestWithParam<CellType> {};

TEST_P(SplitStep, GradientEqualsTheUnsplitBatchUpToSummationOrder) {
  const ModelConfig config = small_config(GetParam(), ContextType::slice_emb, 3, false);
  Seq2SeqOptions options;
  options.chunk_steps = 4;
  Seq2Seq model(config, kVocab, kVocab, SpecialTokens{}, options);
  model.initialize(11);
  const Batch batch = random_batch(7, 14, 11, 3);
  const float scale = 1.0f / float(batch.target_tokens());
  const DropoutKey key{5, 9, true};
  auto gradients = [&](const std::vector<std::pair<int, int>>& pieces, bool place_rows) {
    model.params().zero_grads();
    double nll = 0;
    for (const auto& [begin, end] : pieces) {
      DropoutKey k = key;
      k.first_row = place_rows ? uint32_t(begin) : 0;
      nll += model.train_step(slice_rows(batch, begin, end), k, 0.1f, scale).loss.nll;
    }
    std::vector<std::vector<float>> g;
    for (size_t i = 0; i < model.params().size(); ++i) {
      const Parameter& p = model.params()[i];
      g.emplace_back(p.grad.data<float>(), p.grad.data<float>() + p.numel());
    }
    return std::pair{nll, g};
  };
  // Largest |a - b| relative to the largest |a| of the parameter's gradient.
  auto difference = [](const std::vector<std::vector<float>>& a,
                       const std::vector<std::vector<float>>& b) {
    double worst = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      double size = 1e-30, diff = 0;
      for (size_t j = 0; j < a[i].size(); ++j) {
        size = std::max(size, double(std::fabs(a[i][j])));
        diff = std::max(diff, double(std::fabs(a[i][j] - b[i][j])));
      }
      worst = std::max(worst, diff / size);
    }
    return worst;
  };
  const auto whole = gradients({{0, 7}}, true);
  const auto split = gradients({{0, 3}, {3, 4}, {4, 7}}, true);
  const auto misplaced = gradients({{0, 3}, {3, 4}, {4, 7}}, false);
  EXPECT_NEAR(split.first, whole.first, 1e-9 * whole.first);
  EXPECT_LT(difference(whole.second, split.second), 1e-5);
  EXPECT_GT(difference(whole.second, misplaced.second), 1e-2);  // the masks matter
}

INSTANTIATE_TEST_SUITE_P(Cells, SplitStep,
                         ::testing::Values(CellType::revgru, CellType::revlstm, CellType::gru,
                                           CellType::lstm),
                         [](const ::testing::TestParamInfo<CellType>& cell) {
                           return to_string(cell.param);
                         });

// ------------------------------------------------------------------ the trainer

Recipe tiny_recipe(const std::string& run_dir, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> overrides = {
      "run_dir=" + run_dir,      "data.dir=" + testing::source_dir() + "/tests/fixtures/train",
      "model.dropout_emb=0.2",   "model.dropout_hidden=0.2",
      "model.dropout_query=0.2", "model.dropout_slice=0.2",
      "model.layers=2",          "train.valid_metrics=[perplexity]"};
  overrides.insert(overrides.end(), extra.begin(), extra.end());
  return load_recipe(testing::source_dir() + "/recipes/tiny/revgru.yaml", overrides);
}

TrainerOptions quiet() {
  TrainerOptions options;
  options.echo = false;
  options.progress = false;
  return options;
}

// What a fresh step of corpus pair i alone is estimated at, for the recipe's model.
struct PairEstimates {
  std::vector<int64_t> bytes;
  int64_t largest = 0;
  int64_t largest_line = 0;
};

PairEstimates pair_estimates(const Recipe& recipe) {
  Trainer plain(recipe, quiet());
  const MemoryModel memory(recipe.model, plain.tgt_vocab().size(), recipe.train.chunk_steps,
                           plain.model().params().numel(), 2);
  MemoryBudget::Options options;
  options.measure_peaks = false;
  const MemoryBudget budget(memory, options);
  PairEstimates e;
  const ParallelCorpus& corpus = plain.train_corpus();
  for (int64_t i = 0; i < corpus.size(); ++i) {
    e.bytes.push_back(
        budget.estimate({1, corpus.src_length(i) + 1, corpus.tgt_length(i) + 1}, true));
    if (e.bytes.back() > e.largest) {
      e.largest = e.bytes.back();
      e.largest_line = corpus.line_number(i);
    }
  }
  return e;
}

double largest_difference(const ParameterSet& a, const ParameterSet& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i)
    for (int64_t j = 0; j < a[i].numel(); ++j)
      worst = std::max(worst, double(std::fabs(a[i].data()[j] - b[i].data()[j])));
  return worst;
}

// Every batch split (the room is little more than the largest pair's): the parameters after
// 12 updates with dropout equal those of the unsplit run up to float summation order.
TEST(TrainMemoryCap, SplitBatchesGiveTheUnsplitUpdates) {
  TempDir dir;
  const PairEstimates pairs = pair_estimates(tiny_recipe(dir.file("probe")));
  // SGD: Adam would magnify round-off differences of near-zero gradients (g / (|g| + eps)).
  const std::vector<std::string> settings = {"train.max_updates=12", "train.optimizer=sgd",
                                             "train.lr=0.5"};
  Trainer plain(tiny_recipe(dir.file("plain"), settings), quiet());
  plain.train();

  const int64_t cap_mb = 1000, cap = cap_mb << 20;
  TrainerOptions options = quiet();
  options.resident_bytes = [&] { return cap - pairs.largest - pairs.largest / 8; };
  options.measure_memory_peaks = false;
  std::vector<std::string> capped_settings = settings;
  capped_settings.push_back("train.max_memory_mb=" + std::to_string(cap_mb));
  Trainer capped(tiny_recipe(dir.file("capped"), capped_settings), options);
  capped.train();
  EXPECT_EQ(capped.state().update, 12);
  const std::string log = testing::read_text(dir.file("capped") + "/train.log");
  EXPECT_NE(log.find("[memory] Up. 1: a batch of 8 sentences"), std::string::npos) << log;
  EXPECT_NE(log.find(": 12 batches of this session ran as "), std::string::npos) << log;
  // Round-off leaves ~4e-6 here; sub-batches drawing their dropout masks from row 0 instead
  // of their rows' places in the batch leave 3e-2.
  EXPECT_LT(largest_difference(plain.model().params(), capped.model().params()), 1e-4);
}

TEST(TrainMemoryCap, APairThatCannotFitIsRefusedAtTheStartNamingIt) {
  TempDir dir;
  const PairEstimates pairs = pair_estimates(tiny_recipe(dir.file("probe")));
  const int64_t cap_mb = 1000, cap = cap_mb << 20;
  TrainerOptions options = quiet();
  options.resident_bytes = [&] { return cap - pairs.largest + 1; };  // one byte short
  options.measure_memory_peaks = false;
  try {
    Trainer trainer(tiny_recipe(dir.file("run"), {"train.max_memory_mb=1000"}), options);
    FAIL() << "accepted";
  } catch (const InputError& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind("train.max_memory_mb 1000: the training pair at line " +
                                std::to_string(pairs.largest_line) + " of ",
                            0),
              0u)
        << message;
    EXPECT_NE(message.find("train.en / "), std::string::npos) << message;
  }
}

TEST(TrainMemoryCap, ACapBelowWhatTheProcessHoldsIsRefused) {
  TempDir dir;
  TrainerOptions options = quiet();
  options.resident_bytes = [] { return int64_t(300) << 20; };
  options.measure_memory_peaks = false;
  try {
    Trainer trainer(tiny_recipe(dir.file("run"), {"train.max_memory_mb=200"}), options);
    FAIL() << "accepted";
  } catch (const InputError& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind("train.max_memory_mb 200 is below the 300.00 MB (parameters ", 0), 0u)
        << message;
  }
}

}  // namespace
}  // namespace revnmt
