// Reversal is bit-exact: forward then reverse reproduces every state of every layer, over
// thousands of steps, with masks, slices, every forgetting limit, extreme multipliers,
// negative states and many buffer spills.

#include "reversible/rev_stack.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <tuple>

#include "reversible/fixed_point.h"
#include "tests/reversible/stack_fixtures.h"
#include "tests/support/test_support.h"

namespace revnmt {
namespace {

using testing::LinearLoss;
using testing::random_lengths;
using testing::RandomInput;
using testing::ThreadScope;  // the suite runs with OMP_NUM_THREADS=1

float max_forget_for_bits(int bits) { return bits == 0 ? 1.0f : 1.0f - std::ldexp(1.0f, -bits); }

// Forces Z = 1 (forget everything allowed) on unit 0 and Z = 1024 (keep) on unit 1 of every
// half's z gate, by saturating their biases. Other units are random.
void force_extreme_multipliers(ParameterSet& params, RevCell cell, int layers, int hidden) {
  const int g = hidden / 2;
  for (int l = 0; l < layers; ++l) {
    float* bias = params.get("stack/layer" + std::to_string(l) + "/bx").data();
    for (int k = 0; k < 2; ++k) {
      const int z_offset = cell == RevCell::gru ? k * 3 * g : k * 5 * g;
      bias[z_offset + 0] = -40.0f;  // sigmoid -> 0: z = 1 - m_f (Z = 1 without a limit)
      bias[z_offset + 1] = 40.0f;   // sigmoid -> 1: z = 1 (Z = 1024)
      if (cell == RevCell::lstm) {  // the h multiplier p likewise
        bias[z_offset + 4 * g + 0] = -40.0f;
        bias[z_offset + 4 * g + 1] = 40.0f;
      }
    }
  }
}

struct ReversalCase {
  RevCell cell;
  int forget_bits;  // 0 = no limit
  int slice;        // -1 = G - 1
  int layers;
  int steps;
  int chunk;
  Precision precision = Precision::fp32;  // of the input projections
  int rows = 8;
  int hidden = 8;
  int threads = 1;  // OpenMP threads of the elementwise passes and matmuls
};

class StackReversal : public ::testing::TestWithParam<ReversalCase> {};

TEST_P(StackReversal, RecoversEveryStateBitForBit) {
  const ReversalCase c = GetParam();
  const int rows = c.rows, input = 5, hidden = c.hidden;
  const ThreadScope threads(c.threads);
  RevStackConfig config;
  config.cell = c.cell;
  config.layers = c.layers;
  config.input_size = input;
  config.hidden_size = hidden;
  config.max_forget = max_forget_for_bits(c.forget_bits);
  config.slice_dim = c.slice < 0 ? hidden / 2 - 1 : c.slice;
  config.chunk_steps = c.chunk;
  config.dropout_hidden = 0.3f;
  config.precision = c.precision;

  auto make = [&](Tape tape, ParameterSet& params) {
    RevStackConfig cfg = config;
    cfg.tape = tape;
    auto stack = std::make_unique<RevStack>(params, "stack", cfg);
    params.init_uniform(0.8f, 17);
    force_extreme_multipliers(params, c.cell, c.layers, hidden);
    return stack;
  };
  const auto lengths = random_lengths(rows, c.steps, 3);
  const SequenceShape shape{c.steps, rows, lengths.data()};
  const DropoutKey dropout{99, 7, true};
  // Negative and positive initial states.
  ParameterSet stored_params, params;
  auto reference = make(Tape::stored, stored_params);
  auto stack = make(Tape::reversal, params);
  Tensor init({c.layers, rows, reference->state_width()}, DType::i64);
  std::mt19937_64 rng(5);
  for (int64_t i = 0; i < init.numel(); ++i)
    init.data<int64_t>()[i] = int64_t(rng() % (int64_t(1) << 24)) - (int64_t(1) << 23);

  RandomInput input_ref(c.steps, rows, input, 11, 2.0f), input_rev(c.steps, rows, input, 11, 2.0f);
  reference->forward(shape, input_ref, &init, dropout);
  stack->forward(shape, input_rev, &init, dropout);
  ASSERT_EQ(std::memcmp(reference->final_state().raw(), stack->final_state().raw(),
                        stack->final_state().nbytes()),
            0);
  EXPECT_GT(stack->buffer_content_bits(), 0.0);
  // What is kept until backward: final states packed into 32 bits when they fit.
  const double final_bits_before = stack->ledger().final_state_bits;
  stack->compact();
  EXPECT_LE(stack->ledger().final_state_bits, final_bits_before);
  if (c.cell == RevCell::gru) {
    EXPECT_EQ(stack->ledger().final_state_bits, final_bits_before / 2);
  }

  const int w = stack->state_width();
  int64_t compared = 0, mismatches = 0;
  stack->set_reverse_observer([&](int layer, int t, const int64_t* state) {
    const int64_t* want = reference->stored_states(layer).data<int64_t>() + int64_t(t) * rows * w;
    mismatches += std::memcmp(state, want, sizeof(int64_t) * rows * w) != 0;
    ++compared;
  });
  LinearLoss loss(c.steps, rows, hidden, 13);
  stack->backward(input_rev, loss, nullptr, nullptr);
  EXPECT_EQ(compared, int64_t(c.steps) * c.layers);
  EXPECT_EQ(mismatches, 0);
  EXPECT_TRUE(stack->buffers_empty());
}

INSTANTIATE_TEST_SUITE_P(LongSequences, StackReversal,
                         ::testing::Values(ReversalCase{RevCell::gru, 3, 1, 2, 10000, 16},
                                           ReversalCase{RevCell::lstm, 3, -1, 2, 10000, 16},
                                           ReversalCase{RevCell::gru, 0, 0, 1, 10000, 64},
                                           ReversalCase{RevCell::lstm, 0, 1, 1, 10000, 7}));

// bf16 input projections and recurrent products: forward and reverse compute them with the
// same code, chunks and packed weights, so reversal stays exact.
INSTANTIATE_TEST_SUITE_P(
    Bf16Projections, StackReversal,
    ::testing::Values(ReversalCase{RevCell::gru, 3, 1, 2, 2000, 16, Precision::bf16},
                      ReversalCase{RevCell::lstm, 3, -1, 2, 2000, 7, Precision::bf16}));

// Two threads and 64 rows: the stack splits the rows into two blocks, one per thread
// (nmt/core/parallel.h), spills included; the observer makes the blocks meet after every
// step (the training path runs them through whole chunks: ThreadCountChangesNoBit).
INSTANTIATE_TEST_SUITE_P(
    TwoThreads, StackReversal,
    ::testing::Values(ReversalCase{RevCell::gru, 3, 1, 2, 300, 16, Precision::fp32, 64, 160, 2},
                      ReversalCase{RevCell::lstm, 3, -1, 2, 300, 7, Precision::fp32, 64, 160, 2},
                      ReversalCase{RevCell::gru, 0, 0, 1, 300, 300, Precision::fp32, 64, 160, 2}));

INSTANTIATE_TEST_SUITE_P(EveryLimitAndSlice, StackReversal,
                         ::testing::Values(ReversalCase{RevCell::gru, 1, 0, 2, 300, 16},
                                           ReversalCase{RevCell::gru, 2, -1, 2, 300, 5},
                                           ReversalCase{RevCell::gru, 5, 1, 3, 300, 1},
                                           ReversalCase{RevCell::gru, 0, -1, 1, 300, 300},
                                           ReversalCase{RevCell::lstm, 1, 1, 2, 300, 16},
                                           ReversalCase{RevCell::lstm, 2, 0, 1, 300, 4},
                                           ReversalCase{RevCell::lstm, 5, -1, 2, 300, 33},
                                           ReversalCase{RevCell::lstm, 0, 0, 3, 300, 16}));

TEST(RevStack, NoForgettingVariantsReverseWithoutBuffers) {
  for (RevCell cell : {RevCell::gru, RevCell::lstm}) {
    ParameterSet params;
    RevStackConfig config;
    config.cell = cell;
    config.layers = 2;
    config.input_size = 3;
    config.hidden_size = 6;
    config.no_forgetting = true;
    config.slice_dim = 2;
    RevStack stack(params, "stack", config);
    params.init_uniform(0.5f, 1);
    const auto lengths = random_lengths(4, 200, 8);
    RandomInput input(200, 4, 3, 2);
    stack.forward({200, 4, lengths.data()}, input, nullptr, {});
    const MemoryLedger ledger = stack.ledger();
    EXPECT_EQ(ledger.buffer_bits, 0.0);
    const Tensor final_state = stack.final_state();
    Tensor recovered;
    int64_t compared = 0;
    stack.set_reverse_observer([&](int, int t, const int64_t*) { compared += t == 0; });
    LinearLoss loss(200, 4, 6, 3);
    Tensor d_init;
    stack.backward(input, loss, nullptr, &d_init);
    EXPECT_EQ(compared, 2);
  }
}

// A one-layer RevLSTM (H = 4, state [h1 h2 c1 c2] of 8 values) whose every gate is
// saturated at 1: its cells c' = z·c + f·g grow by one per step.
std::unique_ptr<RevStack> saturated_lstm(ParameterSet& params) {
  RevStackConfig config;
  config.cell = RevCell::lstm;
  config.input_size = 2;
  config.hidden_size = 4;
  config.max_forget = 1.0f;
  auto stack = std::make_unique<RevStack>(params, "stack", config);
  float* bias = params.get("stack/layer0/bx").data();
  for (int j = 0; j < 20; ++j) bias[j] = 40.0f;
  return stack;
}

// Near the limit the next step must raise an error, never wrap (the reference's int32
// wrapped at 256).
TEST(RevStack, StateOutOfRangeIsAnErrorNotAWrap) {
  ParameterSet params;
  const auto stack = saturated_lstm(params);
  Tensor init({1, 1, 8}, DType::i64);
  for (int u = 4; u < 8; ++u) init.data<int64_t>()[u] = fixed::kStateLimit - (int64_t(1) << 22);
  const int32_t length = 3;
  RandomInput input(3, 1, 2, 1);
  EXPECT_THROW(stack->forward({3, 1, &length}, input, &init, {}), RangeError);
  // Far from the limit the same model runs, with cell values beyond the old int32 range.
  for (int u = 4; u < 8; ++u) init.data<int64_t>()[u] = int64_t(300) << fixed::kHiddenRadix;
  EXPECT_NO_THROW(stack->forward({3, 1, &length}, input, &init, {}));
  EXPECT_GT(fixed::to_float(stack->final_state().data<int64_t>()[4]), 302.0f);
}

// The same overflow in one row of the second of two row blocks: the error is raised on the
// worker thread and surfaces from forward(), and the stack stays usable.
TEST(RevStack, AnOverflowInsideARowBlockIsAnError) {
  const ThreadScope threads(2);
  const int rows = 64, bad_row = 40, steps = 3;
  ParameterSet params;
  const auto stack = saturated_lstm(params);
  Tensor init({1, rows, 8}, DType::i64);
  init.zero();
  for (int u = 4; u < 8; ++u)
    init.data<int64_t>()[bad_row * 8 + u] = fixed::kStateLimit - (int64_t(1) << 22);
  const std::vector<int32_t> lengths(rows, steps);
  RandomInput input(steps, rows, 2, 1);
  EXPECT_THROW(stack->forward({steps, rows, lengths.data()}, input, &init, {}), RangeError);
  for (int u = 4; u < 8; ++u) init.data<int64_t>()[bad_row * 8 + u] = 0;
  EXPECT_NO_THROW(stack->forward({steps, rows, lengths.data()}, input, &init, {}));
}

TEST(RevStack, SliceOutsideInt32IsAnError) {
  ParameterSet params;
  RevStackConfig config;
  config.input_size = 2;
  config.hidden_size = 4;
  config.slice_dim = 1;
  RevStack stack(params, "stack", config);
  Tensor init({1, 1, 4}, DType::i64);
  init.data<int64_t>()[0] = int64_t(1) << 33;
  const int32_t length = 2;
  RandomInput input(2, 1, 2, 1);
  EXPECT_THROW(stack.forward({2, 1, &length}, input, &init, {}), RangeError);
}

// Inference runs the same cells without buffers: its states differ from training's only in
// the low bits the buffers add (< 2^-13 per step, REVERSIBLE.md §3.2).
TEST(RevStack, InferenceMatchesTrainingUpToBufferLowBits) {
  ParameterSet params;
  RevStackConfig config;
  config.input_size = 4;
  config.hidden_size = 8;
  config.layers = 2;
  RevStack stack(params, "stack", config);
  params.init_uniform(0.5f, 3);
  const int steps = 20, rows = 3;
  const auto lengths = random_lengths(rows, steps, 2);
  RandomInput input(steps, rows, 4, 9);
  stack.forward({steps, rows, lengths.data()}, input, nullptr, {});
  Tensor state({2, rows, 8}, DType::i64);
  std::vector<float> top(size_t(steps) * rows * 8);
  stack.infer({steps, rows, lengths.data()}, input, state, top.data());
  for (int64_t i = 0; i < state.numel(); ++i)
    EXPECT_NEAR(fixed::to_float(state.data<int64_t>()[i]),
                fixed::to_float(stack.final_state().data<int64_t>()[i]), 1e-3);
  // infer_step one step at a time gives the same states as infer over the sequence.
  Tensor stepped({2, rows, 8}, DType::i64);
  std::vector<uint8_t> dummy;
  std::vector<float> x(rows * 4), out(rows * 8);
  for (int t = 0; t < steps; ++t) {
    input.fill(t, t + 1, x.data());
    stack.infer_step(x.data(), rows, stepped, out.data());
  }
  // Rows shorter than `steps` were masked in infer; compare the full-length row 0.
  for (int l = 0; l < 2; ++l)
    for (int u = 0; u < 8; ++u)
      EXPECT_EQ(stepped.data<int64_t>()[(l * rows + 0) * 8 + u],
                state.data<int64_t>()[(l * rows + 0) * 8 + u]);
}

// precision bf16 rounds the recurrent products too, in training and in inference: the
// states move away from fp32's, but only by bf16's rounding.
TEST(RevStack, Bf16RecurrentProductsStayCloseToFp32) {
  for (RevCell cell : {RevCell::gru, RevCell::lstm}) {
    SCOPED_TRACE(cell == RevCell::gru ? "gru" : "lstm");
    const int steps = 30, rows = 40, input = 6, hidden = 32;
    const auto lengths = random_lengths(rows, steps, 2);
    std::vector<float> finals[2], inferred[2];
    for (int i = 0; i < 2; ++i) {
      ParameterSet params;
      RevStackConfig config;
      config.cell = cell;
      config.input_size = input;
      config.hidden_size = hidden;
      config.precision = i == 0 ? Precision::fp32 : Precision::bf16;
      RevStack stack(params, "stack", config);
      params.init_uniform(0.5f, 3);
      // Zero inputs project to the bias exactly in either precision: the states then differ
      // only through the recurrent products.
      RandomInput x(steps, rows, input, 9);
      std::fill(x.x().begin(), x.x().end(), 0.0f);
      stack.forward({steps, rows, lengths.data()}, x, nullptr, {});
      const Tensor& fs = stack.final_state();
      for (int64_t j = 0; j < fs.numel(); ++j)
        finals[i].push_back(fixed::to_float(fs.data<int64_t>()[j]));
      Tensor state({1, rows, stack.state_width()}, DType::i64);
      state.zero();
      stack.infer({steps, rows, lengths.data()}, x, state, nullptr);
      for (int64_t j = 0; j < state.numel(); ++j)
        inferred[i].push_back(fixed::to_float(state.data<int64_t>()[j]));
    }
    // Training (buffered) and inference (lossy) both multiply in bf16, close to fp32.
    for (const auto* states : {finals, inferred}) {
      double max_diff = 0, max_value = 0;
      for (size_t j = 0; j < states[0].size(); ++j) {
        max_diff = std::max(max_diff, double(std::fabs(states[0][j] - states[1][j])));
        max_value = std::max(max_value, double(std::fabs(states[0][j])));
      }
      EXPECT_GT(max_diff, 0.0);  // the recurrent products were bf16
      EXPECT_LT(max_diff, 0.03 * max_value);
    }
  }
}

// A decoder packs its bf16 recurrent weights once per batch (pack_for_infer_steps) instead
// of at every infer_step: the steps give the same bits either way, follow the weights
// packed last, and pack at every step again once a sweep (here infer) has ended the
// effect of the pack.
TEST(RevStack, InferStepsPackedOncePerBatchGiveTheSameBits) {
  const int steps = 8, rows = 5, input = 4, hidden = 16;
  RandomInput x(steps, rows, input, 9);
  RevStackConfig config;
  config.input_size = input;
  config.hidden_size = hidden;
  config.layers = 2;
  config.precision = Precision::bf16;
  // Final states of `steps` infer_step calls from zero.
  const auto run_steps = [&](RevStack& stack) {
    Tensor state({2, rows, stack.state_width()}, DType::i64);
    state.zero();
    std::vector<float> xt(size_t(rows) * input), out(size_t(rows) * hidden);
    for (int t = 0; t < steps; ++t) {
      x.fill(t, t + 1, xt.data());
      stack.infer_step(xt.data(), rows, state, out.data());
    }
    const int64_t* s = state.data<int64_t>();
    return std::vector<int64_t>(s, s + state.numel());
  };
  const auto fresh_steps = [&](uint64_t seed) {  // a new stack, packing at every step
    ParameterSet params;
    RevStack stack(params, "stack", config);
    params.init_uniform(0.5f, seed);
    return run_steps(stack);
  };

  ParameterSet params;
  RevStack stack(params, "stack", config);
  params.init_uniform(0.5f, 3);
  const std::vector<int64_t> unpacked = run_steps(stack);
  stack.pack_for_infer_steps();
  EXPECT_EQ(run_steps(stack), unpacked);

  params.init_uniform(0.5f, 4);  // new weights, packed for the next batch
  stack.pack_for_infer_steps();
  const std::vector<int64_t> repacked = run_steps(stack);
  EXPECT_NE(repacked, unpacked);
  EXPECT_EQ(repacked, fresh_steps(4));

  // A sweep ends the pack's effect: after weights change, the steps pack the new ones.
  Tensor state({2, rows, stack.state_width()}, DType::i64);
  state.zero();
  const std::vector<int32_t> lengths(rows, steps);
  stack.infer({steps, rows, lengths.data()}, x, state, nullptr);
  params.init_uniform(0.5f, 5);
  EXPECT_EQ(run_steps(stack), fresh_steps(5));
}

// With two threads the stack runs its 64 rows as two blocks, each through whole chunks of
// steps on its own thread with its own spill stacks (nmt/core/parallel.h); each row depends
// only on its own inputs, so one and two threads give the same final states and gradients,
// bit for bit.
TEST(RevStack, ThreadCountChangesNoBit) {
  for (RevCell cell : {RevCell::gru, RevCell::lstm}) {
    const int rows = 64, input = 12, hidden = 160, steps = 40, layers = 2;
    struct Result {
      std::vector<int64_t> final_state;
      std::vector<float> dx, grads;
      double buffered_bits = 0, optimal_bits = 0;
    };
    auto run = [&](int threads) {
      const ThreadScope scope(threads);
      ParameterSet params;
      RevStackConfig config;
      config.cell = cell;
      config.layers = layers;
      config.input_size = input;
      config.hidden_size = hidden;
      config.max_forget = max_forget_for_bits(3);
      config.slice_dim = 1;
      config.chunk_steps = 16;
      config.dropout_hidden = 0.3f;
      RevStack stack(params, "stack", config);
      params.init_uniform(0.8f, 21);
      force_extreme_multipliers(params, cell, layers, hidden);
      const auto lengths = random_lengths(rows, steps, 4);
      RandomInput x(steps, rows, input, 22, 2.0f);
      stack.forward({steps, rows, lengths.data()}, x, nullptr, DropoutKey{5, 1, true});
      Result res;
      const Tensor& fs = stack.final_state();
      res.final_state.assign(fs.data<int64_t>(), fs.data<int64_t>() + fs.numel());
      res.buffered_bits = stack.buffer_content_bits();
      res.optimal_bits = stack.ledger().optimal_bits;
      LinearLoss loss(steps, rows, hidden, 23);
      stack.backward(x, loss, nullptr, nullptr);
      EXPECT_TRUE(stack.buffers_empty());
      res.dx = x.dx();
      for (size_t i = 0; i < params.size(); ++i) {
        const Parameter& p = params[i];
        res.grads.insert(res.grads.end(), p.grad.data<float>(), p.grad.data<float>() + p.numel());
      }
      return res;
    };
    const Result one = run(1), two = run(2);
    // A word holds under 16 bits: more than that per position means the spill stack was used.
    EXPECT_GT(one.buffered_bits, 16.0 * rows * (hidden / 2) * layers);
    // Two threads run the rows in two blocks, each with its own spill stacks: the same
    // words are spilled, and the ledger counts the same bits.
    EXPECT_EQ(one.buffered_bits, two.buffered_bits);
    EXPECT_EQ(one.optimal_bits, two.optimal_bits);
    EXPECT_EQ(one.final_state, two.final_state);
    EXPECT_EQ(one.dx, two.dx);
    EXPECT_EQ(one.grads, two.grads);
  }
}

}  // namespace
}  // namespace revnmt
