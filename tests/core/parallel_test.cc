#include "nmt/core/parallel.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <atomic>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "nmt/core/matmul.h"
#include "tests/support/test_support.h"

namespace revnmt {
namespace {

using testing::ThreadScope;

TEST(RowBlocks, SplitEveryRowIntoExactlyOneNearEqualBlock) {
  for (int rows : {1, 15, 16, 31, 32, 33, 64, 100}) {
    for (int blocks = 1; blocks <= 4; ++blocks) {
      int next = 0;
      for (int i = 0; i < blocks; ++i) {
        const RowBlock block = row_block(rows, blocks, i);
        EXPECT_EQ(block.index, i);
        EXPECT_EQ(block.first, next) << rows << " rows, block " << i << " of " << blocks;
        EXPECT_GE(block.rows, rows / blocks);
        EXPECT_LE(block.rows, rows / blocks + 1);
        next += block.rows;
      }
      EXPECT_EQ(next, rows) << rows << " rows in " << blocks << " blocks";
    }
  }
}

TEST(RowBlocks, OnePerThreadWhileEachKeepsEnoughRows) {
  const ThreadScope two(2);
  EXPECT_EQ(row_blocks(64), 2);
  EXPECT_EQ(row_blocks(2 * kMinBlockRows), 2);
  EXPECT_EQ(row_blocks(2 * kMinBlockRows - 1), 1);
  EXPECT_EQ(row_blocks(0), 1);
  {
    const ThreadScope one(1);
    EXPECT_EQ(row_blocks(64), 1);
  }
  // Inside a parallel region there is no team left to split over.
  int inside = 0;
#pragma omp parallel num_threads(2)
  {
#pragma omp master
    inside = row_blocks(64);
  }
  EXPECT_EQ(inside, 1);
}

TEST(RowBlocks, EveryBlockRunsOnceOnItsOwnThreadAndPassesStayOnIt) {
  const ThreadScope two(2);
  const int rows = 64, blocks = 2;
  std::vector<int> block_thread(blocks, -1), row_hits(rows, 0);
  std::atomic<int> passes_off_thread{0}, outside_region{0};
  for_each_row_block(rows, blocks, [&](const RowBlock& block) {
    const int thread = omp_get_thread_num();
    block_thread[size_t(block.index)] = thread;
    if (!omp_in_parallel()) ++outside_region;
    // A pass over many values inside a block stays on the block's thread.
    for_each_row(block.rows, 1 << 20, [&](int b) {
      if (omp_get_thread_num() != thread || omp_get_num_threads() != 2) ++passes_off_thread;
      ++row_hits[size_t(block.first + b)];
    });
  });
  EXPECT_EQ(outside_region, 0);
  EXPECT_EQ(passes_off_thread, 0);
  EXPECT_NE(block_thread[0], block_thread[1]);
  for (int hits : row_hits) EXPECT_EQ(hits, 1);
}

TEST(RowBlocks, TheLowestThrowingBlocksErrorSurfacesAfterAllBlocksRan) {
  const ThreadScope two(2);
  const int blocks = 4;
  std::vector<int> ran(blocks, 0);
  try {
    for_each_row_block(64, blocks, [&](const RowBlock& block) {
      ran[size_t(block.index)] = 1;
      if (block.index >= 1) throw std::runtime_error("block " + std::to_string(block.index));
    });
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "block 1");
  }
  for (int r : ran) EXPECT_EQ(r, 1);
}

// oneDNN, called inside a row block, runs the product on the calling thread; its rows
// are the bits the whole batch's product gives them, and every thread's products count.
TEST(RowBlocks, MatmulsInsideBlocksGiveTheWholeBatchsBits) {
  const ThreadScope two(2);
  const int m = 64, k = 150, n = 300;
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  std::vector<float> a(size_t(m) * k), b(size_t(k) * n), whole(size_t(m) * n),
      blocked(size_t(m) * n);
  for (auto& x : a) x = normal(rng);
  for (auto& x : b) x = normal(rng);
  matmul_nn(m, n, k, a.data(), b.data(), whole.data());
  const MatmulStats before = matmul_stats();
  for_each_row_block(m, 2, [&](const RowBlock& block) {
    matmul_nn(block.rows, n, k, a.data() + int64_t(block.first) * k, b.data(),
              blocked.data() + int64_t(block.first) * n);
  });
  const MatmulStats after = matmul_stats();
  EXPECT_EQ(std::memcmp(whole.data(), blocked.data(), sizeof(float) * whole.size()), 0);
  EXPECT_EQ(after.calls - before.calls, 2);
  EXPECT_EQ(after.flops - before.flops, 2.0 * m * n * k);
}

TEST(ColumnSums, AreTheSameForAnyThreadCount) {
  const int rows = 300, n = 900;
  std::mt19937 rng(4);
  std::normal_distribution<float> normal;
  std::vector<float> d(size_t(rows) * n);
  for (auto& x : d) x = normal(rng);
  std::vector<float> one(n, 0.5f), two(n, 0.5f);
  {
    const ThreadScope scope(1);
    add_column_sums(d.data(), rows, n, one.data());
  }
  {
    const ThreadScope scope(2);
    add_column_sums(d.data(), rows, n, two.data());
  }
  EXPECT_EQ(one, two);
  double sum = 0.5;
  for (int r = 0; r < rows; ++r) sum += d[size_t(r) * n + 7];
  EXPECT_NEAR(one[7], sum, 1e-3);
}

}  // namespace
}  // namespace revnmt
