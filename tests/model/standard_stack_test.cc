// The standard GRU/LSTM stacks: hand-computed steps, finite-difference gradients of every
// parameter, input and initial state (masks, dropout, final-state gradient), gradients
// independent of the chunk size, inference against training, batch invariance, ledger.

#include "nmt/model/standard_stack.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "tests/reversible/stack_fixtures.h"
#include "tests/support/test_support.h"

namespace revnmt {
namespace {

using testing::LinearLoss;
using testing::random_lengths;
using testing::RandomInput;

const char* cell_name(StandardCell cell) { return cell == StandardCell::gru ? "gru" : "lstm"; }

int width_of(const StandardStackConfig& c) {
  return c.cell == StandardCell::lstm ? 2 * c.hidden_size : c.hidden_size;
}

Tensor random_tensor(Shape shape, unsigned seed, float scale) {
  Tensor t(shape, DType::f32);
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = normal(rng);
  return t;
}

// A stack with random parameters, inputs, initial state, final-state gradient and loss.
struct StackRun {
  StandardStackConfig config;
  int steps = 0, rows = 0;
  std::vector<int32_t> lengths;
  DropoutKey dropout{7, 3, true};
  ParameterSet params;
  std::unique_ptr<StandardStack> stack;
  std::unique_ptr<RandomInput> input;
  std::unique_ptr<LinearLoss> loss;
  Tensor init, d_final, d_init;

