#include "nmt/core/matmul.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "nmt/core/error.h"

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

TEST(Bf16, RoundsToNearestEven) {
  auto bits = [](float f) {
    uint32_t b;
    std::memcpy(&b, &f, 4);
    return b;
  };
  auto from = [](uint32_t b) {
    float f;
    std::memcpy(&f, &b, 4);
    return f;
  };
  const std::vector<float> x = {1.0f, from(0x3f808000u), from(0x3f818000u), from(0x3f808001u),
                                -2.5f, 0.0f, from(0x7fc00000u), 3.0e38f};
  std::vector<bf16_t> out(x.size());
  to_bf16(x.data(), int64_t(x.size()), out.data());
  EXPECT_EQ(out[0], 0x3f80);  // exact
  EXPECT_EQ(out[1], 0x3f80);  // halfway, even below
  EXPECT_EQ(out[2], 0x3f82);  // halfway, even above
  EXPECT_EQ(out[3], 0x3f81);  // above halfway
  EXPECT_EQ(out[4], bits(-2.5f) >> 16);
  EXPECT_EQ(out[5], 0);
  EXPECT_TRUE(std::isnan(bf16_to_float(out[6])));
  EXPECT_EQ(out[7], 0x7f62);  // 3e38 = 0x7f61b1e6 rounds up, stays finite
  // Strided blocks.
  std::vector<float> m = {1, 2, 3, 99, 4, 5, 6, 99};
  std::vector<bf16_t> dense(6);
  to_bf16(m.data(), 2, 3, 4, dense.data());
  for (int i = 0; i < 6; ++i) EXPECT_EQ(bf16_to_float(dense[i]), float(i + 1));
}

// bf16 operands, f32 accumulation: the product of the rounded operands, up to f32 sums.
TEST_P(MatmulTransposes, Bf16MatchesRoundedReference) {
  const auto [ta, tb] = GetParam();
  const int m = 13, n = 29, k = 37;
  const int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 5, ldc = n + 2;
  auto a = random_vector(size_t(ta ? k : m) * lda, 6);
  auto b = random_vector(size_t(tb ? n : k) * ldb, 7);
  std::vector<float> c(size_t(m) * ldc, 0.5f);
  matmul_bf16(ta, tb, m, n, k, a.data(), lda, b.data(), ldb, c.data(), ldc, /*accumulate=*/true);
  for (auto* v : {&a, &b}) {
    std::vector<bf16_t> r(v->size());
    to_bf16(v->data(), int64_t(v->size()), r.data());
    for (size_t i = 0; i < v->size(); ++i) (*v)[i] = bf16_to_float(r[i]);
  }
  const auto want = reference(ta, tb, m, n, k, a, lda, b, ldb);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j)
      EXPECT_NEAR(c[size_t(i) * ldc + j], 0.5 + want[size_t(i) * n + j], 1e-4);
}

// Packed weights: the same product as matmul() up to rounding, accumulation included, in
// fp32 and bf16; rows do not depend on how many share the call (translation relies on it).
TEST(PackedMatrix, MatchesPlainAndRowsDoNotDependOnBatchSize) {
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    for (Precision precision : {Precision::fp32, Precision::bf16})
      for (const auto& [k, n, tb] : std::vector<std::tuple<int, int, bool>>{
               {300, 900, false}, {300, 8000, true}, {620, 300, false}, {17, 5, true}}) {
        const int max_m = 97, ldb = tb ? k + 3 : n + 3;
        const auto a = random_vector(size_t(max_m) * k, 8);
        const auto b = random_vector(size_t(tb ? n : k) * ldb, 9);
        PackedMatrix packed;
        packed.pack(tb, k, n, b.data(), ldb, precision);
        EXPECT_EQ(packed.k(), k);
        EXPECT_EQ(packed.n(), n);
        std::vector<float> alone(size_t(max_m) * n), plain(size_t(max_m) * n);
        for (int i = 0; i < max_m; ++i)
          matmul_packed(1, a.data() + size_t(i) * k, k, packed, alone.data() + size_t(i) * n, n);
        matmul(precision, false, tb, max_m, n, k, a.data(), k, b.data(), ldb, plain.data(), n);
        const double tolerance = precision == Precision::bf16 ? 1e-2 : 1e-3;
        for (size_t i = 0; i < plain.size(); ++i)
          ASSERT_NEAR(alone[i], plain[i], tolerance * (1 + std::fabs(plain[i])));
        for (int m : {2, 5, 16, 17, 64, 97}) {
          std::vector<float> batch(size_t(m) * n, 1.0f);
          matmul_packed(m, a.data(), k, packed, batch.data(), n);
          EXPECT_EQ(std::memcmp(batch.data(), alone.data(), sizeof(float) * m * n), 0)
              << "k=" << k << " n=" << n << " m=" << m << " " << precision_name(precision)
              << " threads=" << threads;
          matmul_packed(m, a.data(), k, packed, batch.data(), n, /*accumulate=*/true);
          for (size_t i = 0; i < size_t(m) * n; ++i) ASSERT_EQ(batch[i], alone[i] + alone[i]);
        }
      }
  }
  omp_set_num_threads(1);
}

TEST(PackedMatrix, RepackingFollowsTheWeights) {
  std::vector<float> b(6 * 4, 1.0f), a(6, 1.0f), c(4);
  PackedMatrix packed;
  packed.pack(false, 6, 4, b.data(), 4);
  matmul_packed(1, a.data(), 6, packed, c.data(), 4);
  EXPECT_EQ(c[0], 6.0f);
  for (float& x : b) x = 2.0f;
  packed.pack(false, 6, 4, b.data(), 4);
  matmul_packed(1, a.data(), 6, packed, c.data(), 4);
  EXPECT_EQ(c[3], 12.0f);
}

TEST(Precision, Names) {
  EXPECT_EQ(parse_precision("bf16"), Precision::bf16);
  EXPECT_EQ(parse_precision("fp32"), Precision::fp32);
  EXPECT_STREQ(precision_name(Precision::bf16), "bf16");
  EXPECT_THROW(parse_precision("fp16"), InputError);
}

}  // namespace
}  // namespace revnmt
