#pragma once
// RevGRU (REVERSIBLE.md §1.2). The state [h1 | h2] (G = H/2 units each) is updated in two
// coupled halves: h1 from the input and the old h2, then h2 from the input and the new
// h1, so each half can be undone from the other:
//   [z_k ; r_k] = sigmoid(W_x,zr x + U_zr,k F(other) + b),  z_k ← m_f·z_k + 1 − m_f
//   g_k = tanh(W_x,g x + U_g,k (r_k ⊙ F(other)) + b)
//   self ← FM(self, Qz(z_k)) + Qh((1 − z_k) ⊙ g_k)       (FM: multiply by Z/1024)
// Parameters: Wx [I, 3H] with columns [zr1 | g1 | zr2 | g2] (input part, all halves in one
// projection), bx [3H], U_zr1/U_zr2 [G, 2G], U_g1/U_g2 [G, G].

#include "reversible/rev_layer.h"

namespace revnmt {

class RevGruLayer : public RevLayer {
 public:
  RevGruLayer(ParameterSet& params, const std::string& scope, const RevLayerConfig& config);

  int state_width() const override { return config_.hidden_size; }
  int cache_width() const override { return 12 * half(); }

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
  // Cache layout per row: for each half k (offset k·6G): o = F(other), s_z = sigmoid of
  // the z pre-activation, r, g, old = F(self before the step), rh = r ⊙ o.
  enum Slot { kO = 0, kSz = 1, kR = 2, kG = 3, kOld = 4, kRh = 5 };
  float* slot(float* cache, int k, Slot s) const { return cache + (k * 6 + s) * half(); }
  const float* slot(const float* cache, int k, Slot s) const {
    return cache + (k * 6 + s) * half();
  }
  // Gates of half k (0 or 1) from the other half's state; fills the cache slots kO..kRh
  // except kOld, and the thread's z_fixed/update for the state update.
  void compute_half(int k, const float* p, const int64_t* other, int rows, float* cache);
  // Applies the forward update of half k to `self` (ld = H); `slice` unbuffered units.
  void apply_half(int k, const uint8_t* active, int rows, int64_t* self, const float* cache,
                  Multiplier mode, const StepBuffers& buffers, int slice);
  // self [rows, G] (ld H) ± update on active rows: the forward adds, the reverse subtracts.
  void add_update(const uint8_t* active, int rows, int64_t* self, bool subtract) const;
  void undo_half(int k, const uint8_t* active, int rows, int64_t* self, Multiplier mode,
                 const StepBuffers& buffers, int slice, const int64_t* slice_before);
  void backward_half(int k, const float* cache, const uint8_t* active, int rows, Multiplier mode,
                     float* d_self, float* d_other, float* dp);
  // The cache's kOld slots of both halves from the states before the step [rows, H].
  void keep_old_states(const int64_t* before, int rows, float* cache) const;

  Parameter* u_zr_[2];  // [G, 2G]
  Parameter* u_g_[2];   // [G, G]
  // bf16: U_zr, U_g packed, and their transposes (pack_recurrent()).
  PackedMatrix u_zr_packed_[2], u_g_packed_[2], u_zr_t_packed_[2], u_g_t_packed_[2];
};

}  // namespace revnmt
