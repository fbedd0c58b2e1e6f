#pragma once
// Row-parallel elementwise passes. A pass computes each row from that row's inputs only,
// so splitting the rows over the OpenMP team never changes a bit: results are the same for
// any thread count and any batch composition.

#include <cstdint>

namespace revnmt {

// Passes over fewer values than this run on the calling thread: below it, waking the
// OpenMP team costs more than the work.
constexpr int64_t kParallelElements = 4096;

// body(b) for every row b in [0, rows), the rows split statically over the OpenMP team
// when rows × width values are worth it. The body must not throw: an exception cannot
// leave an OpenMP region. Bodies copy what they use into locals before their inner loops,
// so the vectorizer sees values rather than loads through the closure.
template <class Body>
void for_each_row(int rows, int64_t width, const Body& body) {
#pragma omp parallel for schedule(static) if (int64_t(rows) * width >= kParallelElements)
  for (int b = 0; b < rows; ++b) body(b);
}

// sums [n] += Σ_r d [r, n] (a bias gradient): every column adds its rows in row order, so
// any thread count gives the same bits; columns are split over the team.
void add_column_sums(const float* d, int64_t rows, int n, float* sums);

}  // namespace revnmt
