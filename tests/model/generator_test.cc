// Generator and its fused log-softmax/NLL loss:
// * statistics and every gradient against a naive double implementation, with pads,
//   with and without label smoothing, across block boundaries;
// * finite differences for W, b and h;
// * pads contribute nothing, perplexity ignores them and label smoothing;
// * log_probs: normalised, batch-invariant, stable for large logits;
// * thread count does not change any bit;
// * bf16 weights packed once per FixedWeights scope give the bits of packing per call, and
//   a weight change outside a scope is seen.

#include "nmt/model/generator.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

namespace revnmt {
namespace {

constexpr int32_t kPad = 1;

std::vector<float> random_vector(size_t n, unsigned seed, float stddev = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, stddev);
  std::vector<float> v(n);
  for (auto& x : v) x = normal(rng);
  return v;
}

// Random targets in [0, V) with about `pad_fraction` of them the pad id.
std::vector<int32_t> random_targets(int rows, int vocab, double pad_fraction, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> unit;
  std::vector<int32_t> t(static_cast<size_t>(rows));
  for (auto& y : t) y = unit(rng) < pad_fraction ? kPad : int32_t(rng() % uint32_t(vocab));
  return t;
}

struct Gen {
  ParameterSet params;
  Generator generator;
  Gen(int h, int v, unsigned seed, float range = 0.5f) : generator(params, "gen", h, v) {
    params.init_uniform(range, seed);
  }
  Parameter& w() { return params.get("gen/W"); }
  Parameter& b() { return params.get("gen/b"); }
};

struct Reference {
  double nll = 0, smoothed = 0;
  int64_t tokens = 0;
  std::vector<double> d_h, d_w, d_b;
};

// Cross-entropy against (1-ε)·onehot + ε/V, in double, gradients of scale · smoothed.
Reference reference(Gen& g, const std::vector<float>& h, int rows, const std::vector<int32_t>& y,
                    float eps, float scale) {
  const int hd = g.generator.hidden(), v = g.generator.vocab();
  const float* w = g.w().data();
  const float* b = g.b().data();
  Reference ref;
  ref.d_h.assign(size_t(rows) * hd, 0.0);
  ref.d_w.assign(size_t(v) * hd, 0.0);
  ref.d_b.assign(size_t(v), 0.0);
  std::vector<double> logits(static_cast<size_t>(v));
  for (int r = 0; r < rows; ++r) {
    if (y[size_t(r)] == kPad) continue;
    ++ref.tokens;
    double max = -1e300;
    for (int k = 0; k < v; ++k) {
      double l = b[k];
      for (int j = 0; j < hd; ++j) l += double(h[size_t(r) * hd + j]) * w[size_t(k) * hd + j];
      logits[size_t(k)] = l;
      max = std::max(max, l);
    }
    double z = 0;
    for (int k = 0; k < v; ++k) z += std::exp(logits[size_t(k)] - max);
    const double log_z = max + std::log(z);
    for (int k = 0; k < v; ++k) {
      const double log_p = logits[size_t(k)] - log_z;
      const double target = (k == y[size_t(r)] ? 1.0 - eps : 0.0) + double(eps) / v;
      if (k == y[size_t(r)]) ref.nll -= log_p;
      ref.smoothed -= target * log_p;
      const double g_logit = scale * (std::exp(log_p) - target);
      ref.d_b[size_t(k)] += g_logit;
      for (int j = 0; j < hd; ++j) {
        ref.d_w[size_t(k) * hd + j] += g_logit * h[size_t(r) * hd + j];
        ref.d_h[size_t(r) * hd + j] += g_logit * w[size_t(k) * hd + j];
      }
    }
  }
  return ref;
}

void expect_near_all(const float* got, const std::vector<double>& want, double tol,
                     const std::string& what) {
  for (size_t k = 0; k < want.size(); ++k)
    ASSERT_NEAR(got[k], want[k], tol + 1e-5 * std::fabs(want[k])) << what << "[" << k << "]";
}

class GeneratorVsReference : public ::testing::TestWithParam<std::tuple<int, float>> {};

TEST_P(GeneratorVsReference, StatsAndGradients) {
  const auto [rows, eps] = GetParam();
  const int hd = 7, v = 37;
  const float scale = 0.25f;
  Gen g(hd, v, 1);
  const auto h = random_vector(size_t(rows) * hd, 2);
  const auto y = random_targets(rows, v, 0.2, 3);
  g.params.zero_grads();
  std::vector<float> d_h(size_t(rows) * hd, 42.0f);
  const LossStats stats =
      g.generator.loss_and_backward(h.data(), rows, y.data(), kPad, eps, scale, d_h.data());
  const Reference ref = reference(g, h, rows, y, eps, scale);
  EXPECT_EQ(stats.tokens, ref.tokens);
  EXPECT_NEAR(stats.nll, ref.nll, 1e-5 * ref.nll);
  EXPECT_NEAR(stats.smoothed_loss, ref.smoothed, 1e-5 * ref.smoothed);
  if (eps == 0.0f) {
    EXPECT_EQ(stats.smoothed_loss, stats.nll);
  }
  expect_near_all(d_h.data(), ref.d_h, 1e-6, "d_h");
  expect_near_all(g.w().grad.data<float>(), ref.d_w, 1e-5, "dW");
  expect_near_all(g.b().grad.data<float>(), ref.d_b, 1e-5, "db");
  for (int r = 0; r < rows; ++r)
    if (y[size_t(r)] == kPad) {
      for (int j = 0; j < hd; ++j) EXPECT_EQ(d_h[size_t(r) * hd + j], 0.0f) << "pad row " << r;
    }

  // loss_only: the same statistics, bit for bit, and no gradient.
  g.params.zero_grads();
  const LossStats only = g.generator.loss_only(h.data(), rows, y.data(), kPad, eps);
  EXPECT_EQ(only.nll, stats.nll);
  EXPECT_EQ(only.smoothed_loss, stats.smoothed_loss);
  EXPECT_EQ(only.tokens, stats.tokens);
  for (int64_t k = 0; k < g.w().numel(); ++k) ASSERT_EQ(g.w().grad.data<float>()[k], 0.0f);
}

// 600 rows cross two block boundaries (kBlockRows = 256).
INSTANTIATE_TEST_SUITE_P(RowsAndSmoothing, GeneratorVsReference,
                         ::testing::Combine(::testing::Values(1, 9, 600),
                                            ::testing::Values(0.0f, 0.1f)));

class GeneratorFiniteDifferences : public ::testing::TestWithParam<float> {};

TEST_P(GeneratorFiniteDifferences, EveryElementOfWBAndH) {
  const float eps = GetParam();
  const int hd = 4, v = 6, rows = 5;
  const float scale = 0.5f;
  Gen g(hd, v, 11, 1.0f);
  auto h = random_vector(size_t(rows) * hd, 12);
  const std::vector<int32_t> y = {3, kPad, 0, 5, 3};
  g.params.zero_grads();
  std::vector<float> d_h(size_t(rows) * hd);
  g.generator.loss_and_backward(h.data(), rows, y.data(), kPad, eps, scale, d_h.data());
  auto loss = [&]() {
    return scale * g.generator.loss_only(h.data(), rows, y.data(), kPad, eps).smoothed_loss;
  };
  const float step = 5e-3f;
  auto central = [&](float& x) {
    const float original = x;
    x = original + step;
    const double plus = loss();
    x = original - step;
    const double minus = loss();
    x = original;
    return (plus - minus) / (2.0 * double(step));
  };
  auto check = [&](float* values, const float* grads, int64_t n, const std::string& what) {
    for (int64_t k = 0; k < n; ++k) {
      const double numeric = central(values[k]);
      EXPECT_NEAR(numeric, grads[k], 5e-4 + 5e-3 * std::fabs(numeric)) << what << "[" << k << "]";
    }
  };
  check(g.w().data(), g.w().grad.data<float>(), g.w().numel(), "W");
  check(g.b().data(), g.b().grad.data<float>(), g.b().numel(), "b");
  check(h.data(), d_h.data(), int64_t(h.size()), "h");
  for (int j = 0; j < hd; ++j) EXPECT_EQ(d_h[size_t(hd) + j], 0.0f);  // the pad row
}

INSTANTIATE_TEST_SUITE_P(Smoothing, GeneratorFiniteDifferences, ::testing::Values(0.0f, 0.2f));

// Pads contribute nothing: inserting pad rows changes no statistic and no gradient bit;
// perplexity is exp(nll / tokens), the same with and without label smoothing.
TEST(Generator, PadsAndPerplexityAccounting) {
  const int hd = 5, v = 19, rows = 12;
  Gen g(hd, v, 21);
  const auto h = random_vector(size_t(rows) * hd, 22);
  const auto y = random_targets(rows, v, 0.0, 23);
  std::vector<float> padded_h;
  std::vector<int32_t> padded_y;
  std::mt19937 rng(24);
  for (int r = 0; r < rows; ++r) {
    for (int extra = int(rng() % 3); extra > 0; --extra) {
      const auto junk = random_vector(size_t(hd), rng(), 5.0f);
      padded_h.insert(padded_h.end(), junk.begin(), junk.end());
      padded_y.push_back(kPad);
    }
    padded_h.insert(padded_h.end(), h.begin() + r * hd, h.begin() + (r + 1) * hd);
    padded_y.push_back(y[size_t(r)]);
  }
  const int padded_rows = int(padded_y.size());
  ASSERT_GT(padded_rows, rows);

  g.params.zero_grads();
  std::vector<float> d_h(size_t(rows) * hd);
  const LossStats plain =
      g.generator.loss_and_backward(h.data(), rows, y.data(), kPad, 0.1f, 1.0f, d_h.data());
  const std::vector<float> dw(g.w().grad.data<float>(), g.w().grad.data<float>() + g.w().numel());
  const std::vector<float> db(g.b().grad.data<float>(), g.b().grad.data<float>() + v);

  g.params.zero_grads();
  std::vector<float> d_padded(size_t(padded_rows) * hd, 7.0f);
  const LossStats with_pads = g.generator.loss_and_backward(
      padded_h.data(), padded_rows, padded_y.data(), kPad, 0.1f, 1.0f, d_padded.data());
  EXPECT_EQ(with_pads.tokens, rows);
  EXPECT_EQ(with_pads.nll, plain.nll);
  EXPECT_EQ(with_pads.smoothed_loss, plain.smoothed_loss);
  EXPECT_EQ(std::memcmp(g.w().grad.data<float>(), dw.data(), sizeof(float) * dw.size()), 0);
  EXPECT_EQ(std::memcmp(g.b().grad.data<float>(), db.data(), sizeof(float) * db.size()), 0);
  for (int r = 0, k = 0; r < padded_rows; ++r) {
    const float* row = d_padded.data() + size_t(r) * hd;
    if (padded_y[size_t(r)] == kPad) {
      for (int j = 0; j < hd; ++j) EXPECT_EQ(row[j], 0.0f);
    } else {
      EXPECT_EQ(std::memcmp(row, d_h.data() + size_t(k++) * hd, sizeof(float) * hd), 0);
    }
  }

  // Perplexity from the unsmoothed nll, whatever the smoothing.
  const LossStats no_smoothing = g.generator.loss_only(h.data(), rows, y.data(), kPad, 0.0f);
  EXPECT_NEAR(plain.nll, no_smoothing.nll, 1e-12 * no_smoothing.nll);
  EXPECT_NE(plain.smoothed_loss, plain.nll);
  EXPECT_NEAR(plain.perplexity(), std::exp(no_smoothing.nll / rows), 1e-9);
  // All pads: nothing counted, perplexity 1, zero gradient.
  const std::vector<int32_t> all_pad(size_t(rows), kPad);
  g.params.zero_grads();
  const LossStats none =
      g.generator.loss_and_backward(h.data(), rows, all_pad.data(), kPad, 0.1f, 1.0f, d_h.data());
  EXPECT_EQ(none.tokens, 0);
  EXPECT_EQ(none.nll, 0.0);
  EXPECT_EQ(none.perplexity(), 1.0);
  for (float x : d_h) EXPECT_EQ(x, 0.0f);
  // Accumulating stats over batches.
  LossStats total = plain;
  total += with_pads;
  EXPECT_EQ(total.tokens, 2 * rows);
  EXPECT_DOUBLE_EQ(total.nll, 2 * plain.nll);
}

TEST(Generator, GradientsAccumulateAcrossCalls) {
  const int hd = 3, v = 8, rows = 4;
  Gen g(hd, v, 31);
  const auto h = random_vector(size_t(rows) * hd, 32);
  const auto y = random_targets(rows, v, 0.0, 33);
  std::vector<float> d_h(size_t(rows) * hd);
  g.params.zero_grads();
  g.generator.loss_and_backward(h.data(), rows, y.data(), kPad, 0.0f, 1.0f, d_h.data());
  const std::vector<float> once(g.w().grad.data<float>(), g.w().grad.data<float>() + g.w().numel());
  g.generator.loss_and_backward(h.data(), rows, y.data(), kPad, 0.0f, 1.0f, d_h.data());
  for (size_t k = 0; k < once.size(); ++k)
    EXPECT_FLOAT_EQ(g.w().grad.data<float>()[k], 2 * once[k]);
}

TEST(Generator, FixedWeightsScopePacksOnceWithTheSameBits) {
  const int hd = 16, v = 40, rows = 300;  // two blocks of rows
  Gen g(hd, v, 41);
  g.generator.set_precision(Precision::bf16);
  const auto h = random_vector(size_t(rows) * hd, 42);
  const auto y = random_targets(rows, v, 0.1, 43);
  struct Result {
    double nll = 0;
    std::vector<float> d_h, d_w;
  };
  auto two_calls = [&]() {
    Result res;
    res.d_h.resize(size_t(rows) * hd);
    g.params.zero_grads();
    for (int call = 0; call < 2; ++call)
      res.nll +=
          g.generator.loss_and_backward(h.data(), rows, y.data(), kPad, 0.1f, 1.0f, res.d_h.data())
              .nll;
    res.d_w.assign(g.w().grad.data<float>(), g.w().grad.data<float>() + g.w().numel());
    return res;
  };
  const Result per_call = two_calls();
  Result scoped;
  {
    const Generator::FixedWeights fixed(g.generator);
    scoped = two_calls();
  }
  EXPECT_EQ(per_call.nll, scoped.nll);
  EXPECT_EQ(per_call.d_h, scoped.d_h);
  EXPECT_EQ(per_call.d_w, scoped.d_w);
  // A new scope packs the changed weights again.
  for (int64_t k = 0; k < g.w().numel(); ++k) g.w().data()[k] *= 0.5f;
  Result changed;
  {
    const Generator::FixedWeights fixed(g.generator);
    changed = two_calls();
  }
  const Result unscoped = two_calls();
  EXPECT_NE(changed.nll, scoped.nll);
  EXPECT_EQ(changed.nll, unscoped.nll);
  EXPECT_EQ(changed.d_w, unscoped.d_w);
}

TEST(Generator, RejectsTargetsOutsideTheVocabulary) {
  const int hd = 3, v = 8;
  Gen g(hd, v, 41);
  const auto h = random_vector(size_t(2) * hd, 42);
  std::vector<float> d_h(size_t(2) * hd);
  g.params.zero_grads();
  for (int32_t bad : {-3, v, v + 100}) {
    const std::vector<int32_t> y = {2, bad};
    EXPECT_THROW(g.generator.loss_and_backward(h.data(), 2, y.data(), kPad, 0.0f, 1.0f, d_h.data()),
                 InternalError);
    EXPECT_THROW(g.generator.loss_only(h.data(), 2, y.data(), kPad, 0.0f), InternalError);
  }
  for (int64_t k = 0; k < g.w().numel(); ++k) EXPECT_EQ(g.w().grad.data<float>()[k], 0.0f);
}

// log_probs: a log-softmax of the logits, matching double; rows sum to 1.
TEST(Generator, LogProbsMatchReference) {
  const int hd = 9, v = 53, rows = 6;
  Gen g(hd, v, 51);
  const auto h = random_vector(size_t(rows) * hd, 52);
  std::vector<float> out(size_t(rows) * v);
  g.generator.log_probs(h.data(), rows, out.data());
  for (int r = 0; r < rows; ++r) {
    std::vector<double> logits(static_cast<size_t>(v));
    double max = -1e300;
    for (int k = 0; k < v; ++k) {
      double l = g.b().data()[k];
      for (int j = 0; j < hd; ++j) l += double(h[size_t(r) * hd + j]) * g.w().data()[k * hd + j];
      logits[size_t(k)] = l;
      max = std::max(max, l);
    }
    double z = 0;
    for (double l : logits) z += std::exp(l - max);
    double total = 0;
    for (int k = 0; k < v; ++k) {
      EXPECT_NEAR(out[size_t(r) * v + k], logits[size_t(k)] - max - std::log(z), 2e-6);
      total += std::exp(double(out[size_t(r) * v + k]));
    }
    EXPECT_NEAR(total, 1.0, 1e-6);
  }
}

// Huge logits (scale ~1e3): max subtraction keeps everything finite and exact enough.
TEST(Generator, StableForLargeLogits) {
  const int hd = 4, v = 30, rows = 5;
  Gen g(hd, v, 61);
  const auto h = random_vector(size_t(rows) * hd, 62, 2000.0f);
  const auto y = random_targets(rows, v, 0.0, 63);
  std::vector<float> d_h(size_t(rows) * hd), lp(size_t(rows) * v);
  g.params.zero_grads();
  const LossStats stats =
      g.generator.loss_and_backward(h.data(), rows, y.data(), kPad, 0.1f, 1.0f, d_h.data());
  const Reference ref = reference(g, h, rows, y, 0.1f, 1.0f);
  ASSERT_TRUE(std::isfinite(stats.nll));
  ASSERT_TRUE(std::isfinite(stats.smoothed_loss));
  EXPECT_NEAR(stats.nll, ref.nll, 1e-4 * ref.nll + 1e-2);
  EXPECT_NEAR(stats.smoothed_loss, ref.smoothed, 1e-4 * ref.smoothed + 1e-2);
  for (float x : d_h) ASSERT_TRUE(std::isfinite(x));
  g.generator.log_probs(h.data(), rows, lp.data());
  for (float x : lp) {
    ASSERT_FALSE(std::isnan(x));
    ASSERT_LE(x, 0.0f);
  }
}

// A row's log-probs are the same bits alone or in any batch (translation relies on it).
TEST(Generator, LogProbsAreBatchInvariant) {
  const int hd = 64, v = 1001, max_rows = 300;
  Gen g(hd, v, 71);
  const auto h = random_vector(size_t(max_rows) * hd, 72);
  std::vector<float> alone(size_t(max_rows) * v);
  for (int r = 0; r < max_rows; ++r)
    g.generator.log_probs(h.data() + size_t(r) * hd, 1, alone.data() + size_t(r) * v);
  for (int rows : {2, 7, 64, 300}) {
    std::vector<float> batch(size_t(rows) * v);
    g.generator.log_probs(h.data(), rows, batch.data());
    EXPECT_EQ(std::memcmp(batch.data(), alone.data(), sizeof(float) * batch.size()), 0)
        << "rows " << rows;
  }
  // And a row's loss does not depend on its neighbours either.
  const auto y = random_targets(max_rows, v, 0.0, 73);
  const LossStats all = g.generator.loss_only(h.data(), max_rows, y.data(), kPad, 0.0f);
  double sum = 0;
  for (int r = 0; r < max_rows; ++r)
    sum += g.generator.loss_only(h.data() + size_t(r) * hd, 1, y.data() + r, kPad, 0.0f).nll;
  EXPECT_NEAR(all.nll, sum, 1e-9 * sum);
}

// Large enough for the OpenMP paths: every bit is the same with 1 and 2 threads.
TEST(Generator, ThreadCountDoesNotChangeResults) {
  const int hd = 32, v = 2003, rows = 300;
  const auto h = random_vector(size_t(rows) * hd, 81);
  const auto y = random_targets(rows, v, 0.1, 82);
  struct Result {
    LossStats stats;
    std::vector<float> d_h, d_w, d_b, lp;
  };
  auto run = [&](int threads) {
    omp_set_num_threads(threads);
    Gen g(hd, v, 83);
    Result res;
    res.d_h.resize(size_t(rows) * hd);
    res.lp.resize(size_t(rows) * v);
    res.stats =
        g.generator.loss_and_backward(h.data(), rows, y.data(), kPad, 0.1f, 0.5f, res.d_h.data());
    res.d_w.assign(g.w().grad.data<float>(), g.w().grad.data<float>() + g.w().numel());
    res.d_b.assign(g.b().grad.data<float>(), g.b().grad.data<float>() + v);
    g.generator.log_probs(h.data(), rows, res.lp.data());
    omp_set_num_threads(1);
    return res;
  };
  const Result one = run(1), two = run(2);
  EXPECT_EQ(one.stats.nll, two.stats.nll);
  EXPECT_EQ(one.stats.smoothed_loss, two.stats.smoothed_loss);
  EXPECT_EQ(one.d_h, two.d_h);
  EXPECT_EQ(one.d_w, two.d_w);
  EXPECT_EQ(one.d_b, two.d_b);
  EXPECT_EQ(one.lp, two.lp);
}

}  // namespace
}  // namespace revnmt
