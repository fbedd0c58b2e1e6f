// Global attention and its context store:
// * forward against a naive double implementation of REVERSIBLE.md §6 (fixes the
//   conventions finite differences cannot: q·W_in, [ctx ; q] order, masking);
// * finite differences for every element of W_in, W_out, query and context values, with
//   variable lengths, a length-0 sentence and several rows per sentence;
// * batch invariance (alone vs in a batch, short vs long padding) and thread invariance;
// * masked positions: weight exactly 0, never read, zero gradient.

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "attention/context.h"
#include "attention/global_attention.h"

namespace revnmt {
namespace {

std::vector<float> random_vector(size_t n, unsigned seed, float stddev = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, stddev);
  std::vector<float> v(n);
  for (auto& x : v) x = normal(rng);
  return v;
}

// A batch of source contexts with its own storage.
struct Contexts {
  int sentences = 0, steps = 0, size = 0;
  std::vector<int32_t> lengths;
  std::vector<float> values;  // [S, T, C]

  Contexts(int c, int t, std::vector<int32_t> lens, unsigned seed)
      : sentences(int(lens.size())), steps(t), size(c), lengths(std::move(lens)) {
    values = random_vector(size_t(sentences) * t * c, seed);
  }
  AttentionContext view() const { return {sentences, steps, size, values.data(), lengths.data()}; }
  const float* at(int i, int s) const { return values.data() + (size_t(i) * steps + s) * size; }
  // The same sentences with `extra` more padded steps, filled with `pad`.
  Contexts padded(int extra, float pad) const {
    Contexts p = *this;
    p.steps = steps + extra;
    p.values.assign(size_t(sentences) * p.steps * size, pad);
    for (int i = 0; i < sentences; ++i)
      for (int s = 0; s < lengths[i]; ++s)
        std::memcpy(p.values.data() + (size_t(i) * p.steps + s) * size, at(i, s),
                    sizeof(float) * size);
    return p;
  }
  // Sentence i alone.
  Contexts single(int i) const {
    Contexts one = *this;
    one.sentences = 1;
    one.lengths = {lengths[size_t(i)]};
    one.values.assign(at(i, 0), at(i, 0) + size_t(steps) * size);
    return one;
  }
};

struct Model {
  ParameterSet params;
  GlobalAttention attention;
  Model(int h, int c, unsigned seed) : attention(params, "attn", h, c) {
    params.init_uniform(0.5f, seed);
  }
  const float* w_in() { return params.get("attn/W_in").data(); }
  const float* w_out() { return params.get("attn/W_out").data(); }
};

int sentence_of(const std::vector<int32_t>& map, int r, int sentences) {
  return map.empty() ? r % sentences : map[size_t(r)];
}

// REVERSIBLE.md §6 in double, literally.
void reference_forward(Model& m, int h, int c, const std::vector<float>& query,
                       const std::vector<int32_t>& map, const Contexts& ctx, int rows,
                       std::vector<double>& attn_h, std::vector<double>& weights) {
  const float* w_in = m.w_in();    // [H, C]
  const float* w_out = m.w_out();  // [C + H, H]
  attn_h.assign(size_t(rows) * h, 0.0);
  weights.assign(size_t(rows) * ctx.steps, 0.0);
  for (int r = 0; r < rows; ++r) {
    const int i = sentence_of(map, r, ctx.sentences);
    const int len = ctx.lengths[size_t(i)];
    std::vector<double> wq(size_t(c), 0.0);
    for (int j = 0; j < c; ++j)
      for (int k = 0; k < h; ++k)
        wq[size_t(j)] += double(query[size_t(r) * h + k]) * w_in[k * c + j];
    std::vector<double> score(static_cast<size_t>(len));
    double max = -1e300;
    for (int s = 0; s < len; ++s) {
      double d = 0;
      for (int j = 0; j < c; ++j) d += double(ctx.at(i, s)[j]) * wq[size_t(j)];
      score[size_t(s)] = d;
      max = std::max(max, d);
    }
    double z = 0;
    for (int s = 0; s < len; ++s) z += std::exp(score[size_t(s)] - max);
    std::vector<double> cvec(size_t(c), 0.0);
    for (int s = 0; s < len; ++s) {
      const double a = std::exp(score[size_t(s)] - max) / z;
      weights[size_t(r) * ctx.steps + s] = a;
      for (int j = 0; j < c; ++j) cvec[size_t(j)] += a * ctx.at(i, s)[j];
    }
    for (int k = 0; k < h; ++k) {
      double pre = 0;
      for (int j = 0; j < c; ++j) pre += cvec[size_t(j)] * w_out[j * h + k];  // context rows first
      for (int j = 0; j < h; ++j) pre += double(query[size_t(r) * h + j]) * w_out[(c + j) * h + k];
      attn_h[size_t(r) * h + k] = std::tanh(pre);
    }
  }
}

TEST(GlobalAttention, MatchesNaiveReferenceWithMasksAndRowMap) {
  const int h = 6, c = 11;
  Contexts ctx(c, 7, {7, 3, 0, 1}, 1);
  const std::vector<int32_t> map = {0, 1, 2, 3, 1, 0, 0, 3, 2};
  const int rows = int(map.size());
  Model m(h, c, 2);
  const auto query = random_vector(size_t(rows) * h, 3);
  AttentionTape tape;
  std::vector<float> attn_h(size_t(rows) * h), weights(size_t(rows) * ctx.steps, -1.0f);
  m.attention.forward(query.data(), rows, map.data(), ctx.view(), tape, attn_h.data(),
                      weights.data());
  std::vector<double> want_h, want_w;
  reference_forward(m, h, c, query, map, ctx, rows, want_h, want_w);
  for (size_t k = 0; k < attn_h.size(); ++k) EXPECT_NEAR(attn_h[k], want_h[k], 2e-6) << k;
  for (int r = 0; r < rows; ++r) {
    const int len = ctx.lengths[size_t(map[size_t(r)])];
    double sum = 0;
    for (int s = 0; s < ctx.steps; ++s) {
      const float a = weights[size_t(r) * ctx.steps + s];
      if (s >= len) {
        EXPECT_EQ(a, 0.0f) << "masked weight row " << r << " position " << s;
      } else {
        EXPECT_NEAR(a, want_w[size_t(r) * ctx.steps + s], 1e-6);
      }
      sum += a;
    }
    EXPECT_NEAR(sum, len > 0 ? 1.0 : 0.0, 1e-6) << "row " << r;
  }
}

// The loss Σ g ⊙ attn_h, its analytic gradients, and central differences.
class AttentionFiniteDifferences : public ::testing::TestWithParam<bool> {};

TEST_P(AttentionFiniteDifferences, EveryElement) {
  const bool explicit_map = GetParam();
  const int h = 4, c = 5;
  Contexts ctx(c, 6, {6, 3, 0}, 11);
  const std::vector<int32_t> map =
      explicit_map ? std::vector<int32_t>{0, 1, 0, 2, 1, 0, 0} : std::vector<int32_t>{};
  const int rows = explicit_map ? int(map.size()) : 2 * ctx.sentences;
  Model m(h, c, 12);
  auto query = random_vector(size_t(rows) * h, 13);
  const auto g = random_vector(size_t(rows) * h, 14);
  const int32_t* map_ptr = explicit_map ? map.data() : nullptr;

  AttentionTape tape;
  std::vector<float> out(size_t(rows) * h);
  auto loss = [&]() {
    m.attention.forward(query.data(), rows, map_ptr, ctx.view(), tape, out.data(), nullptr);
    double l = 0;
    for (size_t k = 0; k < out.size(); ++k) l += double(g[k]) * out[k];
    return l;
  };

  loss();
  m.params.zero_grads();
  std::vector<float> d_query(size_t(rows) * h, 99.0f);  // written, not accumulated
  std::vector<float> d_context(ctx.values.size(), 0.0f);
  m.attention.backward(query.data(), rows, map_ptr, ctx.view(), tape, g.data(), d_query.data(),
                       d_context.data());

  const float eps = 5e-3f;
  auto central = [&](float& v) {
    const float original = v;
    v = original + eps;
    const double plus = loss();
    v = original - eps;
    const double minus = loss();
    v = original;
    return (plus - minus) / (2.0 * double(eps));
  };
  auto expect_close = [](double numeric, double analytic, const std::string& what) {
    EXPECT_NEAR(numeric, analytic, 1e-3 + 1e-2 * std::fabs(numeric)) << what;
  };
  int checked = 0;
  for (const char* name : {"attn/W_in", "attn/W_out"}) {
    Parameter& p = m.params.get(name);
    for (int64_t k = 0; k < p.numel(); ++k, ++checked)
      expect_close(central(p.data()[k]), p.grad.data<float>()[k],
                   std::string(name) + "[" + std::to_string(k) + "]");
  }
  for (size_t k = 0; k < query.size(); ++k, ++checked)
    expect_close(central(query[k]), d_query[k], "query[" + std::to_string(k) + "]");
  for (int i = 0; i < ctx.sentences; ++i)
    for (int s = 0; s < ctx.steps; ++s)
      for (int j = 0; j < c; ++j, ++checked) {
        const size_t k = (size_t(i) * ctx.steps + s) * c + j;
        const double numeric = central(ctx.values[k]);
        if (s >= ctx.lengths[size_t(i)]) {
          EXPECT_EQ(numeric, 0.0) << "masked context is read";
          EXPECT_EQ(d_context[k], 0.0f) << "masked context gets a gradient";
        } else {
          expect_close(numeric, d_context[k], "context[" + std::to_string(k) + "]");
        }
      }
  EXPECT_EQ(checked, h * c + (c + h) * h + rows * h + ctx.sentences * ctx.steps * c);
  // The gradient is not trivially zero.
  double norm = 0;
  for (float v : d_context) norm += double(v) * v;
  EXPECT_GT(norm, 1e-4);
}

INSTANTIATE_TEST_SUITE_P(RowMaps, AttentionFiniteDifferences, ::testing::Bool(),
                         [](const auto& test) { return test.param ? "Explicit" : "Modulo"; });

TEST(GlobalAttention, DContextIsAccumulated) {
  const int h = 3, c = 4;
  Contexts ctx(c, 3, {3, 2}, 21);
  Model m(h, c, 22);
  const auto query = random_vector(size_t(4) * h, 23);
  const auto g = random_vector(size_t(4) * h, 24);
  AttentionTape tape;
  std::vector<float> out(size_t(4) * h), d_query(size_t(4) * h);
  m.attention.forward(query.data(), 4, nullptr, ctx.view(), tape, out.data(), nullptr);
  std::vector<float> once(ctx.values.size(), 0.0f), twice(ctx.values.size(), 0.0f);
  m.attention.backward(query.data(), 4, nullptr, ctx.view(), tape, g.data(), d_query.data(),
                       once.data());
  m.attention.backward(query.data(), 4, nullptr, ctx.view(), tape, g.data(), d_query.data(),
                       twice.data());
  m.attention.backward(query.data(), 4, nullptr, ctx.view(), tape, g.data(), d_query.data(),
                       twice.data());
  for (size_t k = 0; k < once.size(); ++k) EXPECT_FLOAT_EQ(twice[k], 2 * once[k]);
}

TEST(GlobalAttention, EmptySentenceGivesZeroContextAndNoNaN) {
  const int h = 5, c = 3;
  Contexts ctx(c, 4, {0, 0}, 31);
  Model m(h, c, 32);
  const int rows = 4;
  const auto query = random_vector(size_t(rows) * h, 33);
  AttentionTape tape;
  std::vector<float> out(size_t(rows) * h), weights(size_t(rows) * ctx.steps, -1.0f);
  m.attention.forward(query.data(), rows, nullptr, ctx.view(), tape, out.data(), weights.data());
  for (float a : weights) EXPECT_EQ(a, 0.0f);
  // ctx = 0: attn_h = tanh(q · W_out[C:, :]).
  const float* w_out = m.w_out();
  for (int r = 0; r < rows; ++r)
    for (int k = 0; k < h; ++k) {
      double pre = 0;
      for (int j = 0; j < h; ++j) pre += double(query[size_t(r) * h + j]) * w_out[(c + j) * h + k];
      ASSERT_TRUE(std::isfinite(out[size_t(r) * h + k]));
      EXPECT_NEAR(out[size_t(r) * h + k], std::tanh(pre), 2e-6);
    }
  m.params.zero_grads();
  const auto g = random_vector(size_t(rows) * h, 34);
  std::vector<float> d_query(size_t(rows) * h), d_context(ctx.values.size(), 0.0f);
  m.attention.backward(query.data(), rows, nullptr, ctx.view(), tape, g.data(), d_query.data(),
                       d_context.data());
  for (float v : d_query) EXPECT_TRUE(std::isfinite(v));
  for (float v : d_context) EXPECT_EQ(v, 0.0f);
  const Parameter& w_in = m.params.get("attn/W_in");
  for (int64_t k = 0; k < w_in.numel(); ++k) EXPECT_EQ(w_in.grad.data<float>()[k], 0.0f);
}

// Batch invariance: a row's output is the same bits alone, in any batch, and with any
// padded length, even when the padding holds NaN (it is never read).
TEST(GlobalAttention, RowsAreBatchAndPaddingInvariant) {
  const int h = 16, c = 27;  // c not a multiple of the dot product's lane count
  Contexts ctx(c, 9, {9, 4, 1, 7, 0}, 41);
  Model m(h, c, 42);
  const int rows = 23;
  std::vector<int32_t> map(rows);
  std::mt19937 rng(43);
  for (auto& i : map) i = int32_t(rng() % uint32_t(ctx.sentences));
  const auto query = random_vector(size_t(rows) * h, 44);

  AttentionTape tape;
  std::vector<float> batch_h(size_t(rows) * h), batch_w(size_t(rows) * ctx.steps);
  m.attention.forward(query.data(), rows, map.data(), ctx.view(), tape, batch_h.data(),
                      batch_w.data());

  for (int r = 0; r < rows; ++r) {
    const Contexts one = ctx.single(map[size_t(r)]);
    AttentionTape t1;
    std::vector<float> h1(static_cast<size_t>(h)), w1(static_cast<size_t>(ctx.steps));
    m.attention.forward(query.data() + size_t(r) * h, 1, nullptr, one.view(), t1, h1.data(),
                        w1.data());
    EXPECT_EQ(std::memcmp(h1.data(), batch_h.data() + size_t(r) * h, sizeof(float) * h), 0)
        << "row " << r << " alone";
    EXPECT_EQ(
        std::memcmp(w1.data(), batch_w.data() + size_t(r) * ctx.steps, sizeof(float) * ctx.steps),
        0)
        << "row " << r << " alone";
  }

  const Contexts longer = ctx.padded(13, std::numeric_limits<float>::quiet_NaN());
  std::vector<float> long_h(size_t(rows) * h), long_w(size_t(rows) * longer.steps);
  m.attention.forward(query.data(), rows, map.data(), longer.view(), tape, long_h.data(),
                      long_w.data());
  EXPECT_EQ(std::memcmp(long_h.data(), batch_h.data(), sizeof(float) * batch_h.size()), 0);
  for (int r = 0; r < rows; ++r)
    for (int s = 0; s < longer.steps; ++s) {
      const float want = s < ctx.steps ? batch_w[size_t(r) * ctx.steps + s] : 0.0f;
      EXPECT_EQ(long_w[size_t(r) * longer.steps + s], want);
    }

  // Backward is padding-invariant too, and leaves the padded positions alone.
  const auto g = random_vector(size_t(rows) * h, 45);
  std::vector<float> dq_short(size_t(rows) * h), dq_long(size_t(rows) * h);
  std::vector<float> dc_short(ctx.values.size(), 0.0f), dc_long(longer.values.size(), 0.0f);
  AttentionTape short_tape;
  m.attention.forward(query.data(), rows, map.data(), ctx.view(), short_tape, batch_h.data(),
                      nullptr);
  m.attention.backward(query.data(), rows, map.data(), ctx.view(), short_tape, g.data(),
                       dq_short.data(), dc_short.data());
  m.attention.backward(query.data(), rows, map.data(), longer.view(), tape, g.data(),
                       dq_long.data(), dc_long.data());
  EXPECT_EQ(std::memcmp(dq_short.data(), dq_long.data(), sizeof(float) * dq_short.size()), 0);
  for (int i = 0; i < ctx.sentences; ++i)
    for (int s = 0; s < longer.steps; ++s)
      for (int j = 0; j < c; ++j) {
        const float got = dc_long[(size_t(i) * longer.steps + s) * c + j];
        if (s < ctx.lengths[size_t(i)])
          EXPECT_EQ(got, dc_short[(size_t(i) * ctx.steps + s) * c + j]);
        else
          EXPECT_EQ(got, 0.0f);
      }
}

// Everything one forward + backward of a fresh Model(h, c, seed) produces.
struct AttentionRun {
  std::vector<float> out, dq, dc, dw_in, dw_out;
};

// query, g: [rows, h]. W_in is scaled by w_in_scale after initialization.
AttentionRun forward_backward(int h, int c, unsigned seed, const Contexts& ctx,
                              const std::vector<float>& query, const std::vector<float>& g,
                              int threads, Precision precision, float w_in_scale = 1.0f) {
  const int rows = int(query.size()) / h;
  omp_set_num_threads(threads);
  Model m(h, c, seed);
  Parameter& wi = m.params.get("attn/W_in");
  for (int64_t k = 0; k < wi.numel(); ++k) wi.data()[k] *= w_in_scale;
  m.attention.set_precision(precision);
  AttentionTape tape;
  AttentionRun res;
  res.out.resize(size_t(rows) * h);
  res.dq.resize(size_t(rows) * h);
  res.dc.assign(ctx.values.size(), 0.0f);
  m.attention.forward(query.data(), rows, nullptr, ctx.view(), tape, res.out.data(), nullptr);
  m.attention.backward(query.data(), rows, nullptr, ctx.view(), tape, g.data(), res.dq.data(),
                       res.dc.data());
  const Parameter& wo = m.params.get("attn/W_out");
  res.dw_in.assign(wi.grad.data<float>(), wi.grad.data<float>() + wi.numel());
  res.dw_out.assign(wo.grad.data<float>(), wo.grad.data<float>() + wo.numel());
  omp_set_num_threads(1);
  return res;
}

void expect_identical(const AttentionRun& a, const AttentionRun& b) {
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(a.dq, b.dq);
  EXPECT_EQ(a.dc, b.dc);
  EXPECT_EQ(a.dw_in, b.dw_in);
  EXPECT_EQ(a.dw_out, b.dw_out);
}

// Large enough for the OpenMP paths: results do not depend on the thread count.
TEST(GlobalAttention, ThreadCountDoesNotChangeResults) {
  const int h = 32, c = 40, rows = 64;
  std::vector<int32_t> lengths(16);
  for (int i = 0; i < 16; ++i) lengths[size_t(i)] = (i * 7) % 31;
  const Contexts ctx(c, 30, lengths, 51);
  const auto query = random_vector(size_t(rows) * h, 52);
  const auto g = random_vector(size_t(rows) * h, 53);
  expect_identical(forward_backward(h, c, 54, ctx, query, g, 1, Precision::fp32),
                   forward_backward(h, c, 54, ctx, query, g, 2, Precision::fp32));
}

// bf16 weight products (train.precision: bf16): the same computation to bf16's 8 bits of
// mantissa, and still independent of the thread count.
TEST(GlobalAttention, Bf16ProductsStayCloseToFp32) {
  const int h = 32, c = 40, rows = 64;
  std::vector<int32_t> lengths(16);
  for (int i = 0; i < 16; ++i) lengths[size_t(i)] = 1 + (i * 7) % 30;
  const Contexts ctx(c, 30, lengths, 71);
  const auto query = random_vector(size_t(rows) * h, 72);
  const auto g = random_vector(size_t(rows) * h, 73);
  // Scores of about unit size: with the default ±0.5 weights they are ~10 and the softmax
  // is nearly one-hot, so any rounding flips which position wins.
  const float w_in_scale = 0.1f;
  const AttentionRun fp32 =
      forward_backward(h, c, 74, ctx, query, g, 1, Precision::fp32, w_in_scale);
  const AttentionRun bf16 =
      forward_backward(h, c, 74, ctx, query, g, 1, Precision::bf16, w_in_scale);
  auto close = [](const std::vector<float>& a, const std::vector<float>& b, const char* what) {
    ASSERT_EQ(a.size(), b.size()) << what;
    double scale = 0, worst = 0;
    for (float v : b) scale = std::max(scale, double(std::fabs(v)));
    for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, double(std::fabs(a[i] - b[i])));
    EXPECT_GT(worst, 0.0) << what << ": bf16 changed nothing";
    EXPECT_LT(worst, 2e-2 * scale) << what;  // measured 0.5-1.4%
  };
  close(bf16.out, fp32.out, "attn_h");
  close(bf16.dq, fp32.dq, "d_query");
  close(bf16.dc, fp32.dc, "d_context");
  close(bf16.dw_in, fp32.dw_in, "dW_in");
  close(bf16.dw_out, fp32.dw_out, "dW_out");
  expect_identical(bf16, forward_backward(h, c, 74, ctx, query, g, 2, Precision::bf16, w_in_scale));
}

