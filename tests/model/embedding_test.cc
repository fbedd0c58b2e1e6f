// Embedding lookup and its scatter-add backward: values, repeated ids, finite
// differences, determinism and id checks.

#include "nmt/model/embedding.h"

#include <gtest/gtest.h>

#include <cmath>
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

struct Emb {
  ParameterSet params;
  Embedding embedding;
  Emb(int v, int d, unsigned seed) : embedding(params, "emb", v, d) {
    params.init_uniform(0.5f, seed);
  }
  Parameter& table() { return params.get("emb/E"); }
};

TEST(Embedding, LookupCopiesRows) {
  const int v = 11, d = 5;
  Emb e(v, d, 1);
  const std::vector<int32_t> ids = {3, 0, 10, 3, 7};
  std::vector<float> out(ids.size() * d, -1.0f);
  e.embedding.lookup(ids.data(), int64_t(ids.size()), out.data());
  for (size_t i = 0; i < ids.size(); ++i)
    EXPECT_EQ(
        std::memcmp(out.data() + i * d, e.table().data() + size_t(ids[i]) * d, sizeof(float) * d),
        0)
        << i;
  EXPECT_EQ(e.table().numel(), v * d);
  EXPECT_EQ(e.table().value.shape(), Shape({v, d}));
}

// Repeated ids sum their gradients in token order: equal bits to a sequential loop.
TEST(Embedding, BackwardScatterAddsInTokenOrder) {
  const int v = 6, d = 4;
  Emb e(v, d, 2);
  const std::vector<int32_t> ids = {2, 5, 2, 2, 0, 5, 2};
  const auto d_out = random_vector(ids.size() * d, 3);
  std::vector<float> want(size_t(v) * d, 0.0f);
  for (size_t i = 0; i < ids.size(); ++i)
    for (int j = 0; j < d; ++j) want[size_t(ids[i]) * d + j] += d_out[i * d + j];
  e.params.zero_grads();
  e.embedding.backward(ids.data(), int64_t(ids.size()), d_out.data());
  EXPECT_EQ(std::memcmp(e.table().grad.data<float>(), want.data(), sizeof(float) * want.size()), 0);
  // Rows of unused ids stay zero; a second call accumulates.
  for (int j = 0; j < d; ++j) EXPECT_EQ(e.table().grad.data<float>()[1 * d + j], 0.0f);
  e.embedding.backward(ids.data(), int64_t(ids.size()), d_out.data());
  for (size_t k = 0; k < want.size(); ++k)
    EXPECT_FLOAT_EQ(e.table().grad.data<float>()[k], 2 * want[k]);
}

// L = Σ g ⊙ lookup(ids): dL/dE by central differences.
TEST(Embedding, FiniteDifferences) {
  const int v = 5, d = 3;
  Emb e(v, d, 4);
  const std::vector<int32_t> ids = {1, 4, 1, 0};
  const auto g = random_vector(ids.size() * d, 5);
  std::vector<float> out(ids.size() * d);
  auto loss = [&]() {
    e.embedding.lookup(ids.data(), int64_t(ids.size()), out.data());
    double l = 0;
    for (size_t k = 0; k < out.size(); ++k) l += double(g[k]) * out[k];
    return l;
  };
  e.params.zero_grads();
  e.embedding.backward(ids.data(), int64_t(ids.size()), g.data());
  const float step = 1e-2f;
  for (int64_t k = 0; k < e.table().numel(); ++k) {
    float& x = e.table().data()[k];
    const float original = x;
    x = original + step;
    const double plus = loss();
    x = original - step;
    const double minus = loss();
    x = original;
    EXPECT_NEAR((plus - minus) / (2.0 * double(step)), e.table().grad.data<float>()[k], 1e-4) << k;
  }
}

TEST(Embedding, OutOfRangeIdsAreInternalErrors) {
  const int v = 4, d = 2;
  Emb e(v, d, 6);
  const auto d_out = random_vector(3 * d, 7);
  std::vector<float> out(3 * d, 0.0f);
  e.params.zero_grads();
  for (int32_t bad : {-1, v, 1 << 30}) {
    const std::vector<int32_t> ids = {0, bad, 1};
    EXPECT_THROW(e.embedding.lookup(ids.data(), 3, out.data()), InternalError);
    EXPECT_THROW(e.embedding.backward(ids.data(), 3, d_out.data()), InternalError);
  }
  // Nothing was accumulated or written before the check failed.
  for (int64_t k = 0; k < e.table().numel(); ++k) EXPECT_EQ(e.table().grad.data<float>()[k], 0.0f);
  for (float x : out) EXPECT_EQ(x, 0.0f);
  // n = 0 is fine.
  e.embedding.lookup(nullptr, 0, nullptr);
  e.embedding.backward(nullptr, 0, nullptr);
}

}  // namespace
}  // namespace revnmt
