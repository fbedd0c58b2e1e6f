#pragma once
// What `revnmt memory` measures: the memory ledger of a recipe's model over its first
// training batches, next to the real bytes the same model with standard cells keeps, as a
// text table and as JSON (memory.json, which `revnmt report` reads back).

#include <cstdint>
#include <string>

#include "nmt/report/json.h"
#include "reversible/memory_ledger.h"

namespace revnmt::report {

// One of encoder / decoder, summed over the measured batches.
struct StackMemory {
  MemoryLedger ledger;              // this model
  int64_t standard_held_bytes = 0;  // the standard-cell model on the same batches

  // The paper's "used bits" leave the final states out (REVERSIBLE.md §5).
  double held_bits_without_final_states() const {
    return ledger.held_bits - ledger.final_state_bits;
  }
  double paper_actual_ratio() const;  // baseline / held without final states
  double bytes_ratio() const;         // standard bytes / this model's bytes
};

struct ModelSummary {
  std::string cell, context;
  std::string
      description;  // "revgru, 1 layer, emb 300, hidden 300, context slice_emb (slice 20), ..."
};

struct MemoryReport {
  std::string recipe;      // the recipe file
  std::string parameters;  // where the parameters came from
  ModelSummary model, standard;
  std::string standard_context_rule;  // why the standard model has its context
  int batches = 0;
  int64_t sentences = 0, source_tokens = 0, target_tokens = 0;
  StackMemory encoder, decoder;
  // Whole model: both stacks + the batch's token ids, summed over the batches.
  int64_t held_bytes = 0, standard_held_bytes = 0;
  // The largest single batch, whole model (what a training step actually peaks at).
  int64_t peak_held_bytes = 0, standard_peak_held_bytes = 0;

  double bytes_ratio() const;
  double peak_bytes_ratio() const;
};

// One JSON object (one line) with every figure above plus the derived ratios.
std::string memory_report_json(const MemoryReport& report);
// The table `revnmt memory` prints.
std::string memory_report_text(const MemoryReport& report);
// Reads what memory_report_json wrote. Throws InputError naming `source` when it is not a
// memory report (missing "encoder"/"decoder" objects).
MemoryReport memory_report_from_json(const JsonValue& json, const std::string& source);

}  // namespace revnmt::report