TEST(GlobalAttention, TapeIsReusedWithoutReallocation) {
  const int h = 8, c = 6;
  Contexts ctx(c, 10, {10, 5, 8}, 61);
  Model m(h, c, 62);
  const auto query = random_vector(size_t(12) * h, 63);
  AttentionTape tape;
  std::vector<float> out(size_t(12) * h);
  m.attention.forward(query.data(), 12, nullptr, ctx.view(), tape, out.data(), nullptr);
  const void* pointers[] = {tape.wq.raw(), tape.weights.raw(), tape.concat.raw(),
                            tape.attn_h.raw()};
  for (int rows : {3, 12, 7}) {
    m.attention.forward(query.data(), rows, nullptr, ctx.view(), tape, out.data(), nullptr);
    EXPECT_EQ(tape.rows, rows);
    const void* now[] = {tape.wq.raw(), tape.weights.raw(), tape.concat.raw(), tape.attn_h.raw()};
    for (int k = 0; k < 4; ++k) EXPECT_EQ(now[k], pointers[k]);
  }
}

TEST(GlobalAttention, RejectsInconsistentInputs) {
  Contexts ctx(4, 3, {3, 4}, 71);  // length 4 > steps 3
  Model m(2, 4, 72);
  const auto query = random_vector(4, 73);
  AttentionTape tape;
  std::vector<float> out(4);
  EXPECT_THROW(m.attention.forward(query.data(), 2, nullptr, ctx.view(), tape, out.data(), nullptr),
               InternalError);
  ctx.lengths = {3, 1};
  const std::vector<int32_t> bad_map = {0, 2};
  EXPECT_THROW(
      m.attention.forward(query.data(), 2, bad_map.data(), ctx.view(), tape, out.data(), nullptr),
      InternalError);
  Contexts wrong_size(5, 3, {3, 1}, 74);
  EXPECT_THROW(
      m.attention.forward(query.data(), 2, nullptr, wrong_size.view(), tape, out.data(), nullptr),
      InternalError);
}

