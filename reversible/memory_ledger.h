#pragma once
// What a training forward pass keeps for the backward pass, in the paper's terms
// (REVERSIBLE.md §5) and in real bytes.

#include <cstdint>

namespace revnmt {

struct MemoryLedger {
  // Storing one float32 per hidden unit (and cell unit for LSTMs) per padded step and
  // row: Σ_layers 32·T·B·H (×2 for LSTM) — the paper's baseline.
  double baseline_bits = 0;
  // What is actually held: buffer state words + spilled words as allocated, stored
  // slices/states, final states.
  double held_bits = 0;
  // Σ −log2 max(z, 2^-10) over active (unmasked) buffered units (z below 2^-10 cannot
  // destroy more than the 10 bits a step shifts out), plus the bits of what must be
  // stored verbatim (slices/states): the information-theoretic minimum.
  double optimal_bits = 0;
  // Real bytes kept between forward and backward (allocated storage of everything above
  // plus any other per-batch storage, e.g. a standard stack's activations).
  int64_t held_bytes = 0;

  // Breakdown of held_bits.
  double buffer_bits = 0;  // state words + spilled words (allocated)
  double stored_bits = 0;  // slices or full states kept verbatim
  double final_state_bits = 0;

  MemoryLedger& operator+=(const MemoryLedger& o) {
    baseline_bits += o.baseline_bits;
    held_bits += o.held_bits;
    optimal_bits += o.optimal_bits;
    held_bytes += o.held_bytes;
    buffer_bits += o.buffer_bits;
    stored_bits += o.stored_bits;
    final_state_bits += o.final_state_bits;
    return *this;
  }
  double actual_ratio() const { return held_bits > 0 ? baseline_bits / held_bits : 0; }
  double optimal_ratio() const { return optimal_bits > 0 ? baseline_bits / optimal_bits : 0; }
};

}  // namespace revnmt
