#pragma once
// Locked (variational) dropout: one mask per sequence and module, the same at every time
// step. Masks come from a counter-based RNG keyed by (seed, update, module), so the
// reverse sweep regenerates exactly the forward's mask instead of storing it.

#include <cstdint>

#include "nmt/core/philox.h"

namespace revnmt {

struct DropoutKey {
  uint64_t seed = 0;
  uint64_t update = 0;   // training step: a new mask per batch
  bool enabled = false;  // false: inference, no dropout
  // Row 0 of the masks is row `first_row` of the update's batch: a sub-batch of a split
  // batch (train.max_memory_mb) draws the masks its rows have in the whole batch.
  uint32_t first_row = 0;

  DropoutKey with_update(uint64_t u) const { return {seed, u, enabled, first_row}; }
};

// Module identifiers: each dropout site draws from its own stream.
enum class DropoutSite : uint32_t {
  source_embedding = 1,
  target_embedding = 2,
  encoder_between_layers = 16,  // + layer
  decoder_between_layers = 48,  // + layer
  query = 80,
  slice = 81,
};

inline uint32_t dropout_module_id(DropoutSite site, int layer = 0) {
  return static_cast<uint32_t>(site) + static_cast<uint32_t>(layer);
}

// mask[b * dim + j] = 0 or 1/(1-p); all ones (exactly 1) when disabled or p == 0.
void locked_dropout_mask(const DropoutKey& key, uint32_t module, float p, int rows, int dim,
                         float* mask);

}  // namespace revnmt