// --- ContextStore ---

TEST(ContextStore, AssemblesEmbeddingThenSliceAndMasksPadding) {
  const int s = 2, t = 4, e = 3, sd = 2, ld_emb = 5, ld_slice = 7;
  const std::vector<int32_t> lengths = {4, 2};
  const auto emb = random_vector(size_t(t) * s * ld_emb, 81);      // time-major
  const auto slice = random_vector(size_t(t) * s * ld_slice, 82);  // time-major
  ContextStore store;
  store.reset({e, sd}, s, t, lengths.data());
  store.set_embeddings(emb.data(), ld_emb);
  store.set_slices(slice.data(), ld_slice);
  const AttentionContext view = store.view();
  ASSERT_EQ(view.size, e + sd);
  ASSERT_EQ(view.sentences, s);
  ASSERT_EQ(view.steps, t);
  for (int b = 0; b < s; ++b) {
    EXPECT_EQ(view.lengths[b], lengths[size_t(b)]);
    for (int p = 0; p < t; ++p) {
      const float* v = view.values + (size_t(b) * t + p) * (e + sd);
      for (int j = 0; j < e + sd; ++j) {
        float want = 0.0f;
        if (p < lengths[size_t(b)])
          want = j < e ? emb[(size_t(p) * s + b) * ld_emb + j]
                       : slice[(size_t(p) * s + b) * ld_slice + (j - e)];
        EXPECT_EQ(v[j], want) << "sentence " << b << " position " << p << " column " << j;
      }
    }
  }
}

