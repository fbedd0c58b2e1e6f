#include "nmt/train/lr_schedule.h"

#include <algorithm>
#include <cmath>

namespace revnmt {

LrScheduler::LrScheduler(const TrainConfig& train) : train_(train) {}

double LrScheduler::lr(int64_t update) const {
  const double u = static_cast<double>(std::max<int64_t>(update, 1));
  const double warmup = static_cast<double>(train_.lr_warmup);
  double rate = train_.lr;
  switch (train_.lr_schedule) {
    case LrSchedule::constant:
      break;
    case LrSchedule::plateau:
      rate *= state_.factor;
      break;
    case LrSchedule::inverse_sqrt:
      rate *= std::sqrt(std::max(warmup, 1.0) / std::max(u, warmup));
      break;
  }
  if (train_.lr_warmup > 0 && u < warmup) rate *= u / warmup;
  return rate;
}

bool LrScheduler::on_validation(double perplexity) {
  if (!state_.has_best || perplexity < state_.best_perplexity) {
    state_.has_best = true;
    state_.best_perplexity = perplexity;
    return false;
  }
  if (train_.lr_schedule != LrSchedule::plateau) return false;
  state_.factor *= train_.lr_decay;
  ++state_.decays;
  return true;
}

bool LrScheduler::below_minimum(int64_t update) const {
  if (train_.lr_min <= 0.0 || update < train_.lr_warmup) return false;
  return lr(update) < train_.lr_min;
}

}  // namespace revnmt
