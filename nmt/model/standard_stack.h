#pragma once
// The standard (non-reversible) GRU and LSTM stacks: the baselines revnmt's reversible
// stacks are compared against, implementing the same RecurrentStack interface.
//
// GRU is PyTorch's formulation (so a PyTorch model is the identical model):
//   r = σ(x W_xr + b_xr + h W_hr + b_hr),  z = σ(x W_xz + b_xz + h W_hz + b_hz)
//   n = tanh(x W_xn + b_xn + r ⊙ (h W_hn + b_hn)),  h' = (1 − z) ⊙ n + z ⊙ h
// LSTM is the standard one: [i f g o] = [σ σ tanh σ](x W_x + b_x + h W_h),
//   c' = f ⊙ c + i ⊙ g,  h' = o ⊙ tanh(c').
// Parameters per layer l, under `scope/layer<l>/`: Wx [I, G·H], bx [G·H], Wh [H, G·H],
// and for the GRU bh [3H]; G = 3 (GRU, columns r z n) or 4 (LSTM, columns i f g o).
// State per layer and row: [h] (GRU) or [h | c] (LSTM), f32.
//
// Computation (DEPENDENCIES.md §4): per chunk of steps one input-projection matmul, then
// per step one recurrent matmul and one fused elementwise pass. Training forward keeps
// every layer's state before and after each step and each step's gate activations; the
// backward sweep runs chunks newest first, per step one elementwise pass and one
// d(gates)·Whᵀ matmul, per chunk the weight gradients and the input gradient as single
// batched matmuls over all of the chunk's steps.
//
// Rows with t >= lengths[b] keep their state at step t. Inference is batch invariant:
// oneDNN matmuls are row-invariant and the elementwise code is per row with vmath.

#include <cstdint>
#include <string>
#include <vector>

#include "nmt/core/matmul.h"
#include "nmt/core/parallel.h"
#include "nmt/core/params.h"
#include "reversible/recurrent_stack.h"

namespace revnmt {

enum class StandardCell { gru, lstm };

struct StandardStackConfig {
  StandardCell cell = StandardCell::gru;
  int layers = 1;
  int input_size = 0;
  int hidden_size = 0;
  float dropout_hidden = 0.0f;  // locked dropout between layers
  uint32_t dropout_module = 0;  // base id of this stack's dropout streams (+ layer)
  int chunk_steps = 16;
  // Arithmetic of the input projections (x·Wx and its gradients) and of the recurrent
  // products h·Wh and d(gates)·Whᵀ (bf16: weights packed once per sweep; the weight
  // gradients accumulate in fp32 products).
  Precision precision = Precision::fp32;
};

// A stack's weights packed for inference steps (decoding): Wx and Wh per layer in the
// stack's precision. Pack again after the weights change.
struct PackedStack {
  std::vector<PackedMatrix> wx, wh;
};

class StandardStack : public RecurrentStack {
 public:
  StandardStack(ParameterSet& params, const std::string& scope, const StandardStackConfig& config);

  int layers() const override { return config_.layers; }
  int input_size() const override { return config_.input_size; }
  int hidden_size() const override { return config_.hidden_size; }
  int state_width() const override {
    return config_.cell == StandardCell::lstm ? 2 * config_.hidden_size : config_.hidden_size;
  }
  DType state_dtype() const override { return DType::f32; }
  const StandardStackConfig& config() const { return config_; }
  // Columns of the projections: 3H (GRU) or 4H (LSTM).
  int gate_width() const {
    return (config_.cell == StandardCell::lstm ? 4 : 3) * config_.hidden_size;
  }
  // Floats per row of one step's stored gates: GRU r, z, n, h·W_hn + b_hn; LSTM i, f, g, o.
  int stored_gate_width() const { return 4 * config_.hidden_size; }

  void forward(const SequenceShape& shape, StackInput& input, const Tensor* init,
               const DropoutKey& dropout) override;
  const Tensor& final_state() const override { return final_state_; }
  void kept_outputs(int width, float* out) const override;
  void backward(StackInput& input, OutputGradient& consumer, const Tensor* d_final,
                Tensor* d_init) override;
  MemoryLedger ledger() const override;