TEST(ContextStore, HandsGradientsBackTimeMajorPerChunk) {
  const int s = 3, t = 5, e = 2, sd = 3, ld = 6;
  const std::vector<int32_t> lengths = {5, 1, 3};
  ContextStore store;
  store.reset({e, sd}, s, t, lengths.data());
  float* grad = store.gradient();  // [S, T, C]
  for (int b = 0; b < s; ++b)
    for (int p = 0; p < t; ++p)
      for (int j = 0; j < e + sd; ++j)
        grad[(size_t(b) * t + p) * (e + sd) + j] = float(1000 * b + 10 * p + j);
  const int t0 = 1, t1 = 4;
  std::vector<float> d_emb(size_t(t1 - t0) * s * ld, 0.5f), d_slice(size_t(t1 - t0) * s * ld, 0.5f);
  store.add_embedding_gradient(t0, t1, d_emb.data(), ld);
  store.add_slice_gradient(t0, t1, d_slice.data(), ld);
  for (int p = t0; p < t1; ++p)
    for (int b = 0; b < s; ++b) {
      const size_t row = (size_t(p - t0) * s + b) * ld;
      const bool active = p < lengths[size_t(b)];
      for (int j = 0; j < ld; ++j) {
        const float e_want = j < e && active ? 0.5f + float(1000 * b + 10 * p + j) : 0.5f;
        const float s_want = j < sd && active ? 0.5f + float(1000 * b + 10 * p + e + j) : 0.5f;
        EXPECT_EQ(d_emb[row + j], e_want) << p << " " << b << " " << j;
        EXPECT_EQ(d_slice[row + j], s_want) << p << " " << b << " " << j;
      }
    }
  store.zero_gradient();
  for (int k = 0; k < s * t * (e + sd); ++k) EXPECT_EQ(store.gradient()[k], 0.0f);
}

