#pragma once
// One layer of a reversible stack: the per-step forward, exact reverse, gate recompute
// and backward of a RevGRU or RevLSTM (REVERSIBLE.md §1), on fixed-point states.
//
// A step's gates are computed by one function shared by forward, reverse and recompute,
// from bit-identical inputs, so the reverse pass sees exactly the forward's gates
// (pitfall P3). The reverse pass also records the gates it computed (the "cache") so that
// the backward step uses the exact intermediates of the forward (pitfall P5): reversal
// gradients equal store-everything backprop through the same fixed-point forward.
//
// Gradient convention (REVERSIBLE.md §4.3, P17): a forget multiplication h·Z/1024 is
// differentiated as (Z/1024)·h with respect to h and as F(h) with respect to z
// (straight-through quantization).

#include <cstdint>
#include <string>
#include <vector>

#include "nmt/core/matmul.h"
#include "nmt/core/params.h"
#include "reversible/info_buffer.h"

namespace revnmt {

// How a layer's forget multiplications are carried out.
enum class Multiplier {
  buffered,  // exact, lost bits go to the information buffers (training)
  lossy,     // floor(h/1024)·Z, nothing kept (inference, or a layer whose states are stored)
  smooth,    // h·z in real arithmetic, no quantization of z: only for finite-difference
             // gradient checks (not reversible)
  none,      // no forgetting (NF-RevGRU/NF-RevLSTM): z is 1 in the multiplication
};

struct RevLayerConfig {
  int input_size = 0;
  int hidden_size = 0;        // H; each half has G = H/2 units
  float max_forget = 0.875f;  // m_f: z = m_f·sigmoid(a) + 1 - m_f
  // Arithmetic of the input projection x·Wx and its gradients, and of the recurrent
  // products of the steps (pack_recurrent()). Forward, reverse and recompute all compute
  // through the same functions, so reversal stays exact in either.
  Precision precision = Precision::fp32;
};

// Where a buffered step puts its bits, for the rows it is given: their words of the
// layer's buffer ([rows, G], shared by all the layer's state variables) and the spill
// stack of their row block. `slice` leading units of h1 are not buffered (kept verbatim by
// the stack for attention).
struct StepBuffers {
  uint32_t* words = nullptr;
  SpillStack* spill = nullptr;
  int slice = 0;
  // Reverse only: the slice units' values before the step ([rows, slice]), restored
  // verbatim because the forward multiplied them lossily.
  const int64_t* slice_before = nullptr;
  // Forward only, when not null: per row [rows], += Σ −log2 z over the row's buffered
  // units (per row, so that the total does not depend on how rows are split).
  double* optimal_bits = nullptr;
};

class RevLayer {
 public:
  RevLayer(ParameterSet& params, const std::string& scope, const RevLayerConfig& config,
           int projection_width);
  virtual ~RevLayer() = default;

  int input_size() const { return config_.input_size; }
  int hidden_size() const { return config_.hidden_size; }
  int half() const { return config_.hidden_size / 2; }
  int projection_width() const { return projection_width_; }
  virtual int state_width() const = 0;
  // Floats per row of one step's backward cache.
  virtual int cache_width() const = 0;

  // p[rows, projection_width] = x[rows, input_size]·Wx + bx, for all steps of a chunk.
  void project(const float* x, int rows, float* p) const;

  // One step on state [rows, state_width]; rows with active[b] == 0 are untouched.
  //
  // Every step function works on the rows it is given and nothing else, so a stack may
  // run blocks of rows on different threads at once (their scratch is per thread).
  virtual void step_forward(const float* p, const uint8_t* active, int rows, int64_t* state,
                            Multiplier mode, const StepBuffers& buffers) = 0;
  // Exact inverse of a buffered (or no-forgetting) forward step: state after -> before,
  // filling cache [rows, cache_width].
  virtual void step_reverse(const float* p, const uint8_t* active, int rows, int64_t* state,
                            Multiplier mode, const StepBuffers& buffers, float* cache) = 0;
  // The forward step's cache, recomputed from the states before and after the step
  // (layers whose states are stored rather than reversed).
  virtual void step_recompute(const float* p, const uint8_t* active, int rows,
                              const int64_t* before, const int64_t* after, Multiplier mode,
                              float* cache) = 0;
  // Backpropagates one step: d_state [rows, state_width] holds d/d(state after) on entry
  // and d/d(state before) on exit; dp [rows, projection_width] receives d/d(projection).
  virtual void step_backward(const float* cache, const uint8_t* active, int rows, Multiplier mode,
                             float* d_state, float* dp) = 0;
  // bf16 layers: packs the recurrent weights (rounded once) for the steps that follow, and
  // with `transposed` also their transposes for step_backward. Call before a sweep of
  // steps whenever the weights may have changed; fp32 layers multiply the plain weights.
  virtual void pack_recurrent(bool transposed) = 0;
  // Recurrent weight gradients of n steps at once from their caches and dp.
  virtual void accumulate_recurrent_grads(const float* cache, const float* dp, int rows) = 0;

  // Input weight gradients (dWx += xᵀ·dp, dbx += Σ dp) and dx = dp·Wxᵀ for a chunk.
  void backward_projection(const float* x, const float* dp, int rows, float* dx);

 protected:
  // z = m_f·s + 1 - m_f from s = sigmoid(a), identically wherever it is needed. A value,
  // so that row-parallel passes capture two floats rather than the layer.
  struct ForgetMap {
    float scale, offset;
    float operator()(float s) const { return scale * s + offset; }
  };
  ForgetMap forget_map() const { return {max_forget_, one_minus_max_forget_}; }
  float forget_from_sigmoid(float s) const { return forget_map()(s); }
  // optimal[b] += Σ −log2 max(z, kMinForget) over units [slice, G) of active rows, z from
  // the sigmoids s [rows, G] (leading dimension ld).
  void add_optimal_bits(const float* s, int64_t ld, const uint8_t* active, int rows, int slice,
                        double* optimal) const;
  float max_forget() const { return max_forget_; }

  RevLayerConfig config_;
  int projection_width_;
  Parameter& wx_;  // [input_size, projection_width]
  Parameter& bx_;  // [projection_width]

 private:
  float max_forget_;
  float one_minus_max_forget_;
};

// The smallest multiplier the fixed-point arithmetic realizes (Z >= 1): the optimal-bits
// figure counts −log2 max(z, 1/1024), the information a step can actually destroy.
constexpr float kMinForget = 1.0f / 1024.0f;

// Throws RangeError when an active state value leaves ±kStateLimit (see fixed_point.h).
void check_state_range(const int64_t* h, int64_t ld, int rows, int units, const uint8_t* active,
                       const char* what);

}  // namespace revnmt
