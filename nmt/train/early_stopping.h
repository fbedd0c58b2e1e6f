#pragma once
// Best-so-far bookkeeping of a validation metric, as Marian reports it ("new best" /
// "stalled N times (last best: X)"), and the early-stopping decision on one of them.

#include <cstdint>

#include "nmt/config/enums.h"

namespace revnmt {

// Perplexity: lower is better; BLEU and chrF: higher.
bool higher_is_better(Metric metric);

struct MetricRecord {
  bool has_best = false;
  double best = 0.0;
  int64_t best_update = 0;
  int64_t stalled = 0;  // validations since the best one
  double last = 0.0;
};

// Records `value` measured at `update`; returns true when it is a new best (strictly better;
// a NaN is never better). Otherwise increments the stalled count.
bool record_metric(MetricRecord& record, Metric metric, double value, int64_t update);

// patience > 0 and the record has stalled `patience` times in a row.
bool should_stop_early(const MetricRecord& record, int patience);

}  // namespace revnmt