// The store feeds attention: a slice-only layout gives the same result as the raw values.
TEST(ContextStore, ViewDrivesAttention) {
  const int h = 4, sd = 3, s = 2, t = 3;
  const std::vector<int32_t> lengths = {3, 2};
  const auto slices = random_vector(size_t(t) * s * h, 91);  // [T, S, H] top outputs
  ContextStore store;
  store.reset({0, sd}, s, t, lengths.data());
  store.set_slices(slices.data(), h);
  Contexts raw(sd, t, lengths, 92);
  for (int b = 0; b < s; ++b)
    for (int p = 0; p < t; ++p)
      for (int j = 0; j < sd; ++j)
        raw.values[(size_t(b) * t + p) * sd + j] =
            p < lengths[size_t(b)] ? slices[(size_t(p) * s + b) * h + j] : 0.0f;
  Model m(h, sd, 93);
  const auto query = random_vector(size_t(2 * s) * h, 94);
  AttentionTape tape;
  std::vector<float> a(size_t(2 * s) * h), b(size_t(2 * s) * h);
  m.attention.forward(query.data(), 2 * s, nullptr, store.view(), tape, a.data(), nullptr);
  m.attention.forward(query.data(), 2 * s, nullptr, raw.view(), tape, b.data(), nullptr);
  EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace revnmt
