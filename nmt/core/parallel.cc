#include "nmt/core/parallel.h"

#include <algorithm>
#include <cstring>

namespace revnmt {

int row_blocks(int rows) {
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  return std::max(1, std::min(threads, rows / kMinBlockRows));
}

void add_column_sums(const float* d, int64_t rows, int n, float* sums) {
  // A block of columns per task, accumulated in registers. (A 1-row matmul, ones · d, did
  // the same ten times slower.)
  constexpr int kColumns = 128;
#pragma omp parallel for schedule(static) if (use_team(rows * n / 16))
  for (int c0 = 0; c0 < n; c0 += kColumns) {
    const int width = std::min(kColumns, n - c0);
    float acc[kColumns];
    std::memcpy(acc, sums + c0, sizeof(float) * width);
    for (int64_t r = 0; r < rows; ++r) {
      const float* row = d + r * n + c0;  // [width]
#pragma omp simd
      for (int j = 0; j < width; ++j) acc[j] += row[j];
    }
    std::memcpy(sums + c0, acc, sizeof(float) * width);
  }
}

}  // namespace revnmt
