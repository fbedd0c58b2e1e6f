#pragma once
// train.max_memory_mb: keep training's memory under a cap by running a batch that would
// exceed it as sub-batches with gradient accumulation, instead of letting the operating
// system's OOM killer end the run.
//
// The model. A training step's memory is modelled from the model's configuration and the
// batch's padded shape, part by part (StepMemory): the stacks' tapes — for a reversible
// stack an upper bound (the information buffers' words plus the spill words of forget
// multipliers at their limit of max_forget_bits lost bits per multiplication, the kept
// slices and final states), for a standard stack its stored states and gates — which are
// freed after the step; the attention context and its gradient, the attention and
// generator block buffers and the stacks' per-chunk sweep buffers, which the model keeps
// allocated from step to step (they only grow); and the decoder's per-chunk query buffers
// and attention tape, made and freed within the step. Parameters, gradients and optimizer
// moments (ModelMemory) do not depend on the batch.
//
// The check. Before each batch the budget reads the process's resident set (/proc/self/
// statm): parameters, gradients, moments, data, vocabularies, libraries, and the kept
// buffers of earlier batches. A step adds at most its tapes and step-local buffers plus,
// for each kept part that must outgrow the largest size it had (old), the new allocation
// made before the old one is freed, max(2 × old, new) (a std::vector at least doubles):
//   resident + tapes × tape_factor + locals + Σ growing kept parts + margin <= cap.
// When the process holds freed memory (glibc keeps it), the check first returns it to the
// system (malloc_trim) and measures again.
//
// Calibration. After every (sub-)step the budget compares the model with what happened:
// each stack's tape as the model reports it (StepResult ledgers) against the tape bound,
// which scales later tapes when exceeded (it never was in the tests), and the process's
// peak resident set during the step (VmHWM, reset through /proc/self/clear_refs before the
// step) against the resident set before it plus the estimate; what the model missed (new
// matrix shapes' JIT-compiled kernels, for one) becomes a margin added to later estimates.
//
// The start. The trainer runs one step on its shortest pair (gradients discarded) before
// measuring, so the first step's one-time costs (JIT-compiled kernels, thread pools, code
// pages) are in the resident set; it then refuses a cap below the resident set and any
// training pair that cannot fit on its own, at once rather than hours later.
//
// The plan. A batch runs whole when it fits. Otherwise its rows (sorted by decreasing source
// length) are cut greedily into runs of consecutive rows, each as long as fits given the
// runs before it; each run is a padded batch of its own. When a single row does not fit,
// training stops with an InputError naming the sentence pair.
//
// The split update equals the unsplit one up to the order of float summation: every
// sub-batch scales its loss by 1/(target tokens of the whole batch) and accumulates into the
// same gradients, and its dropout masks are those of its rows' places in the whole batch
// (DropoutKey::first_row), so every sentence goes through exactly the computation it would
// have had unsplit (rows never interact, and the model is batch-invariant row by row); only
// the sums over rows inside the weight-gradient products are grouped differently. Since the
// split depends on measured memory, a run that splits batches resumes up to that summation
// order too, not bit for bit.

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "nmt/config/model_config.h"
#include "nmt/data/batch.h"

namespace revnmt {

struct StepResult;

// The padded shape of a (sub-)batch.
struct BatchShape {
  int rows = 0;
  int src_steps = 0;  // longest source incl. EOS
  int tgt_steps = 0;  // longest target + 1
};

// Bytes of one training step, by part.
struct StepMemory {
  // Freed when the step ends.
  int64_t encoder_tape = 0;  // what the encoder's forward keeps for its backward (bound)
  int64_t decoder_tape = 0;
  int64_t local = 0;  // the decoder chunk's query buffers and attention tape, the batch
  // Kept by the model from step to step, grown to the largest step so far.
  int64_t context = 0;        // attention context values and gradient, and their scratch
  int64_t output_block = 0;   // attention backward scratch, generator block buffers
  int64_t encoder_sweep = 0;  // the encoder's per-chunk sweep buffers and dropout masks
  int64_t decoder_sweep = 0;

