// Gradients of the reversible stacks:
// * reversal gradients equal store-everything backprop through the same fixed-point
//   forward (pitfall P5 of the reference, which only agreed to about a degree);
// * finite differences confirm every parameter, input and initial-state gradient of each
//   cell, in the smooth (unquantized-multiplier) arithmetic that makes them meaningful.

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <random>

#include "reversible/fixed_point.h"
#include "reversible/rev_stack.h"
#include "tests/reversible/stack_fixtures.h"

namespace revnmt {
namespace {

using testing::LinearLoss;
using testing::random_lengths;
using testing::RandomInput;

struct GradientRun {
  ParameterSet params;
  std::unique_ptr<RevStack> stack;
  std::unique_ptr<RandomInput> input;
  Tensor d_init;
};

struct GradSetup {
  RevStackConfig config;
  int steps = 6;
  int rows = 3;
  unsigned seed = 1;
};

int width_of(const RevStackConfig& c) {
  return c.cell == RevCell::lstm ? 2 * c.hidden_size : c.hidden_size;
}

Tensor random_init(const RevStackConfig& c, int rows, unsigned seed) {
  Tensor init({c.layers, rows, width_of(c)}, DType::i64);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-0.5f, 0.5f);
  for (int64_t i = 0; i < init.numel(); ++i) init.data<int64_t>()[i] = fixed::to_fixed(dist(rng));
  return init;
}

Tensor random_final_gradient(const RevStackConfig& c, int rows, unsigned seed) {
  Tensor d({c.layers, rows, width_of(c)}, DType::f32);
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  for (int64_t i = 0; i < d.numel(); ++i) d.data<float>()[i] = normal(rng);
  return d;
}

void run(GradientRun& r, const GradSetup& s, const std::vector<int32_t>& lengths,
         const Tensor& init, const Tensor& d_final) {
  r.stack = std::make_unique<RevStack>(r.params, "stack", s.config);
  r.params.init_uniform(0.5f, s.seed);
  r.input = std::make_unique<RandomInput>(s.steps, s.rows, s.config.input_size, s.seed + 1);
  const DropoutKey dropout{7, 3, true};
  r.stack->forward({s.steps, s.rows, lengths.data()}, *r.input, &init, dropout);
  LinearLoss loss(s.steps, s.rows, s.config.hidden_size, s.seed + 2);
  r.stack->backward(*r.input, loss, &d_final, &r.d_init);
}

// The same setup trained by reversal and by stored-state backprop: parameter, input and
// initial-state gradients agree to float tolerance.
void expect_reversal_matches_bptt(const GradSetup& s) {
  const auto lengths = random_lengths(s.rows, s.steps, 4);
  GradientRun reversal, bptt;
  const Tensor init = random_init(s.config, s.rows, 9);
  const Tensor d_final = random_final_gradient(s.config, s.rows, 10);
  run(reversal, s, lengths, init, d_final);
  GradSetup stored = s;
  stored.config.tape = Tape::stored;
  run(bptt, stored, lengths, init, d_final);

  ASSERT_EQ(reversal.params.size(), bptt.params.size());
  for (size_t i = 0; i < reversal.params.size(); ++i) {
    const Parameter& a = reversal.params[i];
    const Parameter& b = bptt.params[i];
    EXPECT_LE(max_relative_error(a.grad.data<float>(), b.grad.data<float>(), a.numel()), 1e-4)
        << a.name;
  }
  EXPECT_LE(max_relative_error(reversal.input->dx().data(), bptt.input->dx().data(),
                               int64_t(reversal.input->dx().size())),
            1e-4);
  EXPECT_LE(max_relative_error(reversal.d_init.data<float>(), bptt.d_init.data<float>(),
                               reversal.d_init.numel()),
            1e-4);
}

// A stack of 37 steps, 5 rows, 6 inputs, 10 units, slice 2, dropout 0.25.
GradSetup small_setup(RevCell cell, int layers, int chunk) {
  GradSetup s;
  s.steps = 37;
  s.rows = 5;
  s.config.cell = cell;
  s.config.layers = layers;
  s.config.input_size = 6;
  s.config.hidden_size = 10;
  s.config.slice_dim = 2;
  s.config.dropout_hidden = 0.25f;
  s.config.chunk_steps = chunk;
  return s;
}

class ReversalVsBptt : public ::testing::TestWithParam<std::tuple<RevCell, int, bool, int>> {};

TEST_P(ReversalVsBptt, GradientsAgree) {
  const auto [cell, layers, no_forgetting, chunk] = GetParam();
  GradSetup s = small_setup(cell, layers, chunk);
  s.config.no_forgetting = no_forgetting;
  expect_reversal_matches_bptt(s);
}

INSTANTIATE_TEST_SUITE_P(Cells, ReversalVsBptt,
                         ::testing::Values(std::make_tuple(RevCell::gru, 1, false, 16),
                                           std::make_tuple(RevCell::gru, 2, false, 5),
                                           std::make_tuple(RevCell::gru, 3, false, 1),
                                           std::make_tuple(RevCell::lstm, 1, false, 16),
                                           std::make_tuple(RevCell::lstm, 2, false, 7),
                                           std::make_tuple(RevCell::gru, 2, true, 4),
                                           std::make_tuple(RevCell::lstm, 2, true, 64)));

// With bf16 input projections and recurrent products, reversal still reproduces
// stored-state backprop.
TEST(ReversalVsBpttBf16, GradientsAgree) {
  for (RevCell cell : {RevCell::gru, RevCell::lstm}) {
    SCOPED_TRACE(cell == RevCell::gru ? "gru" : "lstm");
    GradSetup s = small_setup(cell, 2, 8);
    s.config.precision = Precision::bf16;
    expect_reversal_matches_bptt(s);
  }
}

// Loss as the fixtures define it: Σ w·top + Σ d_final·F(final state).
double evaluate_loss(RevStack& stack, RandomInput& input, const GradSetup& s,
                     const std::vector<int32_t>& lengths, const Tensor& init,
                     const Tensor& d_final) {
  stack.forward({s.steps, s.rows, lengths.data()}, input, &init, DropoutKey{7, 3, true});
  std::vector<float> top(size_t(s.steps) * s.rows * s.config.hidden_size);
  stack.kept_outputs(s.config.hidden_size, top.data());
  LinearLoss loss(s.steps, s.rows, s.config.hidden_size, s.seed + 2);
  double value = loss.value(top.data());
  const Tensor& final_state = stack.final_state();
  for (int64_t i = 0; i < final_state.numel(); ++i)
    value += double(d_final.data<float>()[i]) * fixed::to_float(final_state.data<int64_t>()[i]);
  return value;
}

void expect_close(double numeric, double analytic, const std::string& what) {
  const double tolerance = 2e-3 + 2e-2 * std::max(std::fabs(numeric), std::fabs(analytic));
  EXPECT_NEAR(numeric, analytic, tolerance) << what;
}

class FiniteDifferences : public ::testing::TestWithParam<std::tuple<RevCell, int, bool>> {};

TEST_P(FiniteDifferences, EveryParameterInputAndInitialState) {
  const auto [cell, layers, no_forgetting] = GetParam();
  GradSetup s;
  s.steps = 5;
  s.rows = 3;
  s.config.cell = cell;
  s.config.layers = layers;
  s.config.input_size = 3;
  s.config.hidden_size = 4;
  s.config.slice_dim = 1;
  s.config.no_forgetting = no_forgetting;
  s.config.smooth = !no_forgetting;  // no-forgetting cells are smooth already
  s.config.tape = Tape::stored;
  s.config.dropout_hidden = 0.2f;
  s.config.max_forget = 0.75f;
  const auto lengths = std::vector<int32_t>{5, 3, 4};
  GradientRun r;
  const Tensor init = random_init(s.config, s.rows, 21);
  const Tensor d_final = random_final_gradient(s.config, s.rows, 22);
  run(r, s, lengths, init, d_final);

  const float eps = 5e-3f;
  auto central = [&](const std::function<void(float)>& nudge) {
    nudge(eps);
    const double plus = evaluate_loss(*r.stack, *r.input, s, lengths, init, d_final);
    nudge(-2 * eps);
    const double minus = evaluate_loss(*r.stack, *r.input, s, lengths, init, d_final);
    nudge(eps);
    return (plus - minus) / (2.0 * eps);
  };
  int checked = 0;
  for (size_t p = 0; p < r.params.size(); ++p) {
    Parameter& param = r.params[p];
    for (int64_t i = 0; i < param.numel(); ++i) {
      float& v = param.data()[i];
      const double numeric = central([&](float d) { v += d; });
      expect_close(numeric, param.grad.data<float>()[i],
                   param.name + "[" + std::to_string(i) + "]");
      ++checked;
    }
  }
  for (size_t i = 0; i < r.input->x().size(); ++i) {
    float& v = r.input->x()[i];
    expect_close(central([&](float d) { v += d; }), r.input->dx()[i], "input " + std::to_string(i));
  }
  Tensor perturbed = init;
  for (int64_t i = 0; i < init.numel(); ++i) {
    int64_t& v = perturbed.data<int64_t>()[i];
    const int64_t original = v;
    v = original + fixed::to_fixed(eps);
    const double plus = evaluate_loss(*r.stack, *r.input, s, lengths, perturbed, d_final);
    v = original - fixed::to_fixed(eps);
    const double minus = evaluate_loss(*r.stack, *r.input, s, lengths, perturbed, d_final);
    v = original;
    expect_close((plus - minus) / (2.0 * eps), r.d_init.data<float>()[i],
                 "initial state " + std::to_string(i));
  }
  EXPECT_GT(checked, 50);
}

INSTANTIATE_TEST_SUITE_P(Cells, FiniteDifferences,
                         ::testing::Values(std::make_tuple(RevCell::gru, 1, false),
                                           std::make_tuple(RevCell::gru, 2, false),
                                           std::make_tuple(RevCell::lstm, 1, false),
                                           std::make_tuple(RevCell::lstm, 2, false),
                                           std::make_tuple(RevCell::gru, 2, true),
                                           std::make_tuple(RevCell::lstm, 1, true)));

}  // namespace
}  // namespace revnmt
