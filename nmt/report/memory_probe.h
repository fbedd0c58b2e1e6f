#pragma once
// The measurement behind `revnmt memory`: training forward passes (dropout on, the same
// dropout keys as training) over the first N batches of a recipe's first epoch, for the
// recipe's model and for the same model with standard cells, summing their memory ledgers.

#include <string>

#include "nmt/config/recipe.h"
#include "nmt/report/memory_report.h"
#include "nmt/train/run_setup.h"

namespace revnmt::report {

struct MemoryProbeOptions {
  int batches = 10;        // the first N batches of epoch 1 (fewer if the epoch is shorter)
  std::string model_path;  // parameters from this model file; "" = initialized from train.seed
  // Context of the standard-cell model: false = `hidden` (attention over the whole top-layer
  // output, as the standard baseline recipes use), true = the recipe's own context.
  bool standard_same_context = false;
};

// The standard-cell counterpart of `model`: revgru -> gru, revlstm -> lstm (standard cells
// stay), every other key the same except the context as described above.
ModelConfig standard_counterpart(const ModelConfig& model, bool same_context);

// A one-line description of a model: "revgru, 1 layer, emb 300, hidden 300, context ...".
std::string describe_model(const ModelConfig& model);

// Missing vocabularies are trained into a temporary directory (and then discarded), so the
// run directory is never written; `info` gets the progress lines. Throws InputError for
// unreadable data, a model file whose model differs from the recipe's, or N < 1.
MemoryReport measure_memory(const Recipe& recipe, const MemoryProbeOptions& options,
                            const InfoSink& info);

}  // namespace revnmt::report
