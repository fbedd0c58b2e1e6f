#pragma once
// The interface the sequence-to-sequence model uses for its encoder and decoder stacks,
// implemented by the reversible stack (reversible/rev_stack.h) and by the standard
// GRU/LSTM stacks (nmt/model). It is shaped by reversal:
//
// * forward() keeps whatever its backward needs — for a reversible stack only final
//   states, bit-buffers and requested slices; for a standard stack every activation;
// * backward() walks time in reverse in chunks of steps. For each chunk it recovers the
//   top layer's outputs (by exact reversal, or from storage), hands them to an
//   OutputGradient that returns d(loss)/d(outputs) for that chunk (the decoder's
//   attention and generator, the encoder's slice gradients), backpropagates the chunk
//   through the layers, and passes the input gradients to the StackInput.
//
// Nothing of size T×B×V or T×B×H has to exist at once for a reversible model.
// All per-step tensors are time-major: row (t - t0) * B + b.

#include <cstdint>

#include "nmt/core/dropout.h"
#include "nmt/core/tensor.h"
#include "reversible/memory_ledger.h"

namespace revnmt {

// The layer-0 inputs of a batch of sequences (embeddings after dropout), recomputable.
class StackInput {
 public:
  virtual ~StackInput() = default;
  virtual int size() const = 0;
  // out: [(t1 - t0) * rows, size()]. Must produce identical bits on every call.
  virtual void fill(int t0, int t1, float* out) = 0;
  // d: [(t1 - t0) * rows, size()] = d(loss)/d(inputs of steps t0..t1-1).
  virtual void backward(int t0, int t1, const float* d) = 0;
};

// The consumer of the top layer's outputs during the backward sweep.
class OutputGradient {
 public:
  virtual ~OutputGradient() = default;
  // top: [(t1 - t0) * rows, H] top-layer outputs after steps t0..t1-1 (before any
  // dropout of the consumer). d_top: same shape, zero on entry; add d(loss)/d(top).
  virtual void backward(int t0, int t1, const float* top, float* d_top) = 0;
};

struct SequenceShape {
  int steps = 0;                     // T (padded)
  int rows = 0;                      // B
  const int32_t* lengths = nullptr;  // [B]; row b is active at step t iff t < lengths[b]
};

class RecurrentStack {
 public:
  virtual ~RecurrentStack() = default;

  virtual int layers() const = 0;
  virtual int input_size() const = 0;
  virtual int hidden_size() const = 0;    // width of a step's output (H)
  virtual int state_width() const = 0;    // per layer and row: H (GRU) or 2H (LSTM, h then c)
  virtual DType state_dtype() const = 0;  // i64 fixed point (reversible) or f32

  // --- training ---
  // Runs all steps; `init`: [layers, rows, state_width] of state_dtype(), or null for zeros.
  virtual void forward(const SequenceShape& shape, StackInput& input, const Tensor* init,
                       const DropoutKey& dropout) = 0;
  // [layers, rows, state_width] after forward(), until compact().
  virtual const Tensor& final_state() const = 0;
  // Called once what forward() produced has been read (the decoder has copied the
  // encoder's final state): shrink what is kept until backward(). A reversible stack packs
  // its final states into 32 bits when every value fits (checked, never wrapped).
  virtual void compact() {}
  // The first `width` units of the top layer's output after every step, as kept by
  // forward(): out [steps, rows, width]. Valid only for widths the stack was told to keep.
  virtual void kept_outputs(int width, float* out) const = 0;
  // The backward sweep (see above). d_final: [layers, rows, state_width] f32 or null
  // (zero); d_init, if not null, receives d(loss)/d(init) in the same layout. Parameter
  // gradients are accumulated into the parameters' grad tensors.
  virtual void backward(StackInput& input, OutputGradient& consumer, const Tensor* d_final,
                        Tensor* d_init) = 0;
  // What forward() kept, in bits and bytes (valid between forward and backward).
  virtual MemoryLedger ledger() const = 0;

  // --- inference (no dropout, nothing kept) ---
  // Runs all steps from `state` ([layers, rows, state_width], updated in place) and
  // writes the top outputs [steps, rows, H] if `top` is not null.
  virtual void infer(const SequenceShape& shape, StackInput& input, Tensor& state, float* top) = 0;
  // One step for all rows: x [rows, input_size()], top [rows, H].
  virtual void infer_step(const float* x, int rows, Tensor& state, float* top) = 0;
};

}  // namespace revnmt
