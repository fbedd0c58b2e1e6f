#pragma once
// Row-parallel work. A pass computes each row from that row's inputs only, so splitting
// the rows over the OpenMP team never changes a bit: results are the same for any thread
// count and any batch composition.
//
// Two granularities:
//  - for_each_row: one elementwise pass, its rows split over the team (a fork and a join
//    per pass);
//  - for_each_row_block: a whole sequence of passes and products (a recurrent step, or
//    all steps of a chunk) per block of rows, one block per thread, in one parallel
//    region. Inside it every for_each_row and every matmul runs on the calling thread:
//    no fork/join per operation, and no thread waits for another's serial part.

#include <omp.h>

#include <cstdint>
#include <exception>
#include <vector>

namespace revnmt {

// Passes over fewer values than this run on the calling thread: below it, waking the
// OpenMP team costs more than the work.
constexpr int64_t kParallelElements = 4096;

// True when a pass over `elements` values should fork the team: big enough to pay for it,
// and not already running inside a parallel region (a row block).
inline bool use_team(int64_t elements) {
  return elements >= kParallelElements && !omp_in_parallel();
}

// body(b) for every row b in [0, rows), the rows split statically over the OpenMP team
// when rows × width values are worth it. The body must not throw: an exception cannot
// leave an OpenMP region. Bodies copy what they use into locals before their inner loops,
// so the vectorizer sees values rather than loads through the closure.
template <class Body>
void for_each_row(int rows, int64_t width, const Body& body) {
  if (!use_team(int64_t(rows) * width)) {
    for (int b = 0; b < rows; ++b) body(b);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int b = 0; b < rows; ++b) body(b);
}

// Rows [first, first + rows) of a batch: block `index` of a split.
struct RowBlock {
  int index = 0;
  int first = 0;
  int rows = 0;
};

// Blocks below this many rows make matrix products too thin to pay for the split.
constexpr int kMinBlockRows = 16;

// How many blocks to split `rows` into: one per thread, as long as each keeps
// kMinBlockRows rows (at least 1).
int row_blocks(int rows);

// Block `index` of `rows` split into `blocks` near-equal contiguous blocks.
inline RowBlock row_block(int rows, int blocks, int index) {
  const int first = int(int64_t(rows) * index / blocks);
  const int end = int(int64_t(rows) * (index + 1) / blocks);
  return RowBlock{index, first, end - first};
}

// body(block) for every block of `rows` split into `blocks`, the blocks spread over the
// OpenMP team in one parallel region (on the calling thread when blocks == 1). A block's
// exception is caught in its thread; once every block is done, the exception of the
// lowest-numbered block that threw is rethrown.
template <class Body>
void for_each_row_block(int rows, int blocks, const Body& body) {
  if (blocks <= 1) {
    body(row_block(rows, 1, 0));
    return;
  }
  std::vector<std::exception_ptr> errors(static_cast<size_t>(blocks));
#pragma omp parallel num_threads(blocks)
  {
    const int team = omp_get_num_threads();
    for (int i = omp_get_thread_num(); i < blocks; i += team) {
      try {
        body(row_block(rows, blocks, i));
      } catch (...) {
        errors[size_t(i)] = std::current_exception();
      }
    }
  }
  for (const auto& error : errors)
    if (error) std::rethrow_exception(error);
}

// sums [n] += Σ_r d [r, n] (a bias gradient): every column adds its rows in row order, so
// any thread count gives the same bits; columns are split over the team.
void add_column_sums(const float* d, int64_t rows, int n, float* sums);

}  // namespace revnmt
