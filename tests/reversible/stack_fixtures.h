#pragma once
// Shared fixtures for the reversible-stack tests: random inputs, a linear loss on the
// top outputs, and helpers to drive a RecurrentStack through forward and backward.

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "reversible/recurrent_stack.h"

namespace revnmt::testing {

// Fixed random inputs [T, B, I]; records the input gradient.
class RandomInput : public StackInput {
 public:
  RandomInput(int steps, int rows, int size, unsigned seed, float scale = 1.0f)
      : steps_(steps),
        rows_(rows),
        size_(size),
        x_(size_t(steps) * rows * size),
        dx_(x_.size(), 0.0f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, scale);
    for (auto& v : x_) v = normal(rng);
  }
  int size() const override { return size_; }
  void fill(int t0, int t1, float* out) override {
    std::memcpy(out, x_.data() + size_t(t0) * rows_ * size_,
                sizeof(float) * (t1 - t0) * rows_ * size_);
  }
  void backward(int t0, int t1, const float* d) override {
    float* dst = dx_.data() + size_t(t0) * rows_ * size_;
    for (size_t i = 0; i < size_t(t1 - t0) * rows_ * size_; ++i) dst[i] += d[i];
  }
  std::vector<float>& x() { return x_; }
  std::vector<float>& dx() { return dx_; }

 private:
  int steps_, rows_, size_;
  std::vector<float> x_, dx_;
};

// loss = Σ_t,b,u weight[t,b,u] · top[t,b,u]; records the top outputs it was shown.
class LinearLoss : public OutputGradient {
 public:
  LinearLoss(int steps, int rows, int hidden, unsigned seed)
      : rows_(rows),
        hidden_(hidden),
        weight_(size_t(steps) * rows * hidden),
        seen_(weight_.size(), NAN) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal;
    for (auto& v : weight_) v = normal(rng);
  }
  void backward(int t0, int t1, const float* top, float* d_top) override {
    const size_t offset = size_t(t0) * rows_ * hidden_, n = size_t(t1 - t0) * rows_ * hidden_;
    for (size_t i = 0; i < n; ++i) {
      d_top[i] += weight_[offset + i];
      seen_[offset + i] = top[i];
    }
  }
  double value(const float* top_all) const {
    double sum = 0;
    for (size_t i = 0; i < weight_.size(); ++i) sum += double(weight_[i]) * top_all[i];
    return sum;
  }
  const std::vector<float>& seen() const { return seen_; }

 private:
  int rows_, hidden_;
  std::vector<float> weight_, seen_;
};

inline std::vector<int32_t> random_lengths(int rows, int steps, unsigned seed,
                                           bool include_full = true) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> dist(1, steps);
  std::vector<int32_t> lengths(rows);
  for (auto& l : lengths) l = dist(rng);
  if (include_full) lengths[0] = steps;
  return lengths;
}

}  // namespace revnmt::testing