  StackRun(const StandardStackConfig& c, int t, int b, std::vector<int32_t> lens, unsigned seed)
      : config(c), steps(t), rows(b), lengths(std::move(lens)) {
    stack = std::make_unique<StandardStack>(params, "stack", config);
    params.init_uniform(0.5f, seed);
    input = std::make_unique<RandomInput>(steps, rows, config.input_size, seed + 1);
    loss = std::make_unique<LinearLoss>(steps, rows, config.hidden_size, seed + 2);
    init = random_tensor({config.layers, rows, width_of(config)}, seed + 3, 0.5f);
    d_final = random_tensor({config.layers, rows, width_of(config)}, seed + 4, 1.0f);
  }
  SequenceShape shape() const { return {steps, rows, lengths.data()}; }
  void backprop() {
    stack->forward(shape(), *input, &init, dropout);
    stack->backward(*input, *loss, &d_final, &d_init);
  }
  // loss = Σ w·top + Σ d_final·(final state).
  double loss_value() {
    stack->forward(shape(), *input, &init, dropout);
    std::vector<float> top(size_t(steps) * rows * config.hidden_size);
    stack->kept_outputs(config.hidden_size, top.data());
    double value = loss->value(top.data());
    const Tensor& final_state = stack->final_state();
    for (int64_t i = 0; i < final_state.numel(); ++i)
      value += double(d_final.data<float>()[i]) * final_state.data<float>()[i];
    return value;
  }
};

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// --- a single step against hand arithmetic (1 input, 1 unit: the column order matters) ---

TEST(StandardStack, GruStepMatchesHandComputation) {
  ParameterSet params;
  StandardStack stack(params, "s", {StandardCell::gru, 1, 1, 1, 0.0f, 0, 16});
  const float wx[3] = {0.3f, -0.7f, 1.1f}, bx[3] = {0.1f, 0.2f, -0.3f};
  const float wh[3] = {-0.5f, 0.4f, 0.9f}, bh[3] = {0.05f, -0.15f, 0.25f};
  std::memcpy(params.get("s/layer0/Wx").data(), wx, sizeof wx);
  std::memcpy(params.get("s/layer0/bx").data(), bx, sizeof bx);
  std::memcpy(params.get("s/layer0/Wh").data(), wh, sizeof wh);
  std::memcpy(params.get("s/layer0/bh").data(), bh, sizeof bh);
  const double x = 0.7, h = -0.4;
  const double r = sigmoid(x * wx[0] + bx[0] + h * wh[0] + bh[0]);
  const double z = sigmoid(x * wx[1] + bx[1] + h * wh[1] + bh[1]);
  const double hn = h * wh[2] + bh[2];
  const double n = std::tanh(x * wx[2] + bx[2] + r * hn);
  const double expected = (1 - z) * n + z * h;

  Tensor state({1, 1, 1}, DType::f32);
  state.data<float>()[0] = float(h);
  const float xf = float(x);
  float top = 0;
  stack.infer_step(&xf, 1, state, &top);
  EXPECT_NEAR(state.data<float>()[0], expected, 1e-6);
  EXPECT_EQ(top, state.data<float>()[0]);

  // Training forward: the same step, and the stored gates are r, z, n, h·W_hn + b_hn.
  RandomInput input(1, 1, 1, 0);
  input.x()[0] = xf;
  Tensor init({1, 1, 1}, DType::f32);
  init.data<float>()[0] = float(h);
  const int32_t length = 1;
  stack.forward({1, 1, &length}, input, &init, DropoutKey{});
  EXPECT_NEAR(stack.final_state().data<float>()[0], expected, 1e-6);
  const float* gates = stack.stored_gates(0).data<float>();
  EXPECT_NEAR(gates[0], r, 1e-6);
  EXPECT_NEAR(gates[1], z, 1e-6);
  EXPECT_NEAR(gates[2], n, 1e-6);
  EXPECT_NEAR(gates[3], hn, 1e-6);
}

TEST(StandardStack, LstmStepMatchesHandComputation) {
  ParameterSet params;
  StandardStack stack(params, "s", {StandardCell::lstm, 1, 1, 1, 0.0f, 0, 16});
  EXPECT_EQ(params.find("s/layer0/bh"), nullptr);  // one bias
  const float wx[4] = {0.3f, -0.7f, 1.1f, 0.6f}, bx[4] = {0.1f, 0.2f, -0.3f, 0.4f};
  const float wh[4] = {-0.5f, 0.4f, 0.9f, -1.2f};
  std::memcpy(params.get("s/layer0/Wx").data(), wx, sizeof wx);
  std::memcpy(params.get("s/layer0/bx").data(), bx, sizeof bx);
  std::memcpy(params.get("s/layer0/Wh").data(), wh, sizeof wh);
  const double x = 0.7, h = -0.4, c = 0.9;
  const double i = sigmoid(x * wx[0] + bx[0] + h * wh[0]);
  const double f = sigmoid(x * wx[1] + bx[1] + h * wh[1]);
  const double g = std::tanh(x * wx[2] + bx[2] + h * wh[2]);
  const double o = sigmoid(x * wx[3] + bx[3] + h * wh[3]);
  const double c_new = f * c + i * g;
  const double h_new = o * std::tanh(c_new);

  Tensor state({1, 1, 2}, DType::f32);
  state.data<float>()[0] = float(h);
  state.data<float>()[1] = float(c);
  const float xf = float(x);
  float top = 0;
  stack.infer_step(&xf, 1, state, &top);
  EXPECT_NEAR(state.data<float>()[0], h_new, 1e-6);
  EXPECT_NEAR(state.data<float>()[1], c_new, 1e-6);
  EXPECT_EQ(top, state.data<float>()[0]);
}

// --- gradients ---

void expect_close(double numeric, double analytic, const std::string& what) {
  const double tolerance = 5e-3 + 2e-2 * std::max(std::fabs(numeric), std::fabs(analytic));
  EXPECT_NEAR(numeric, analytic, tolerance) << what;
}

class StandardFiniteDifferences : public ::testing::TestWithParam<std::tuple<StandardCell, int>> {};

TEST_P(StandardFiniteDifferences, EveryParameterInputAndInitialState) {
  const auto [cell, layers] = GetParam();
  StandardStackConfig config{cell, layers, 3, 4, 0.3f, 16, 2};  // chunks of 2 steps
  StackRun r(config, 5, 3, {5, 2, 4}, 11);
  r.backprop();

  const float eps = 1e-2f;
  auto central = [&](const std::function<void(float)>& nudge) {
    nudge(eps);
    const double plus = r.loss_value();
    nudge(-2 * eps);
    const double minus = r.loss_value();
    nudge(eps);
    return (plus - minus) / (2.0 * eps);
  };
  int nonzero = 0;
  for (size_t p = 0; p < r.params.size(); ++p) {
    Parameter& param = r.params[p];
    for (int64_t i = 0; i < param.numel(); ++i) {
      float& v = param.data()[i];
      const float analytic = param.grad.data<float>()[i];
      expect_close(central([&](float d) { v += d; }), analytic,
                   param.name + "[" + std::to_string(i) + "]");
      nonzero += std::fabs(analytic) > 1e-3f;
    }
  }
  for (size_t i = 0; i < r.input->x().size(); ++i) {
    float& v = r.input->x()[i];
    expect_close(central([&](float d) { v += d; }), r.input->dx()[i], "input " + std::to_string(i));
  }
  ASSERT_EQ(r.d_init.shape(), r.init.shape());
  for (int64_t i = 0; i < r.init.numel(); ++i) {
    float& v = r.init.data<float>()[i];
    expect_close(central([&](float d) { v += d; }), r.d_init.data<float>()[i],
                 "initial state " + std::to_string(i));
  }
  EXPECT_GT(nonzero, int(r.params.numel()) / 2);  // the check is not vacuous
}

INSTANTIATE_TEST_SUITE_P(Standard, StandardFiniteDifferences,
                         ::testing::Combine(::testing::Values(StandardCell::gru,
                                                              StandardCell::lstm),
                                            ::testing::Values(1, 2)),
                         [](const auto& test) {
                           return std::string(cell_name(std::get<0>(test.param))) +
                                  std::to_string(std::get<1>(test.param));
                         });

double max_relative_error(const float* a, const float* b, int64_t n) {
  double scale = 0, worst = 0;
  for (int64_t i = 0; i < n; ++i) scale = std::max(scale, double(std::fabs(b[i])));
  for (int64_t i = 0; i < n; ++i)
    worst = std::max(worst, std::fabs(double(a[i]) - b[i]) / std::max(1e-30, scale));
  return worst;
}

class StandardChunkSize : public ::testing::TestWithParam<StandardCell> {};

TEST_P(StandardChunkSize, GradientsDoNotDependOnIt) {
  const int steps = 11, rows = 4;
  const auto lengths = random_lengths(rows, steps, 5);
  std::vector<std::unique_ptr<StackRun>> runs;
  for (int chunk : {1, 5, steps}) {
    StandardStackConfig config{GetParam(), 2, 5, 6, 0.25f, 16, chunk};
    runs.push_back(std::make_unique<StackRun>(config, steps, rows, lengths, 3));
    runs.back()->backprop();
  }
  const StackRun& ref = *runs[0];
  for (size_t k = 1; k < runs.size(); ++k) {
    const StackRun& other = *runs[k];
    for (size_t p = 0; p < ref.params.size(); ++p)
      EXPECT_LE(max_relative_error(other.params[p].grad.data<float>(),
                                   ref.params[p].grad.data<float>(), ref.params[p].numel()),
                1e-5)
          << ref.params[p].name << " chunk " << other.config.chunk_steps;
    EXPECT_LE(max_relative_error(other.input->dx().data(), ref.input->dx().data(),
                                 int64_t(ref.input->dx().size())),
              1e-5);
    EXPECT_LE(max_relative_error(other.d_init.data<float>(), ref.d_init.data<float>(),
                                 ref.d_init.numel()),
              1e-5);
    // The forward does not depend on the chunk size at all (row-invariant projections).
    EXPECT_EQ(0, std::memcmp(other.stack->final_state().raw(), ref.stack->final_state().raw(),
                             ref.stack->final_state().nbytes()));
  }
}

TEST_P(StandardChunkSize, ConsumerSeesTheForwardOutputsAndMaskedStepsGetNoGradient) {
  const int steps = 9, rows = 5;
  StandardStackConfig config{GetParam(), 2, 3, 7, 0.2f, 16, 4};
  StackRun r(config, steps, rows, {9, 1, 4, 9, 6}, 8);
  r.stack->forward(r.shape(), *r.input, &r.init, r.dropout);
  std::vector<float> top(size_t(steps) * rows * config.hidden_size);
  r.stack->kept_outputs(config.hidden_size, top.data());
  // A slice of the outputs is the leading units of the full outputs.
  std::vector<float> slice(size_t(steps) * rows * 2);
  r.stack->kept_outputs(2, slice.data());
  for (int64_t j = 0; j < steps * rows; ++j)
    for (int u = 0; u < 2; ++u) ASSERT_EQ(slice[j * 2 + u], top[j * config.hidden_size + u]);
  r.stack->backward(*r.input, *r.loss, &r.d_final, &r.d_init);
  ASSERT_EQ(r.loss->seen().size(), top.size());
  EXPECT_EQ(0, std::memcmp(r.loss->seen().data(), top.data(), sizeof(float) * top.size()));
  // Inputs of masked steps do not reach anything.
  for (int t = 0; t < steps; ++t)
    for (int b = 0; b < rows; ++b)
      for (int j = 0; j < config.input_size; ++j) {
        const float d = r.input->dx()[(size_t(t) * rows + b) * config.input_size + j];
        if (t >= r.lengths[b]) {
          EXPECT_EQ(d, 0.0f) << "t " << t << " row " << b;
        } else if (t == 0) {
          EXPECT_NE(d, 0.0f);
        }
      }
}

TEST_P(StandardChunkSize, NullFinalGradientMeansZero) {
  StandardStackConfig config{GetParam(), 2, 3, 5, 0.2f, 16, 3};
  StackRun with_zero(config, 7, 3, {7, 3, 5}, 2), with_null(config, 7, 3, {7, 3, 5}, 2);
  with_zero.d_final.zero();
  with_zero.backprop();
  with_null.stack->forward(with_null.shape(), *with_null.input, &with_null.init, with_null.dropout);
  with_null.stack->backward(*with_null.input, *with_null.loss, nullptr, nullptr);
  for (size_t p = 0; p < with_zero.params.size(); ++p)
    EXPECT_EQ(0, std::memcmp(with_zero.params[p].grad.raw(), with_null.params[p].grad.raw(),
                             with_zero.params[p].grad.nbytes()))
        << with_zero.params[p].name;
  EXPECT_EQ(with_zero.input->dx(), with_null.input->dx());
}

INSTANTIATE_TEST_SUITE_P(Standard, StandardChunkSize,
                         ::testing::Values(StandardCell::gru, StandardCell::lstm),
                         [](const auto& test) { return std::string(cell_name(test.param)); });

// --- inference ---

class StandardInference : public ::testing::TestWithParam<StandardCell> {};

TEST_P(StandardInference, MatchesTrainingForwardBitForBit) {
  const int steps = 13, rows = 6;
  // Dropout is configured but the key disables it: training then computes inference's model.
  StandardStackConfig config{GetParam(), 2, 5, 9, 0.4f, 16, 4};
  StackRun r(config, steps, rows, random_lengths(rows, steps, 2), 21);
  r.lengths[1] = steps;
  r.dropout.enabled = false;
  r.stack->forward(r.shape(), *r.input, &r.init, r.dropout);
  const int h = config.hidden_size, w = width_of(config);
  std::vector<float> trained(size_t(steps) * rows * h);
  r.stack->kept_outputs(h, trained.data());

  Tensor state = r.init;
  std::vector<float> top(trained.size(), NAN);
  r.stack->infer(r.shape(), *r.input, state, top.data());
  EXPECT_EQ(0, std::memcmp(top.data(), trained.data(), sizeof(float) * top.size()));
  EXPECT_EQ(0, std::memcmp(state.raw(), r.stack->final_state().raw(), state.nbytes()));

  // Masked rows keep their state: outputs repeat and every layer's stored state is constant.
  for (int l = 0; l < config.layers; ++l) {
    const float* states = r.stack->stored_states(l).data<float>();
    for (int b = 0; b < rows; ++b)
      for (int t = r.lengths[b]; t < steps; ++t)
        for (int u = 0; u < w; ++u)
          ASSERT_EQ(states[(size_t(t + 1) * rows + b) * w + u],
                    states[(size_t(t) * rows + b) * w + u])
              << "layer " << l << " row " << b << " step " << t;
  }

  // infer_step one step at a time over full-length rows 0 and 1 (all its rows are active).
  const int sub = 2;
  Tensor stepped({config.layers, sub, w}, DType::f32);
  for (int l = 0; l < config.layers; ++l)
    std::memcpy(stepped.data<float>() + l * sub * w, r.init.data<float>() + l * rows * w,
                sizeof(float) * sub * w);
  std::vector<float> x(size_t(sub) * config.input_size), out(size_t(sub) * h);
  for (int t = 0; t < steps; ++t) {
    std::memcpy(x.data(), r.input->x().data() + size_t(t) * rows * config.input_size,
                sizeof(float) * x.size());
    r.stack->infer_step(x.data(), sub, stepped, out.data());
    EXPECT_EQ(0, std::memcmp(out.data(), trained.data() + size_t(t) * rows * h,
                             sizeof(float) * out.size()))
        << "step " << t;
  }
  for (int l = 0; l < config.layers; ++l)
    EXPECT_EQ(0, std::memcmp(stepped.data<float>() + l * sub * w,
                             r.stack->final_state().data<float>() + l * rows * w,
                             sizeof(float) * sub * w));
}

// A sentence's results are bit-identical alone and inside a batch of other random rows.
TEST_P(StandardInference, IsBatchInvariant) {
  const int steps = 10, rows = 9, input_size = 13;
  StandardStackConfig config{GetParam(), 2, input_size, 37, 0.0f, 16, 3};  // odd H: simd tails
  ParameterSet params;
  StandardStack stack(params, "s", config);
  params.init_uniform(0.3f, 5);
  const int h = config.hidden_size, w = width_of(config), layers = config.layers;
  RandomInput batch_input(steps, rows, input_size, 6);
  std::vector<int32_t> lengths = random_lengths(rows, steps, 7);
  const int row = 4;
  lengths[row] = 7;
  const Tensor batch_init = random_tensor({layers, rows, w}, 8, 0.5f);

  Tensor batch_state = batch_init;
  std::vector<float> batch_top(size_t(steps) * rows * h);
  stack.infer({steps, rows, lengths.data()}, batch_input, batch_state, batch_top.data());

  // The same sentence alone, only its own steps.
  const int len = lengths[row];
  RandomInput alone_input(len, 1, input_size, 0);
  for (int t = 0; t < len; ++t)
    std::memcpy(alone_input.x().data() + size_t(t) * input_size,
                batch_input.x().data() + (size_t(t) * rows + row) * input_size,
                sizeof(float) * input_size);
  Tensor alone_state({layers, 1, w}, DType::f32);
  for (int l = 0; l < layers; ++l)
    std::memcpy(alone_state.data<float>() + l * w, batch_init.data<float>() + (l * rows + row) * w,
                sizeof(float) * w);
  Tensor stepped_state = alone_state;
  std::vector<float> alone_top(size_t(len) * h);
  stack.infer({len, 1, &len}, alone_input, alone_state, alone_top.data());
  for (int t = 0; t < len; ++t)
    EXPECT_EQ(0, std::memcmp(alone_top.data() + size_t(t) * h,
                             batch_top.data() + (size_t(t) * rows + row) * h, sizeof(float) * h))
        << "step " << t;
  for (int l = 0; l < layers; ++l)
    EXPECT_EQ(0, std::memcmp(alone_state.data<float>() + l * w,
                             batch_state.data<float>() + (l * rows + row) * w, sizeof(float) * w))
        << "layer " << l;

  // infer_step: the row alone and inside the whole batch (all rows active).
  Tensor all_state = batch_init;
  std::vector<float> out_all(size_t(rows) * h), out_one(h);
  for (int t = 0; t < len; ++t) {
    stack.infer_step(batch_input.x().data() + size_t(t) * rows * input_size, rows, all_state,
                     out_all.data());
    stack.infer_step(alone_input.x().data() + size_t(t) * input_size, 1, stepped_state,
                     out_one.data());
    EXPECT_EQ(0, std::memcmp(out_one.data(), out_all.data() + size_t(row) * h, sizeof(float) * h))
        << "step " << t;
    EXPECT_EQ(0, std::memcmp(out_one.data(), alone_top.data() + size_t(t) * h, sizeof(float) * h))
        << "step " << t;
  }
}

// With two threads the 64 rows run as two blocks, each through whole chunks of steps on
// its own thread (nmt/core/parallel.h); rows do not interact, so one and two threads give
// the same states, outputs and gradients, bit for bit, in training and in inference.
TEST_P(StandardInference, ThreadCountChangesNoBit) {
  const int steps = 20, rows = 64;
  StandardStackConfig config{GetParam(), 2, 7, 40, 0.3f, 16, 8};
  const auto lengths = random_lengths(rows, steps, 9);
  struct Result {
    std::vector<float> final_state, grads, dx, d_init, inferred;
  };
  auto run = [&](int threads) {
    const testing::ThreadScope scope(threads);
    StackRun r(config, steps, rows, lengths, 31);
    r.backprop();
    Result res;
    const Tensor& fs = r.stack->final_state();
    res.final_state.assign(fs.data<float>(), fs.data<float>() + fs.numel());
    for (size_t i = 0; i < r.params.size(); ++i) {
      const Tensor& g = r.params[i].grad;
      res.grads.insert(res.grads.end(), g.data<float>(), g.data<float>() + g.numel());
    }
    res.dx = r.input->dx();
    res.d_init.assign(r.d_init.data<float>(), r.d_init.data<float>() + r.d_init.numel());
    Tensor state = r.init;
    res.inferred.resize(size_t(steps) * rows * config.hidden_size);
    r.stack->infer(r.shape(), *r.input, state, res.inferred.data());
    return res;
  };
  const Result one = run(1), two = run(2);
  EXPECT_EQ(one.final_state, two.final_state);
  EXPECT_EQ(one.grads, two.grads);
  EXPECT_EQ(one.dx, two.dx);
  EXPECT_EQ(one.d_init, two.d_init);
  EXPECT_EQ(one.inferred, two.inferred);
}

// precision bf16 rounds the recurrent products too (packed once per sweep): outputs move
// away from fp32's only by bf16's rounding, and inference reproduces training's bits.
TEST_P(StandardInference, Bf16RecurrentProductsStayCloseToFp32) {
  const int steps = 12, rows = 20;
  const auto lengths = random_lengths(rows, steps, 4);
  std::vector<float> outputs[2];
  for (int i = 0; i < 2; ++i) {
    StandardStackConfig config{GetParam(), 2, 5, 24, 0.0f, 16, 4};
    config.precision = i == 0 ? Precision::fp32 : Precision::bf16;
    StackRun r(config, steps, rows, lengths, 17);
    // Zero inputs project to zero exactly in either precision: the outputs then differ only
    // through the recurrent products.
    std::fill(r.input->x().begin(), r.input->x().end(), 0.0f);
    r.stack->forward(r.shape(), *r.input, &r.init, r.dropout);
    outputs[i].resize(size_t(steps) * rows * config.hidden_size);
    r.stack->kept_outputs(config.hidden_size, outputs[i].data());
    Tensor state = r.init;
    std::vector<float> top(outputs[i].size());
    r.stack->infer(r.shape(), *r.input, state, top.data());
    EXPECT_EQ(top, outputs[i]) << precision_name(config.precision);
  }
  double max_diff = 0;
  for (size_t j = 0; j < outputs[0].size(); ++j)
    max_diff = std::max(max_diff, double(std::fabs(outputs[0][j] - outputs[1][j])));
  EXPECT_GT(max_diff, 0.0);  // the recurrent products were bf16
  EXPECT_LT(max_diff, 0.03);  // outputs are within (-1, 1)
}

INSTANTIATE_TEST_SUITE_P(Standard, StandardInference,
                         ::testing::Values(StandardCell::gru, StandardCell::lstm),
                         [](const auto& test) { return std::string(cell_name(test.param)); });

// --- memory ledger ---

TEST(StandardStack, LedgerCountsWhatForwardKeeps) {
  for (StandardCell cell : {StandardCell::gru, StandardCell::lstm}) {
    const int layers = 2, h = 6, input_size = 4;
    StandardStackConfig config{cell, layers, input_size, h, 0.1f, 16, 3};
    const int w = width_of(config);
    auto check = [&](StackRun& r) {
      r.stack->forward(r.shape(), *r.input, &r.init, r.dropout);
      const int64_t t = r.steps, b = r.rows;
      const MemoryLedger ledger = r.stack->ledger();
      const double baseline =
          double(layers) * 32 * t * b * h * (cell == StandardCell::lstm ? 2 : 1);
      EXPECT_EQ(ledger.baseline_bits, baseline) << cell_name(cell);
      // Per layer: states before and after every step [T+1, B, W] and gates [T, B, 4H]; plus
      // the final states [L, B, W] and the lengths.
      const int64_t stored = layers * ((t + 1) * b * w + t * b * 4 * h) * 4;
      const int64_t final_bytes = layers * b * w * 4;
      EXPECT_EQ(ledger.stored_bits, 8.0 * stored);
      EXPECT_EQ(ledger.final_state_bits, 8.0 * final_bytes);
      EXPECT_EQ(ledger.held_bits, 8.0 * (stored + final_bytes));
      EXPECT_EQ(ledger.optimal_bits, ledger.held_bits);
      EXPECT_EQ(ledger.buffer_bits, 0.0);
      EXPECT_EQ(ledger.held_bytes, stored + final_bytes + b * 4);
      int64_t actual = 0;
      for (int l = 0; l < layers; ++l)
        actual += r.stack->stored_states(l).nbytes() + r.stack->stored_gates(l).nbytes();
      EXPECT_EQ(actual, stored);
      r.stack->backward(*r.input, *r.loss, &r.d_final, &r.d_init);
      EXPECT_EQ(r.stack->ledger().stored_bits, 0.0);  // freed
    };
    StackRun big(config, 12, 5, random_lengths(5, 12, 1), 4);
    check(big);
    StackRun small(config, 4, 5, random_lengths(5, 4, 1), 4);
    check(small);
  }
}

TEST(StandardStack, RegistersPyTorchShapedParameters) {
  ParameterSet params;
  StandardStack gru(params, "enc", {StandardCell::gru, 2, 5, 7, 0.0f, 0, 16});
  StandardStack lstm(params, "dec", {StandardCell::lstm, 1, 3, 4, 0.0f, 0, 16});
  ASSERT_EQ(params.size(), 8u + 3u);
  EXPECT_EQ(params.get("enc/layer0/Wx").value.shape(), Shape({5, 21}));
  EXPECT_EQ(params.get("enc/layer1/Wx").value.shape(), Shape({7, 21}));
  EXPECT_EQ(params.get("enc/layer1/Wh").value.shape(), Shape({7, 21}));
  EXPECT_EQ(params.get("enc/layer1/bx").value.shape(), Shape({21}));
  EXPECT_EQ(params.get("enc/layer1/bh").value.shape(), Shape({21}));
  EXPECT_EQ(params.get("dec/layer0/Wx").value.shape(), Shape({3, 16}));
  EXPECT_EQ(params.get("dec/layer0/Wh").value.shape(), Shape({4, 16}));
  EXPECT_EQ(gru.state_width(), 7);
  EXPECT_EQ(lstm.state_width(), 8);
  EXPECT_EQ(lstm.state_dtype(), DType::f32);
}

}  // namespace
}  // namespace revnmt
