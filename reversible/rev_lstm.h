#pragma once
// RevLSTM (REVERSIBLE.md §1.3). The state is [h1 | h2 | c1 | c2] (G = H/2 units each).
// Half k's gates come from the input and the other half's h (half 1: old h2; half 2:
// new h1); then
//   c_k ← FM(c_k, Qz(z_k)) + Qh(f_k ⊙ g_k)
//   h_k ← FM(h_k, Qz(p_k)) + Qh(o_k ⊙ tanh(F(c_k)))     (h is a leaky integrator)
// with z_k, p_k forget multipliers squashed by m_f. Pre-activation columns of each half:
// [z | g | f | o | p]. Parameters: Wx [I, 5H] (half 1's 5G columns, then half 2's),
// bx [5H], U1/U2 [G, 5G].

#include "reversible/rev_layer.h"

namespace revnmt {

class RevLstmLayer : public RevLayer {
 public:
  RevLstmLayer(ParameterSet& params, const std::string& scope, const RevLayerConfig& config);

  int state_width() const override { return 2 * config_.hidden_size; }
  int cache_width() const override { return 18 * half(); }

  void step_forward(const float* p, const uint8_t* active, int rows, int64_t* state,
                    Multiplier mode, const StepBuffers& buffers) override;
  void step_reverse(const float* p, const uint8_t* active, int rows, int64_t* state,
                    Multiplier mode, const StepBuffers& buffers, float* cache) override;
  void step_recompute(const float* p, const uint8_t* active, int rows, const int64_t* before,
                      const int64_t* after, Multiplier mode, float* cache) override;
  void step_backward(const float* cache, const uint8_t* active, int rows, Multiplier mode,
                     float* d_state, float* dp) override;
  void pack_recurrent(bool transposed) override;
  void accumulate_recurrent_grads(const float* cache, const float* dp, int rows) override;

 private:
  // Cache layout per row, per half k (offset k·9G): o = F(other h), sigmoids/tanh of the
  // five gates, F(c) and F(h) before the step, tc = tanh(F(c after the step)).
  enum Slot { kO = 0, kSz, kG, kF, kOut, kSp, kCOld, kHOld, kTc };
  static constexpr int kSlots = 9;
  float* slot(float* cache, int k, Slot s) const { return cache + (k * kSlots + s) * half(); }
  const float* slot(const float* cache, int k, Slot s) const {
    return cache + (k * kSlots + s) * half();
  }
  int64_t* h_of(int64_t* state, int k) const { return state + k * half(); }
  int64_t* c_of(int64_t* state, int k) const { return state + (2 + k) * half(); }

  void compute_half(int k, const float* p, const int64_t* other_h, int rows, float* cache);
  // Forget multiplication of one variable (h or c of half k) in the given mode.
  void multiply(int64_t* self, const int32_t* z_fixed, const float* s, const uint8_t* active,
                int rows, Multiplier mode, const StepBuffers& buffers, int slice);
  void forward_half(int k, const uint8_t* active, int rows, int64_t* state, float* cache,
                    Multiplier mode, const StepBuffers& buffers);
  void reverse_half(int k, const uint8_t* active, int rows, int64_t* state, float* cache,
                    Multiplier mode, const StepBuffers& buffers);
  void backward_half(int k, const float* cache, const uint8_t* active, int rows, Multiplier mode,
                     float* d_state, float* dp);

  Parameter* u_[2];                           // [G, 5G]
  PackedMatrix u_packed_[2], u_t_packed_[2];  // bf16: U_k and U_kᵀ (pack_recurrent())
};

}  // namespace revnmt
