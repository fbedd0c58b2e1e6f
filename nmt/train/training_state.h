#pragma once
// Everything a resumed run needs besides the parameters and the optimizer moments: where it
// is in the data (epoch + batches of that epoch's plan consumed; the plan itself is a pure
// function of the seed and the epoch), the counters, the schedule, the early-stopping
// records, the fault counter, the unfinished log window and how long metrics.jsonl was.
// Stored in a checkpoint's "state" section as YAML; doubles are written so that they read
// back to the same bits.

#include <cstdint>
#include <map>
#include <string>

#include "nmt/config/enums.h"
#include "nmt/train/early_stopping.h"
#include "nmt/train/lr_schedule.h"

namespace revnmt {

// Sums over the updates since the last log line.
struct LogWindow {
  int64_t updates = 0;
  int64_t sentences = 0;
  int64_t target_tokens = 0;
  double nll = 0.0;            // Σ -log p over target tokens
  double smoothed_loss = 0.0;  // the label-smoothed training loss
  double grad_norm = 0.0;      // Σ of the updates' gradient norms (before clipping)
  double seconds = 0.0;        // training time spent in the window
  int64_t held_bytes = 0;      // peak bytes held for backward (both stacks + token ids)
  // Encoder/decoder ledgers summed over the window's batches (bits), peak bytes.
  double enc_baseline_bits = 0, enc_held_bits = 0, enc_optimal_bits = 0;
  double dec_baseline_bits = 0, dec_held_bits = 0, dec_optimal_bits = 0;
  int64_t enc_held_bytes = 0, dec_held_bytes = 0;
};

struct TrainingState {
  int64_t epoch = 1;            // the current epoch, 1-based
  int64_t batch_in_epoch = 0;   // batches of this epoch's plan consumed (applied or skipped)
  int64_t update = 0;           // applied updates
  int64_t sentences = 0;        // training sentences of the applied updates
  int64_t epoch_sentences = 0;  // of those, in the current epoch (Marian's "Sen.")
  int64_t target_tokens = 0;    // their target tokens (incl. EOS)
  int64_t skipped_batches = 0;  // batches skipped because of a NaN/Inf (all time)
  int64_t consecutive_faults = 0;
  double elapsed_seconds = 0.0;  // wall time of training so far (over all sessions)
  int64_t metrics_bytes = 0;     // length of metrics.jsonl when the state was saved
  int64_t last_validation_update = -1;
  std::string optimizer;  // "adam" | "sgd": the kind the "optimizer" section holds
  LrScheduleState lr;
  std::map<Metric, MetricRecord> metrics;  // validation history per metric
  LogWindow window;
  // Settings that decide the data order ("train.seed" -> "1"); a resume warns when they changed.
  std::map<std::string, std::string> data_order;
};

std::string training_state_to_yaml(const TrainingState& state);
// Strict: every key must be present with the right type. `source` names the text in errors.
TrainingState training_state_from_yaml(const std::string& text, const std::string& source);

bool operator==(const TrainingState& a, const TrainingState& b);

}  // namespace revnmt