  void infer(const SequenceShape& shape, StackInput& input, Tensor& state, float* top) override;
  void infer_step(const float* x, int rows, Tensor& state, float* top) override {
    infer_step(x, rows, state, top, nullptr);
  }
  // The same multiplying by packed weights (from pack()) when `packed` is not null; with
  // `first_projection` [rows, G·H] (project_input of x, possibly computed earlier), the
  // first layer reads it instead of multiplying x (which is then not read).
  void infer_step(const float* x, int rows, Tensor& state, float* top, const PackedStack* packed,
                  const float* first_projection = nullptr);
  void pack(PackedStack& packed) const;
  // The first layer's input projection p [rows, G·H] = x [rows, I] · Wx, multiplied as
  // infer_step multiplies it with `packed`; each row depends only on its own x row.
  void project_input(const float* x, int rows, float* p, const PackedStack& packed) const;

  // What forward() stored for a layer (valid until backward() frees it): the states
  // [steps + 1, rows, state_width] (index t = before step t) and the gates
  // [steps, rows, stored_gate_width].
  const Tensor& stored_states(int layer) const { return states_[layer]; }
  const Tensor& stored_gates(int layer) const { return gates_[layer]; }

 private:
  struct Layer {
    int input_size = 0;
    Parameter* wx = nullptr;  // [I, G·H]
    Parameter* bx = nullptr;  // [G·H]
    Parameter* wh = nullptr;  // [H, G·H]
    Parameter* bh = nullptr;  // [3H], GRU only
  };

  // p[rows, G·H] = x[rows, I]·Wx (bx is added in the step's elementwise pass); with
  // `packed`, from those packed weights.
  void project(const Layer& layer, const float* x, int64_t rows, float* p,
               const PackedMatrix* packed = nullptr) const;
  // One step of a layer for the rows given (p: the step's input projection [rows, G·H]):
  // from `prev` (ld state_width) to `next` (may be the same memory), storing the gate
  // activations in gates [rows, 4H]; a [rows, G·H] is scratch for the recurrent product.
  // Inactive rows (active[b] == 0) copy their state. The step functions touch only the
  // rows they are given, so blocks of rows can run on different threads at once.
  void step_forward(const Layer& layer, const float* p, const uint8_t* active, int rows,
                    const float* prev, float* next, float* gates, float* a,
                    const PackedMatrix* wh_packed = nullptr);
  // Backpropagates one step (wh_t: Whᵀ [G·H, H]). d_state [rows, state_width]: d/d(state
  // after the step) on entry, to which d_out [rows, H] (the gradient of the step's output)
  // is added; d/d(state before) on exit. dgx, dgh [rows, G·H]: d/d(pre-activations) of the input
  // and recurrent projections (the same memory for the LSTM; they differ in the GRU's n block).
  // With wh_t_packed (bf16), the recurrent product multiplies by it instead of wh_t.
  void step_backward(const float* wh_t, const float* gates, const float* prev, const float* next,
                     const uint8_t* active, int rows, const float* d_out, float* d_state,
                     float* dgx, float* dgh, const PackedMatrix* wh_t_packed = nullptr);
  // out[r, 0:H] = states[r, 0:H] (· mask[r % mask_rows] if mask), for `rows` rows.
  void copy_outputs(const float* states, int64_t rows, const float* mask, int mask_rows,
                    float* out) const;
  void between_layer_masks(const DropoutKey& key, int rows);
  void pack_for_sweep();
  // active_[b] = t < lengths[b] for the block's rows b; returns the block's part of active_.
  const uint8_t* active_rows(const int32_t* lengths, const RowBlock& block, int t);

  StandardStackConfig config_;
  std::vector<Layer> layers_;

  // --- what one training forward keeps ---
  int steps_ = 0;
  int rows_ = 0;
  std::vector<int32_t> lengths_;
  DropoutKey dropout_;
  Tensor final_state_;          // [L, B, W]
  std::vector<Tensor> states_;  // per layer [T+1, B, W]
  std::vector<Tensor> gates_;   // per layer [T, B, 4H]

  // --- reusable scratch (sized before the step loops, never inside them) ---
  std::vector<std::vector<float>> masks_;  // per layer l >= 1: [B, H] mask of its input
  std::vector<uint8_t> active_;
  std::vector<float> x_, p_, a_, gate_scratch_, top_, d_out_, d_x_, dgx_, dgh_;
  std::vector<bf16_t> x16_, dgx16_;       // bf16 copies for the input-projection gradients
  std::vector<std::vector<float>> wh_t_;  // per layer Whᵀ [G·H, H], during backward()
  // bf16: per layer Wx and Wh packed for the forward sweep, Wxᵀ and Whᵀ for the backward
  // sweep.
  std::vector<PackedMatrix> wx_packed_, wh_packed_, wx_t_packed_, wh_t_packed_;
};

}  // namespace revnmt
