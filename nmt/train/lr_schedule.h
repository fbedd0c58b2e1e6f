#pragma once
// Learning-rate schedules (train.lr_schedule):
//   constant      lr
//   plateau       lr * factor, where factor is multiplied by lr_decay after every validation
//                 whose perplexity did not improve on the best so far (the paper's halving;
//                 against the best, not the previous validation, so a noisy run cannot
//                 escape the decay by getting worse twice)
//   inverse_sqrt  lr * sqrt(max(warmup, 1) / max(update, warmup)), i.e. flat at the peak
//                 once warm-up ends and then decaying like 1/sqrt(update)
// train.lr_warmup > 0 multiplies every schedule by min(1, update / lr_warmup) (linear
// warm-up from lr/warmup at update 1 to lr at update `warmup`).

#include <cstdint>
#include <string>

#include "nmt/config/recipe.h"

namespace revnmt {

// What the schedule remembers between updates; stored in the checkpoint.
struct LrScheduleState {
  double factor = 1.0;  // plateau decays so far
  bool has_best = false;
  double best_perplexity = 0.0;
  int64_t decays = 0;
};

class LrScheduler {
 public:
  explicit LrScheduler(const TrainConfig& train);

  // The rate for update number `update` (1-based: the first update is 1).
  double lr(int64_t update) const;
  // Reports a validation perplexity; returns true when the rate was decayed (plateau).
  bool on_validation(double perplexity);
  // True once warm-up is over and the rate for `update` is below train.lr_min (> 0).
  bool below_minimum(int64_t update) const;

  const LrScheduleState& state() const { return state_; }
  void set_state(const LrScheduleState& state) { state_ = state; }

 private:
  TrainConfig train_;
  LrScheduleState state_;
};

}  // namespace revnmt
