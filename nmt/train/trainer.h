#pragma once
// The training loop behind `revnmt train RECIPE`: vocabulary (trained when missing), data,
// model, optimizer, schedule, clipping, validation, early stopping, checkpoints and logs,
// driven by a Recipe. Resuming is automatic: a Trainer built on a run directory that holds
// checkpoints continues from the newest valid one, at exactly the saved position, and ends
// with the same parameters as an uninterrupted run with the same thread count (data order
// is a function of (seed, epoch, position), dropout of (seed, update), and the optimizer,
// schedule and early-stopping state are restored exactly).

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "nmt/config/recipe.h"
#include "nmt/data/batcher.h"
#include "nmt/data/corpus.h"
#include "nmt/data/vocab.h"
#include "nmt/model/seq2seq.h"
#include "nmt/train/lr_schedule.h"
#include "nmt/train/memory_budget.h"
#include "nmt/train/optimizer.h"
#include "nmt/train/train_log.h"
#include "nmt/train/training_state.h"
#include "nmt/train/validator.h"

namespace revnmt {

struct TrainerOptions {
  bool echo = true;          // info lines on stderr too (warnings always); false = --quiet
  bool progress = true;      // a progress bar when stderr is a terminal
  bool use_signals = false;  // poll StopSignals after each update (the CLI installs them)
  // Test hook, run after each backward pass before the gradient is checked: it may change
  // the gradients of the update being attempted (1-based), e.g. to inject a NaN.
  std::function<void(int64_t update, Seq2Seq& model)> after_backward;
  // Test hook for train.max_memory_mb: the resident set size the memory budget sees
  // (default: measured from /proc), and whether it calibrates from measured peaks.
  std::function<int64_t()> resident_bytes;
  bool measure_memory_peaks = true;
};

// Consecutive non-finite updates after which training gives up.
constexpr int kMaxConsecutiveFaults = 5;

enum class StopReason {
  max_updates,     // train.max_updates reached
  max_epochs,      // train.max_epochs completed
  max_time,        // train.max_time_minutes used
  early_stopping,  // train.patience stalled validations
  lr_min,          // the learning rate fell below train.lr_min
  signal,          // SIGINT/SIGTERM or request_stop(): checkpoint written, resumable
  update_limit,    // train(n) applied its n updates: checkpoint written, resumable
};
const char* stop_reason_name(StopReason reason);

struct TrainResult {
  StopReason reason = StopReason::max_updates;
  bool finished = false;  // training is complete (model.rnmt written), not merely paused
  int64_t update = 0;
  std::string checkpoint;  // the newest checkpoint on disk
};

class Trainer {
 public:
  // Prepares the run directory, vocabulary, data and model, and resumes from the newest
  // valid checkpoint in recipe.run_dir if there is one. Throws InputError (one line naming
  // the file or key) for bad data, a run_dir that is not a directory, a run_dir in use by
  // another trainer, or a checkpoint of a different model.
  explicit Trainer(const Recipe& recipe, TrainerOptions options = {});
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // Trains until a stop condition holds, or until `max_new_updates` more updates were
  // applied (0 = no such limit). Stops at a signal or the update limit write a checkpoint
  // and can be resumed; finished runs also write model.rnmt. Throws InputError after
  // kMaxConsecutiveFaults non-finite updates in a row (the checkpoints on disk are left as
  // they were).
  TrainResult train(int64_t max_new_updates = 0);

  // Makes train() stop after the current update as if a SIGTERM had arrived.
  void request_stop() { stop_requested_ = true; }

  // Validates now and records the result (log lines, best model, schedule, early stopping).
  ValidationScores validate();
  // Writes a checkpoint of the current state; returns its path.
  std::string save_checkpoint();

  Seq2Seq& model() { return *model_; }
  const Seq2Seq& model() const { return *model_; }
  const TrainingState& state() const { return state_; }
  const Vocab& src_vocab() const { return *src_vocab_; }
  const Vocab& tgt_vocab() const { return *tgt_vocab_; }
  const Recipe& recipe() const { return recipe_; }
  const ParallelCorpus& train_corpus() const { return train_corpus_; }
  // The checkpoint this run resumed from ("" for a fresh run).
  const std::string& resumed_from() const { return resumed_from_; }
  // The rate of the next update.
  double next_lr() const { return scheduler_.lr(state_.update + 1); }

 private:
  class RunLock;

  void prepare_run_dir();
  void prepare_vocab();
  void prepare_data();
  void prepare_model();
  bool resume();
  void check_same_model(const ModelConfig& saved, const std::string& path) const;
  std::map<std::string, std::string> data_order() const;

  std::optional<StopReason> stop_condition(int64_t new_updates, int64_t max_new_updates) const;
  void run_batch();
  // train.max_memory_mb: the budget, checked against the process and the corpus.
  void prepare_memory_budget();
  // One forward/backward of `batch`, split into sub-batches when the budget requires it.
  StepResult budgeted_train_step(const Batch& batch, int64_t update, float scale,
                                 std::string& fault);
  // "the training pair at line N of SRC / TGT (S + T subword tokens)"
  std::string describe_pair(int64_t index) const;
  void fault(int64_t update, const std::string& why, const Batch& batch);
  void after_batch(bool applied);
  void end_epoch();
  void log_progress_line();
  void log_valid(Metric metric, const ValidationScores& scores, bool new_best,
                 const MetricRecord& record);
  void show_progress();
  TrainResult train_loop(int64_t max_new_updates);
  void finish(StopReason reason, int64_t new_updates);
  std::string stop_message(StopReason reason) const;
  double elapsed() const;

  Recipe recipe_;
  TrainerOptions options_;
  std::string run_dir_;
  std::unique_ptr<RunLock> lock_;
  std::unique_ptr<TrainLog> log_;
  std::optional<Vocab> src_vocab_, tgt_vocab_;  // set once by prepare_vocab()
  ParallelCorpus train_corpus_;
  std::unique_ptr<Batcher> batcher_;
  std::unique_ptr<Validator> validator_;
  std::unique_ptr<Seq2Seq> model_;
  std::unique_ptr<ParameterOptimizer> optimizer_;
  std::unique_ptr<MemoryBudget> budget_;  // set when train.max_memory_mb > 0
  int64_t split_batches_ = 0;             // this session's batches run as sub-batches
  int64_t sub_batches_ = 0;               // and how many sub-batches they made
  LrScheduler scheduler_;
  std::set<Metric> valid_metrics_;  // computed at each validation
  TrainingState state_;
  std::string resumed_from_;
  std::vector<std::string> trained_vocabs_;  // vocabulary files this run created
  bool dirty_ = true;                        // the state changed since the last checkpoint
  std::string last_checkpoint_;

  BatchPlan plan_;
  int64_t plan_epoch_ = 0;
  double session_start_ = 0.0;  // monotonic seconds when this session's clock started
  double elapsed_at_start_ = 0.0;
  double last_lr_ = 0.0;
  double last_grad_norm_ = 0.0;
  double session_batch_seconds_ = 0.0;
  int64_t session_batches_ = 0;
  std::atomic<bool> stop_requested_{false};
};

}  // namespace revnmt
