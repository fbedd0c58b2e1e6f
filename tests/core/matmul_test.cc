#include "nmt/core/matmul.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cstring>
#include <random>
#include <vector>

namespace revnmt {
namespace {

std::vector<float> random_vector(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> v(n);
  for (auto& x : v) x = normal(rng);
  return v;
}

// C = op(A) op(B) in double, for reference.
std::vector<double> reference(bool ta, bool tb, int m, int n, int k, const std::vector<float>& a,
                              int lda, const std::vector<float>& b, int ldb) {
  std::vector<double> c(size_t(m) * n, 0.0);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double sum = 0;
      for (int p = 0; p < k; ++p) {
        const double av = ta ? a[size_t(p) * lda + i] : a[size_t(i) * lda + p];
        const double bv = tb ? b[size_t(j) * ldb + p] : b[size_t(p) * ldb + j];
        sum += av * bv;
      }
      c[size_t(i) * n + j] = sum;
    }
  return c;
}

class MatmulTransposes : public ::testing::TestWithParam<std::tuple<bool, bool>> {};

TEST_P(MatmulTransposes, MatchesReferenceWithStridesAndAccumulation) {
  const auto [ta, tb] = GetParam();
  const int m = 13, n = 29, k = 37;
  const int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 5, ldc = n + 2;
  const auto a = random_vector(size_t(ta ? k : m) * lda, 1);
  const auto b = random_vector(size_t(tb ? n : k) * ldb, 2);
  std::vector<float> c(size_t(m) * ldc, 1.5f);
  matmul(ta, tb, m, n, k, a.data(), lda, b.data(), ldb, c.data(), ldc);
  const auto want = reference(ta, tb, m, n, k, a, lda, b, ldb);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) EXPECT_NEAR(c[size_t(i) * ldc + j], want[size_t(i) * n + j], 1e-4);
  // Padding columns beyond n are untouched.
  EXPECT_EQ(c[n], 1.5f);
  // Accumulate adds onto what is there.
  matmul(ta, tb, m, n, k, a.data(), lda, b.data(), ldb, c.data(), ldc, /*accumulate=*/true);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j)
      EXPECT_NEAR(c[size_t(i) * ldc + j], 2 * want[size_t(i) * n + j], 2e-4);
}

INSTANTIATE_TEST_SUITE_P(AllTransposes, MatmulTransposes,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool()));

TEST(Matmul, EmptyInnerDimensionGivesZeros) {
  std::vector<float> c(6, 3.0f);
  matmul_nn(2, 3, 0, nullptr, nullptr, c.data());
  for (float v : c) EXPECT_EQ(v, 0.0f);
}

// Translation is batch-invariant only if a row's product does not depend on how many
// other rows share the call. Check bit equality of every row computed alone vs in batches
// of many sizes, for the shapes the models use (both plain and transposed weights).
TEST(Matmul, RowResultsDoNotDependOnBatchSize) {
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    for (const auto& [k, n, tb] : std::vector<std::tuple<int, int, bool>>{
             {300, 900, false}, {300, 300, true}, {320, 8000, true}, {150, 300, false}}) {
      const int max_m = 97;
      const auto a = random_vector(size_t(max_m) * k, 3);
      const auto b = random_vector(size_t(k) * n, 4);
      std::vector<float> alone(size_t(max_m) * n);
      for (int i = 0; i < max_m; ++i)
        matmul(false, tb, 1, n, k, a.data() + size_t(i) * k, k, b.data(), tb ? k : n,
               alone.data() + size_t(i) * n, n);
      for (int m : {2, 5, 16, 17, 64, 97}) {
        std::vector<float> batch(size_t(m) * n);
        matmul(false, tb, m, n, k, a.data(), k, b.data(), tb ? k : n, batch.data(), n);
        EXPECT_EQ(std::memcmp(batch.data(), alone.data(), sizeof(float) * m * n), 0)
            << "k=" << k << " n=" << n << " transposed=" << tb << " m=" << m
            << " threads=" << threads;
      }
    }
  }
  omp_set_num_threads(1);
}

TEST(Matmul, PrimitivesAreCachedPerShape) {
  const auto a = random_vector(8 * 8, 5);
  std::vector<float> c(64);
  matmul_nn(8, 8, 8, a.data(), a.data(), c.data());
  const auto created = matmul_stats().primitives_created;
  for (int i = 0; i < 10; ++i) matmul_nn(8, 8, 8, a.data(), a.data(), c.data());
  EXPECT_EQ(matmul_stats().primitives_created, created);
}

}  // namespace
}  // namespace revnmt
