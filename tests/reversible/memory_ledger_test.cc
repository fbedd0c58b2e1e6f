// The memory ledger on a case small enough to compute by hand.

#include <gtest/gtest.h>

#include <cmath>

#include "reversible/rev_stack.h"
#include "tests/reversible/stack_fixtures.h"

namespace revnmt {
namespace {

// RevGRU, 1 layer, H = 4 (G = 2), B = 2, T = 3, slice 1, lengths {3, 2}. All weights and
// biases zero: every z gate is sigmoid(0) = 0.5, so z = 0.875·0.5 + 0.125 = 0.5625.
TEST(MemoryLedger, HandComputedSmallCase) {
  ParameterSet params;
  RevStackConfig config;
  config.input_size = 3;
  config.hidden_size = 4;
  config.slice_dim = 1;
  config.max_forget = 0.875f;
  RevStack stack(params, "stack", config);
  const std::vector<int32_t> lengths{3, 2};
  testing::RandomInput input(3, 2, 3, 1);
  stack.forward({3, 2, lengths.data()}, input, nullptr, {});
  const MemoryLedger ledger = stack.ledger();

  // Baseline: 32 bits · T · B · H = 32 · 3 · 2 · 4.
  EXPECT_EQ(ledger.baseline_bits, 768.0);
  // Buffer: one 32-bit word per unit position (G = 2), shared by h1 and h2, per row;
  // nothing spilled in 3 steps.
  EXPECT_EQ(ledger.buffer_bits, 2 * 2 * 32.0);
  // Slices: (T + 1) · B · slice · 32 bits (RevGRU slices are int32).
  EXPECT_EQ(ledger.stored_bits, 4 * 2 * 1 * 32.0);
  // Final states: B · H int64.
  EXPECT_EQ(ledger.final_state_bits, 2 * 4 * 64.0);
  EXPECT_EQ(ledger.held_bits, 128.0 + 256.0 + 512.0);
  // Optimal: −log2(0.5625) per active buffered unit-step: (3 + 2) row-steps · 3 units,
  // plus the slices, which must be stored verbatim.
  EXPECT_NEAR(ledger.optimal_bits, 15 * -std::log2(0.5625) + 256.0, 1e-3);
  // Bytes: buffer 16 + slices 32 + final states 64 + lengths 8.
  EXPECT_EQ(ledger.held_bytes, 16 + 32 + 64 + 8);
  EXPECT_NEAR(ledger.actual_ratio(), 768.0 / 896.0, 1e-12);
}

// Held bits track the information forgotten: for long sequences the buffers hold at most
// 10% more than Σ −log2 z plus one 64-bit word per unit and sequence (issue target).
TEST(MemoryLedger, HeldBitsNearOptimalOnLongAndShortSequences) {
  for (int steps : {20, 1000}) {
    ParameterSet params;
    RevStackConfig config;
    config.input_size = 16;
    config.hidden_size = 32;
    config.max_forget = 0.875f;
    RevStack stack(params, "stack", config);
    params.init_uniform(1.0f, 5);
    const int rows = 16;
    const std::vector<int32_t> lengths(rows, steps);
    testing::RandomInput input(steps, rows, 16, 2);
    stack.forward({steps, rows, lengths.data()}, input, nullptr, {});
    const MemoryLedger ledger = stack.ledger();
    const double words_allowance = 64.0 * rows * 32;  // one 64-bit word per unit and sequence
    EXPECT_LE(ledger.buffer_bits, 1.10 * ledger.optimal_bits + words_allowance) << steps;
    // The exact content agrees with the optimum (quantization of z aside).
    EXPECT_NEAR(stack.buffer_content_bits(), ledger.optimal_bits, 0.02 * ledger.optimal_bits)
        << steps;
  }
}

}  // namespace
}  // namespace revnmt
