#include "nmt/data/batcher.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace revnmt {
namespace {

// A corpus of `n` pairs with varied lengths (ids >= 4, clear of the specials), plus a few
// very long targets.
ParallelCorpus synthetic_corpus(int n, uint32_t seed = 5) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> length(1, 40), id(4, 999);
  ParallelCorpus corpus;
  for (int i = 0; i < n; ++i) {
    std::vector<int32_t> src(length(rng)), tgt(i % 97 == 13 ? 300 : length(rng));
    for (auto& x : src) x = id(rng);
    for (auto& y : tgt) y = id(rng);
    corpus.add(src, tgt, i + 1);
  }
  return corpus;
}

std::vector<int64_t> flatten(const BatchPlan& plan) {
  std::vector<int64_t> all;
  for (const auto& batch : plan) all.insert(all.end(), batch.begin(), batch.end());
  return all;
}

void expect_each_once(const BatchPlan& plan, int64_t n) {
  std::vector<int64_t> all = flatten(plan);
  std::sort(all.begin(), all.end());
  ASSERT_EQ(int64_t(all.size()), n);
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(all[i], i);
}

int64_t padded_source_tokens(const Batcher& batcher, const BatchPlan& plan) {
  int64_t total = 0;
  for (const auto& indices : plan) {
    const Batch b = batcher.make_batch(indices);
    total += int64_t(b.rows) * b.src_steps;
  }
  return total;
}

TEST(Batcher, PlanIsAPureFunctionOfSeedAndEpoch) {
  const ParallelCorpus corpus = synthetic_corpus(3000);
  BatcherOptions options;
  options.batch_size = 32;
  options.pool_batches = 10;
  options.seed = 42;
  const Batcher a(corpus, options), b(corpus, options);
  EXPECT_EQ(a.epoch_plan(3), b.epoch_plan(3));
  EXPECT_EQ(a.epoch_plan(3), a.epoch_plan(3));
  EXPECT_NE(a.epoch_plan(3), a.epoch_plan(4));
  options.seed = 43;
  EXPECT_NE(Batcher(corpus, options).epoch_plan(3), a.epoch_plan(3));
}

TEST(Batcher, EverySentenceExactlyOncePerEpoch) {
  const ParallelCorpus corpus = synthetic_corpus(2500);
  for (const int64_t tokens : {0, 400}) {
    for (const bool shuffle : {true, false}) {
      BatcherOptions options;
      options.batch_size = 24;
      options.batch_tokens = tokens;
      options.pool_batches = 7;
      options.shuffle = shuffle;
      const Batcher batcher(corpus, options);
      for (int epoch = 0; epoch < 3; ++epoch) expect_each_once(batcher.epoch_plan(epoch), 2500);
    }
  }
}

TEST(Batcher, SentenceCountBatches) {
  const ParallelCorpus corpus = synthetic_corpus(1000);
  BatcherOptions options;
  options.batch_size = 32;
  options.pool_batches = 5;  // pools of 160 sentences: 5 full batches each
  const Batcher batcher(corpus, options);
  EXPECT_EQ(batcher.pool_size(), 160);
  const BatchPlan plan = batcher.epoch_plan(1);
  int small = 0;
  for (const auto& batch : plan) {
    EXPECT_LE(batch.size(), 32u);
    if (batch.size() < 32) ++small;
  }
  EXPECT_EQ(small, 1);                 // only the last pool (40 sentences) has a partial batch
  EXPECT_EQ(plan.size(), 6u * 5 + 2);  // 6 pools of 5 batches, then 32 + 8
}

TEST(Batcher, TokenBudgetIncludesPaddingAndKeepsOverlongSentences) {
  const ParallelCorpus corpus = synthetic_corpus(2000);
  BatcherOptions options;
  options.batch_tokens = 250;  // below the 300-token targets
  const Batcher batcher(corpus, options);
  const BatchPlan plan = batcher.epoch_plan(2);
  int singles_over_budget = 0;
  for (const auto& indices : plan) {
    const Batch batch = batcher.make_batch(indices);
    if (int64_t(batch.rows) * batch.tgt_steps > options.batch_tokens) {
      EXPECT_EQ(batch.rows, 1);
      ++singles_over_budget;
    }
  }
  int overlong = 0;
  for (int64_t i = 0; i < corpus.size(); ++i) overlong += corpus.tgt_length(i) + 1 > 250;
  EXPECT_GT(overlong, 0);
  EXPECT_EQ(singles_over_budget, overlong);
  expect_each_once(plan, corpus.size());
}

TEST(Batcher, PoolsSortByLengthAndCutPadding) {
  const ParallelCorpus corpus = synthetic_corpus(4000);
  BatcherOptions bucketed;
  bucketed.batch_size = 32;
  bucketed.pool_batches = 50;
  BatcherOptions unbucketed = bucketed;
  unbucketed.pool_batches = 1;  // a pool of one batch: sorting it changes nothing
  const Batcher with_pools(corpus, bucketed), without_pools(corpus, unbucketed);
  const int64_t tight = padded_source_tokens(with_pools, with_pools.epoch_plan(0));
  const int64_t loose = padded_source_tokens(without_pools, without_pools.epoch_plan(0));
  EXPECT_LT(double(tight), 0.75 * double(loose));
  EXPECT_GT(tight, corpus.src_tokens());  // sources + EOS, at least
}

