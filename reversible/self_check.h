#pragma once
// Self-checks of the reversible stacks that a user can run after building
// (`revnmt selftest`) and that the test suite reuses: exact reversal of every state, the
// memory held against the optimum, and reversal gradients against stored-state backprop.

#include <cstdint>
#include <string>
#include <vector>

#include "reversible/rev_stack.h"

namespace revnmt {

// Fixed random layer-0 inputs [T, B, I]; accumulates their gradient.
class RandomInput : public StackInput {
 public:
  RandomInput(int steps, int rows, int size, uint64_t seed, float scale = 1.0f);
  int size() const override { return size_; }
  void fill(int t0, int t1, float* out) override;
  void backward(int t0, int t1, const float* d) override;
  std::vector<float>& x() { return x_; }
  std::vector<float>& dx() { return dx_; }

 private:
  int rows_, size_;
  std::vector<float> x_, dx_;
};

// loss = Σ_{t,b,u} weight[t,b,u] · top[t,b,u]; remembers the top outputs it was shown.
class LinearLoss : public OutputGradient {
 public:
  LinearLoss(int steps, int rows, int hidden, uint64_t seed);
  void backward(int t0, int t1, const float* top, float* d_top) override;
  double value(const float* top_all) const;
  const std::vector<float>& seen() const { return seen_; }

 private:
  int rows_, hidden_;
  std::vector<float> weight_, seen_;
};

// Random lengths in [1, steps] (row 0 always full length).
std::vector<int32_t> random_lengths(int rows, int steps, uint64_t seed);

struct SelfCheckCase {
  RevCell cell = RevCell::gru;
  int layers = 2;
  int hidden = 16;
  int rows = 8;
  int steps = 1000;
  int forget_bits = 3;  // 0 = no limit
  int slice = 2;
  uint64_t seed = 1;
  std::string describe() const;
};

struct ReversalReport {
  int64_t states_compared = 0;
  int64_t states_differing = 0;
  double max_abs_difference = 0;  // in real units (F of the fixed-point difference)
  MemoryLedger ledger;
  bool buffers_empty = false;
  bool ok() const { return states_compared > 0 && states_differing == 0 && buffers_empty; }
};

// Runs a buffered forward (stored tape, the reference states) and a reversal forward +
// backward on identical random inputs, comparing every recovered state.
ReversalReport check_reversal(const SelfCheckCase& c);

struct GradientReport {
  double max_relative_error = 0;  // over well-conditioned entries of every gradient
  int tensors = 0;
  bool ok(double tolerance = 1e-4) const { return tensors > 0 && max_relative_error <= tolerance; }
};

// Reversal gradients vs store-everything backprop through the same fixed-point forward.
GradientReport check_gradients(const SelfCheckCase& c);

// max |a − b| / |b| over entries with |b| >= 1e-3 · max |b|.
double max_relative_error(const float* a, const float* b, int64_t n);

}  // namespace revnmt
