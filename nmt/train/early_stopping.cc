#include "nmt/train/early_stopping.h"

namespace revnmt {

bool higher_is_better(Metric metric) { return metric != Metric::perplexity; }

bool record_metric(MetricRecord& record, Metric metric, double value, int64_t update) {
  record.last = value;
  const bool better =
      !record.has_best || (higher_is_better(metric) ? value > record.best : value < record.best);
  if (better && value == value) {
    record.has_best = true;
    record.best = value;
    record.best_update = update;
    record.stalled = 0;
    return true;
  }
  ++record.stalled;
  return false;
}

bool should_stop_early(const MetricRecord& record, int patience) {
  return patience > 0 && record.stalled >= patience;
}

}  // namespace revnmt