  int64_t tape() const { return encoder_tape + decoder_tape; }
  int64_t kept() const { return context + output_block + encoder_sweep + decoder_sweep; }
  int64_t total() const { return tape() + local + kept(); }
};

// Bytes that do not depend on the batch.
struct ModelMemory {
  int64_t parameters = 0;
  int64_t gradients = 0;
  int64_t optimizer = 0;  // Adam's two moments, nothing for SGD
  int64_t total() const { return parameters + gradients + optimizer; }
};

class MemoryModel {
 public:
  // `parameters`: the model's parameter count; `moments`: optimizer values per parameter.
  MemoryModel(const ModelConfig& config, int tgt_vocab, int chunk_steps, int64_t parameters,
              int moments);
  ModelMemory model() const { return model_; }
  StepMemory step(const BatchShape& shape) const;
  // The tape one stack keeps for rows × steps (an upper bound for reversible stacks).
  int64_t tape_bound(bool encoder, int rows, int steps) const;

 private:
  int64_t sweep(int rows, int steps) const;

  ModelConfig config_;
  int tgt_vocab_;
  int chunk_steps_;
  ModelMemory model_;
};

// Linux process memory, in bytes (0 when /proc cannot tell).
int64_t resident_bytes();       // VmRSS now
int64_t peak_resident_bytes();  // VmHWM: the peak since the start or the last reset
bool reset_peak_resident();     // false when /proc/self/clear_refs is not writable

// The shape of rows [begin, end) of a batch (rows keep the batch's order).
BatchShape shape_of_rows(const Batch& batch, int begin, int end);

class MemoryBudget {
 public:
  struct Options {
    int64_t cap_bytes = 0;
    // The resident set before a batch; tests substitute their own figure.
    std::function<int64_t()> resident = resident_bytes;
    // Calibrate from each step's measured peak (VmHWM); off where that figure means nothing.
    bool measure_peaks = true;
  };

  MemoryBudget(MemoryModel model, Options options);

  const MemoryModel& model() const { return model_; }
  int64_t cap_bytes() const { return options_.cap_bytes; }
  int64_t resident() const { return options_.resident(); }
  double tape_factor() const { return tape_factor_; }
  int64_t margin() const { return margin_; }
  // The largest resident set measured during a step (0 when steps' peaks are not measured).
  int64_t largest_peak() const { return largest_peak_; }

  // The bytes a step of `shape` adds to the resident set, given the kept buffers'
  // current sizes (all of it for a fresh process: `fresh`).
  int64_t estimate(const BatchShape& shape, bool fresh = false) const;

  // Row ranges [begin, end) of `batch` to run one after the other: one range (the whole
  // batch) when it fits. Throws InputError when a single row cannot fit; `describe_row`
  // names that row's sentence pair in the message.
  std::vector<std::pair<int, int>> plan(const Batch& batch,
                                        const std::function<std::string(int row)>& describe_row);
  // Throws the InputError of plan() unless a fresh step of `shape` fits beside `resident`.
  void require_fits(const BatchShape& shape, int64_t resident, const std::string& what) const;

  // Bracket one (sub-)step: calibration and the kept buffers' sizes.
  void before_step();
  void after_step(const BatchShape& shape, const StepResult& result);

 private:
  struct Kept {
    int64_t context = 0, output_block = 0, encoder_sweep = 0, decoder_sweep = 0;
    // Bytes the kept parts grow by for `m`; updates the sizes.
    int64_t grow(const StepMemory& m);
  };
  int64_t estimate(const StepMemory& m, Kept kept) const;
  [[noreturn]] void refuse(int64_t needed, int64_t resident, const std::string& what) const;

  MemoryModel model_;
  Options options_;
  Kept kept_;
  double tape_factor_ = 1.0;
  int64_t margin_ = 0;
  int64_t resident_before_ = 0;
  int64_t largest_peak_ = 0;
  bool peaks_ = false;  // VmHWM can be reset, so a step's peak can be measured
};

}  // namespace revnmt
