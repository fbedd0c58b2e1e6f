#pragma once
// A stack of reversible layers (RevGRU or RevLSTM) implementing RecurrentStack.
//
// Training forward keeps, per batch: the final states, one InfoBuffer per buffered state
// variable plus a SpillStack per layer, and the top layer's first `slice_dim` units of h1
// after every step (for attention). Nothing else. The backward sweep runs time in chunks
// of `chunk_steps`, newest first; for each chunk it reverses every layer step by step
// (bottom-up, because layer l's inputs are layer l-1's outputs), caching the gates it
// recomputes; the consumer turns the recovered top outputs into output gradients; then
// the chunk is backpropagated top-down with batched weight-gradient multiplies.
//
// Input projections are computed per chunk with the same chunk boundaries in forward and
// reverse, so the reverse sees bit-identical projections (same matmul shapes and data).

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nmt/core/parallel.h"
#include "nmt/core/params.h"
#include "reversible/recurrent_stack.h"
#include "reversible/rev_layer.h"

namespace revnmt {

enum class RevCell { gru, lstm };

// How training keeps what backward needs.
enum class Tape {
  reversal,  // bit-buffers; states are recovered by exact reversal (the point of revnmt)
  stored,    // the same buffered forward, but every state is also stored and backward reads
             // them: ordinary backprop through time, the reference reversal is checked against
};

struct RevStackConfig {
  RevCell cell = RevCell::gru;
  int layers = 1;
  int input_size = 0;
  int hidden_size = 0;
  float max_forget = 0.875f;     // m_f = 1 - 2^-k for k forgotten bits at most; 1 = no limit
  bool no_forgetting = false;    // NF-RevGRU / NF-RevLSTM
  int slice_dim = 0;             // top layer h1 units kept per step for attention (<= H/2)
  bool keep_top_states = false;  // keep the whole top state per step ('hidden' context)
  float dropout_hidden = 0.0f;   // locked dropout between layers
  uint32_t dropout_module = 0;   // base id of this stack's dropout streams
  int chunk_steps = 16;
  Precision precision = Precision::fp32;  // of the input and recurrent products (rev_layer.h)
  Tape tape = Tape::reversal;
  bool smooth = false;          // real-valued forget multiplication, for gradient checks only
  bool measure_optimal = true;  // accumulate Σ −log2 z for the ledger
};

class RevStack : public RecurrentStack {
 public:
  RevStack(ParameterSet& params, const std::string& scope, const RevStackConfig& config);
  ~RevStack() override;

  int layers() const override { return config_.layers; }
  int input_size() const override { return config_.input_size; }
  int hidden_size() const override { return config_.hidden_size; }
  int state_width() const override { return layers_[0]->state_width(); }
  DType state_dtype() const override { return DType::i64; }
  const RevStackConfig& config() const { return config_; }

  void forward(const SequenceShape& shape, StackInput& input, const Tensor* init,
               const DropoutKey& dropout) override;
  const Tensor& final_state() const override;
  void compact() override;
  void kept_outputs(int width, float* out) const override;
  void backward(StackInput& input, OutputGradient& consumer, const Tensor* d_final,
                Tensor* d_init) override;
  MemoryLedger ledger() const override;

  void infer(const SequenceShape& shape, StackInput& input, Tensor& state, float* top) override;
  void infer_step(const float* x, int rows, Tensor& state, float* top) override {
    infer_step(x, rows, state, top, nullptr);
  }
  // The same with the first layer's projection given when `first_projection` is not null
  // ([rows, input_projection_width()], project_input of x, possibly computed earlier; x
  // is then not read).
  void infer_step(const float* x, int rows, Tensor& state, float* top,
                  const float* first_projection);
  // The first layer's input projection p [rows, input_projection_width()] = x · Wx + bx,
  // as the steps compute it; each row depends only on its own x row.
  int input_projection_width() const { return layers_[0]->projection_width(); }
  void project_input(const float* x, int rows, float* p) const { layers_[0]->project(x, rows, p); }
  // Packs the recurrent weights (bf16; nothing to do in fp32) for the infer_step calls
  // that follow, so that a decoder packs once per batch instead of at every step. Call it
  // again after the weights change; forward, backward and infer end its effect (infer_step
  // then packs at every call again).
  void pack_for_infer_steps();