TEST(Batcher, RowsSortedByDecreasingSourceLengthThenIndex) {
  const ParallelCorpus corpus = synthetic_corpus(800);
  BatcherOptions options;
  options.batch_size = 40;
  const Batcher batcher(corpus, options);
  for (const auto& indices : batcher.epoch_plan(0)) {
    const Batch batch = batcher.make_batch(indices);
    EXPECT_EQ(batch.index, indices);  // the plan lists rows in batch order
    for (int b = 1; b < batch.rows; ++b) {
      ASSERT_GE(batch.src_len[b - 1], batch.src_len[b]);
      if (batch.src_len[b - 1] == batch.src_len[b]) {
        ASSERT_LT(batch.index[b - 1], batch.index[b]);
      }
    }
  }
  // Given in any order, the rows come out the same.
  const Batch shuffled = batcher.make_batch({5, 1, 700, 42});
  const Batch ordered = batcher.make_batch({700, 42, 5, 1});
  EXPECT_EQ(shuffled.index, ordered.index);
  EXPECT_EQ(shuffled.src, ordered.src);
}

TEST(Batcher, ValidationOrderHasNoRandomness) {
  const ParallelCorpus corpus = synthetic_corpus(500);
  BatcherOptions options;
  options.batch_size = 16;
  options.shuffle = false;
  const Batcher batcher(corpus, options);
  const BatchPlan plan = batcher.epoch_plan(0);
  EXPECT_EQ(plan, batcher.epoch_plan(9));
  options.seed = 1234;
  EXPECT_EQ(plan, Batcher(corpus, options).epoch_plan(0));
  // Batches follow increasing source length.
  int32_t previous_max = 0;
  for (const auto& indices : plan) {
    int32_t lo = 1 << 30, hi = 0;
    for (const int64_t i : indices) {
      lo = std::min(lo, corpus.src_length(i));
      hi = std::max(hi, corpus.src_length(i));
    }
    EXPECT_GE(lo, previous_max);
    previous_max = hi;
  }
}

TEST(Batcher, PaddingAndBosEosLayout) {
  ParallelCorpus corpus(SpecialIds{11, 12, 13}, SpecialIds{21, 22, 23});
  corpus.add({100, 101}, {200, 201, 202}, 1);  // index 0
  corpus.add({110, 111, 112}, {210}, 2);       // index 1
  corpus.add({120, 121}, {220, 221}, 3);       // index 2
  const Batcher batcher(corpus, BatcherOptions{});
  const Batch b = batcher.make_batch({0, 1, 2});
  // Rows: index 1 (3 source tokens), then 0 and 2 (2 each, by index).
  EXPECT_EQ(b.rows, 3);
  EXPECT_EQ(b.index, (std::vector<int64_t>{1, 0, 2}));
  EXPECT_EQ(b.src_steps, 4);
  EXPECT_EQ(b.tgt_steps, 4);
  EXPECT_EQ(b.src_len, (std::vector<int32_t>{4, 3, 3}));
  EXPECT_EQ(b.tgt_len, (std::vector<int32_t>{2, 4, 3}));
  // Time-major [T, B].
  EXPECT_EQ(b.src, (std::vector<int32_t>{110, 100, 120,  //
                                         111, 101, 121,  //
                                         112, 12, 12,    //
                                         12, 13, 13}));
  EXPECT_EQ(b.tgt_in, (std::vector<int32_t>{21, 21, 21,     //
                                            210, 200, 220,  //
                                            23, 201, 221,   //
                                            23, 202, 23}));
  EXPECT_EQ(b.tgt_out, (std::vector<int32_t>{210, 200, 220,  //
                                             22, 201, 221,   //
                                             23, 202, 22,    //
                                             23, 22, 23}));
  EXPECT_EQ(b.target_tokens(), 9);
  EXPECT_EQ(b.source_tokens(), 10);
}

TEST(Batcher, SourceBatchKeepsTheGivenOrder) {
  const Batch b = make_source_batch({{7}, {8, 9, 10}, {}}, /*eos=*/2, /*pad=*/3);
  EXPECT_EQ(b.rows, 3);
  EXPECT_EQ(b.src_steps, 4);
  EXPECT_EQ(b.src_len, (std::vector<int32_t>{2, 4, 1}));
  EXPECT_EQ(b.index, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(b.src, (std::vector<int32_t>{7, 8, 2,   //
                                         2, 9, 3,   //
                                         3, 10, 3,  //
                                         3, 2, 3}));
  EXPECT_EQ(b.tgt_steps, 0);
  EXPECT_TRUE(b.tgt_in.empty());
}

}  // namespace
}  // namespace revnmt