  // For tests: the saved slices [steps + 1, rows, slice_dim] (i32 for RevGRU, whose states
  // stay within ±1; i64 for RevLSTM, whose h is a leaky integrator) and the stored states of a
  // layer [steps + 1, rows, state_width] (stored tape or kept top layer).
  const Tensor& saved_slices() const { return slices_; }
  const Tensor& stored_states(int layer) const { return stored_[layer]; }
  // Called during backward() with every state the reverse sweep recovers: (layer, t,
  // state before step t [rows, state_width]). For verification (tests, selftest).
  using ReverseObserver = std::function<void(int layer, int step, const int64_t* state)>;
  void set_reverse_observer(ReverseObserver observer) { observer_ = std::move(observer); }
  // Total information currently in the buffers, exactly (bits).
  double buffer_content_bits() const;
  // True when every buffer and spill stack is back to empty (after a complete backward).
  bool buffers_empty() const;

 private:
  struct LayerTape;
  // Per row block: what its steps need of their own.
  struct BlockScratch {
    std::vector<uint8_t> active;  // [block rows]
    std::vector<int64_t> slice;   // [block rows, slice_dim]
  };
  Multiplier train_mode(int layer) const;
  bool stores_states(int layer) const;
  // The block's own `active` array, sized to its rows.
  uint8_t* block_active(const RowBlock& block);
  // active[b] = whether the block's row b is within its sequence at step t.
  void active_rows(int t, const RowBlock& block, uint8_t* active) const;
  // Where layer l's buffered steps on the block's rows put their bits.
  StepBuffers step_buffers(int layer, const RowBlock& block);
  // out[rows, H] = F(state[:, 0:H]) (· dropout mask for the next layer, if given).
  void layer_output(const int64_t* state, int rows, const float* mask, float* out) const;
  // out [chunk_rows, H] = in ⊙ mask [r % rows] (a step-invariant mask over a chunk's rows).
  void apply_row_mask(const float* in, int chunk_rows, const float* mask, int rows,
                      float* out) const;
  void between_layer_masks(const DropoutKey& key, int rows);
  // Every layer's pack_recurrent(transposed); ends the effect of pack_for_infer_steps().
  void pack_recurrent_weights(bool transposed);
  // Saves the block's rows of the top layer's slice after `step` (top_state: [rows_, W]).
  void save_slice(int step, const int64_t* top_state, const RowBlock& block);
  // The block's rows of the saved slice before `step` as int64 [block rows, slice_dim].
  const int64_t* load_slice(int step, const RowBlock& block);

  RevStackConfig config_;
  std::vector<std::unique_ptr<RevLayer>> layers_;
  ReverseObserver observer_;

  // --- what one training forward keeps (the tape) ---
  int steps_ = 0;
  int rows_ = 0;
  // The rows run in this many blocks, one per thread, each through whole chunks of steps
  // (nmt/core/parallel.h). Rows never interact in a recurrence, so the split changes no
  // value; each block has its own spill stacks, so backward reuses the forward's split.
  int blocks_ = 1;
  std::vector<int32_t> lengths_;
  DropoutKey dropout_;
  Tensor final_state_;            // [L, B, W] i64 (released by compact())
  Tensor packed_final_state_;     // [L, B, W] i32 when every value fits, else i64
  std::vector<LayerTape> tapes_;  // per layer: buffers, spill stack, optimal bits
  Tensor slices_;                 // [T+1, B, sd] i32
  std::vector<Tensor> stored_;    // per layer [T+1, B, W] i64 (when stored)

  // --- reusable scratch ---
  std::vector<std::vector<float>> masks_;  // per layer l >= 1: [B, H] dropout mask of its input
  std::vector<float> x_, p_, y_;
  std::vector<std::vector<float>> chunk_x_, chunk_out_, chunk_cache_, chunk_dp_;
  std::vector<float> d_out_, d_x_;
  std::vector<BlockScratch> block_scratch_;
  Tensor work_state_;
  bool infer_steps_packed_ = false;  // see pack_for_infer_steps()
};

}  // namespace revnmt
