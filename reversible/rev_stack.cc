#include "reversible/rev_stack.h"

#include <algorithm>
#include <cstring>

#include "nmt/core/error.h"
#include "nmt/core/parallel.h"
#include "reversible/fixed_point.h"
#include "reversible/rev_gru.h"
#include "reversible/rev_lstm.h"

namespace revnmt {

struct RevStack::LayerTape {
  InfoBuffer buffer;                 // [rows, G] words shared by the layer's state variables
  std::vector<SpillStack> spills;    // per row block: its pushes and pops never mix with others'
  std::vector<double> optimal_bits;  // per row: Σ −log2 z over its buffered units (ledger)
};

RevStack::RevStack(ParameterSet& params, const std::string& scope, const RevStackConfig& config)
    : config_(config) {
  REVNMT_CHECK(config.layers >= 1, "layers ", config.layers);
  REVNMT_CHECK(config.input_size > 0, "input size ", config.input_size);
  REVNMT_CHECK(config.hidden_size > 0 && config.hidden_size % 2 == 0, "hidden size ",
               config.hidden_size);
  REVNMT_CHECK(config.slice_dim >= 0 && config.slice_dim <= config.hidden_size / 2, "slice_dim ",
               config.slice_dim, " must be in [0, H/2]");
  REVNMT_CHECK(config.chunk_steps >= 1, "chunk_steps ", config.chunk_steps);
  REVNMT_CHECK(!config.smooth || config.tape == Tape::stored,
               "smooth arithmetic is not reversible: it needs the stored tape");
  for (int l = 0; l < config.layers; ++l) {
    RevLayerConfig layer{l == 0 ? config.input_size : config.hidden_size, config.hidden_size,
                         config.max_forget, config.precision};
    const std::string layer_scope = scope + "/layer" + std::to_string(l);
    if (config.cell == RevCell::gru)
      layers_.push_back(std::make_unique<RevGruLayer>(params, layer_scope, layer));
    else
      layers_.push_back(std::make_unique<RevLstmLayer>(params, layer_scope, layer));
  }
  tapes_.resize(config.layers);
  stored_.resize(config.layers);
  masks_.resize(config.layers);
  chunk_x_.resize(config.layers);
  chunk_out_.resize(config.layers);
  chunk_cache_.resize(config.layers);
  chunk_dp_.resize(config.layers);
}

RevStack::~RevStack() = default;

Multiplier RevStack::train_mode(int layer) const {
  if (config_.smooth) return Multiplier::smooth;
  if (config_.no_forgetting) return Multiplier::none;
  if (config_.keep_top_states && layer == config_.layers - 1) return Multiplier::lossy;
  return Multiplier::buffered;
}

bool RevStack::stores_states(int layer) const {
  return config_.tape == Tape::stored || config_.smooth ||
         (config_.keep_top_states && layer == config_.layers - 1);
}

void RevStack::active_rows(int t, const RowBlock& block, uint8_t* active) const {
  const int32_t* lengths = lengths_.data() + block.first;
  for (int b = 0; b < block.rows; ++b) active[b] = t < lengths[b];
}

uint8_t* RevStack::block_active(const RowBlock& block) {
  std::vector<uint8_t>& active = block_scratch_[size_t(block.index)].active;
  active.resize(size_t(block.rows));
  return active.data();
}

StepBuffers RevStack::step_buffers(int layer, const RowBlock& block) {
  LayerTape& tape = tapes_[layer];
  StepBuffers buffers;
  if (train_mode(layer) == Multiplier::buffered) {
    buffers.words = tape.buffer.row(block.first);
    buffers.spill = &tape.spills[size_t(block.index)];
  }
  buffers.slice = layer == config_.layers - 1 ? config_.slice_dim : 0;
  if (!tape.optimal_bits.empty()) buffers.optimal_bits = tape.optimal_bits.data() + block.first;
  return buffers;
}

void RevStack::layer_output(const int64_t* state, int rows, const float* mask, float* out) const {
  const int h = config_.hidden_size, w = state_width();
  for_each_row(rows, h, [=](int b) {
    const int n = h;
    const int64_t* s = state + int64_t(b) * w;  // [H]
    float* o = out + int64_t(b) * n;            // [H]
    if (mask != nullptr) {
      const float* m = mask + int64_t(b) * n;  // [H]
#pragma omp simd
      for (int u = 0; u < n; ++u) o[u] = fixed::to_float(s[u]) * m[u];
    } else {
#pragma omp simd
      for (int u = 0; u < n; ++u) o[u] = fixed::to_float(s[u]);
    }
  });
}

void RevStack::apply_row_mask(const float* in, int chunk_rows, const float* mask, int rows,
                              float* out) const {
  const int h = config_.hidden_size;
  for_each_row(chunk_rows, h, [=](int r) {
    const int n = h;
    const float* x = in + int64_t(r) * n;           // [H]
    const float* m = mask + int64_t(r % rows) * n;  // [H]
    float* y = out + int64_t(r) * n;                // [H]
#pragma omp simd
    for (int u = 0; u < n; ++u) y[u] = x[u] * m[u];
  });
}

void RevStack::between_layer_masks(const DropoutKey& key, int rows) {
  for (int l = 1; l < config_.layers; ++l) {
    masks_[l].resize(size_t(rows) * config_.hidden_size);
    locked_dropout_mask(key, config_.dropout_module + uint32_t(l), config_.dropout_hidden, rows,
                        config_.hidden_size, masks_[l].data());
  }
}

void RevStack::save_slice(int step, const int64_t* top_state, const RowBlock& block) {
  const int sd = config_.slice_dim, w = state_width();
  const int64_t offset = (int64_t(step) * rows_ + block.first) * sd;
  const int64_t* state = top_state + int64_t(block.first) * w;
  if (slices_.dtype() == DType::i64) {
    int64_t* out = slices_.data<int64_t>() + offset;
    for (int b = 0; b < block.rows; ++b)
      for (int u = 0; u < sd; ++u) out[b * sd + u] = state[int64_t(b) * w + u];
    return;
  }
  int32_t* out = slices_.data<int32_t>() + offset;
  for (int b = 0; b < block.rows; ++b) {
    for (int u = 0; u < sd; ++u) {
      const int64_t v = state[int64_t(b) * w + u];
      if (v > INT32_MAX || v < INT32_MIN)
        throw RangeError(
            "an attention slice value left the 32-bit fixed-point range "
            "(|h| >= 256); the model diverged");
      out[b * sd + u] = static_cast<int32_t>(v);
    }
  }
}

const int64_t* RevStack::load_slice(int step, const RowBlock& block) {
  const int sd = config_.slice_dim;
  const int64_t offset = (int64_t(step) * rows_ + block.first) * sd;
  if (slices_.dtype() == DType::i64) return slices_.data<int64_t>() + offset;
  std::vector<int64_t>& out = block_scratch_[size_t(block.index)].slice;
  out.resize(size_t(block.rows) * sd);
  const int32_t* in = slices_.data<int32_t>() + offset;
  for (int i = 0; i < block.rows * sd; ++i) out[size_t(i)] = in[i];
  return out.data();
}

void RevStack::forward(const SequenceShape& shape, StackInput& input, const Tensor* init,
                       const DropoutKey& dropout) {
  const int num_layers = config_.layers, top_layer = num_layers - 1;
  const int rows = shape.rows, steps = shape.steps, w = state_width(), h = config_.hidden_size;
  const int sd = config_.slice_dim;
  REVNMT_CHECK(input.size() == config_.input_size, "input size ", input.size());
  steps_ = steps;
  rows_ = rows;
  lengths_.assign(shape.lengths, shape.lengths + rows);
  dropout_ = dropout;

  packed_final_state_.release();
  final_state_.resize({num_layers, rows, w}, DType::i64);
  if (init != nullptr) {
    REVNMT_CHECK(init->dtype() == DType::i64 && init->shape() == final_state_.shape(),
                 "initial state ", init->shape().str());
    std::memcpy(final_state_.raw(), init->raw(), final_state_.nbytes());
  } else {
    final_state_.zero();
  }
  blocks_ = row_blocks(rows);
  block_scratch_.resize(size_t(blocks_));
  for (int l = 0; l < num_layers; ++l) {
    LayerTape& tape = tapes_[l];
    tape.spills.clear();
    tape.spills.resize(size_t(blocks_));
    tape.optimal_bits.assign(config_.measure_optimal ? size_t(rows) : 0, 0.0);
    if (train_mode(l) == Multiplier::buffered)
      tape.buffer.reset(rows, config_.hidden_size / 2);
    else
      tape.buffer.release();
    if (stores_states(l)) {
      stored_[l].resize({steps + 1, rows, w}, DType::i64);
      std::memcpy(stored_[l].raw(), final_state_.data<int64_t>() + int64_t(l) * rows * w,
                  sizeof(int64_t) * rows * w);
    } else {
      stored_[l].release();
    }
  }
  if (sd > 0) {
    slices_.resize({steps + 1, rows, sd}, config_.cell == RevCell::gru ? DType::i32 : DType::i64);
    save_slice(0, final_state_.data<int64_t>() + int64_t(top_layer) * rows * w,
               row_block(rows, 1, 0));
  } else {
    slices_.release();
  }
  between_layer_masks(dropout, rows);
  pack_recurrent_weights(/*transposed=*/false);

  for (int t0 = 0; t0 < steps; t0 += config_.chunk_steps) {
    const int t1 = std::min(steps, t0 + config_.chunk_steps), n = t1 - t0;
    x_.resize(size_t(n) * rows * config_.input_size);
    input.fill(t0, t1, x_.data());
    for (int l = 0; l < num_layers; ++l) {
      RevLayer& layer = *layers_[l];
      const int pw = layer.projection_width();
      p_.resize(size_t(n) * rows * pw);
      layer.project(x_.data(), n * rows, p_.data());
      int64_t* state = final_state_.data<int64_t>() + int64_t(l) * rows * w;
      if (l < top_layer) y_.resize(size_t(n) * rows * h);
      const Multiplier mode = train_mode(l);
      // Each block of rows runs through the chunk's steps on its own thread.
      for_each_row_block(rows, blocks_, [&](const RowBlock& block) {
        uint8_t* active = block_active(block);
        const StepBuffers buffers = step_buffers(l, block);
        int64_t* block_state = state + int64_t(block.first) * w;
        for (int t = t0; t < t1; ++t) {
          const int64_t row = int64_t(t - t0) * rows + block.first;  // of the chunk's rows
          active_rows(t, block, active);
          layer.step_forward(p_.data() + row * pw, active, block.rows, block_state, mode, buffers);
          if (stores_states(l))
            std::memcpy(stored_[l].data<int64_t>() + (int64_t(t + 1) * rows + block.first) * w,
                        block_state, sizeof(int64_t) * block.rows * w);
          if (l == top_layer && sd > 0) save_slice(t + 1, state, block);
          if (l < top_layer)
            layer_output(block_state, block.rows, masks_[l + 1].data() + int64_t(block.first) * h,
                         y_.data() + row * h);
        }
      });
      if (l < top_layer) std::swap(x_, y_);
    }
  }
}

const Tensor& RevStack::final_state() const {
  REVNMT_CHECK(packed_final_state_.empty(), "final_state() after compact()");
  return final_state_;
}

void RevStack::compact() {
  if (final_state_.empty()) return;
  const int64_t* s = final_state_.data<int64_t>();
  bool fits = true;
  for (int64_t i = 0; i < final_state_.numel(); ++i) fits &= s[i] >= INT32_MIN && s[i] <= INT32_MAX;
  if (fits) {
    packed_final_state_.resize(final_state_.shape(), DType::i32);
    int32_t* packed = packed_final_state_.data<int32_t>();
    for (int64_t i = 0; i < final_state_.numel(); ++i) packed[i] = int32_t(s[i]);
  } else {
    packed_final_state_ = final_state_;
  }
  final_state_.release();
}

void RevStack::kept_outputs(int width, float* out) const {
  const int rows = rows_, w = state_width(), sd = config_.slice_dim;
  const int top_layer = config_.layers - 1;
  if (width <= sd) {
    const bool wide = slices_.dtype() == DType::i64;
    for (int t = 0; t < steps_; ++t) {
      const int64_t offset = int64_t(t + 1) * rows * sd;
      for (int b = 0; b < rows; ++b)
        for (int u = 0; u < width; ++u)
          out[(int64_t(t) * rows + b) * width + u] =
              fixed::to_float(wide ? slices_.data<int64_t>()[offset + b * sd + u]
                                   : slices_.data<int32_t>()[offset + b * sd + u]);
    }
    return;
  }
  REVNMT_CHECK(stores_states(top_layer) && width <= config_.hidden_size, "the stack does not keep ",
               width, " output units");
  for (int t = 0; t < steps_; ++t) {
    const int64_t* s = stored_[top_layer].data<int64_t>() + int64_t(t + 1) * rows * w;
    for (int b = 0; b < rows; ++b)
      for (int u = 0; u < width; ++u)
        out[(int64_t(t) * rows + b) * width + u] = fixed::to_float(s[int64_t(b) * w + u]);
  }
}

void RevStack::backward(StackInput& input, OutputGradient& consumer, const Tensor* d_final,
                        Tensor* d_init) {
  const int num_layers = config_.layers, top_layer = num_layers - 1;
  const int rows = rows_, steps = steps_, w = state_width(), h = config_.hidden_size;
  const int sd = config_.slice_dim, k = config_.chunk_steps;
  // Recovered backwards in place, from the (possibly packed) final states.
  if (packed_final_state_.empty()) {
    work_state_ = final_state_;
  } else if (packed_final_state_.dtype() == DType::i64) {
    work_state_ = packed_final_state_;
  } else {
    work_state_.resize(packed_final_state_.shape(), DType::i64);
    const int32_t* packed = packed_final_state_.data<int32_t>();
    int64_t* s = work_state_.data<int64_t>();
    for (int64_t i = 0; i < work_state_.numel(); ++i) s[i] = packed[i];
  }
  Tensor d_state({num_layers, rows, w}, DType::f32);
  if (d_final != nullptr) {
    REVNMT_CHECK(d_final->dtype() == DType::f32 && d_final->shape() == d_state.shape(),
                 "final-state gradient ", d_final->shape().str());
    std::memcpy(d_state.raw(), d_final->raw(), d_state.nbytes());
  }
  between_layer_masks(dropout_, rows);  // regenerated, identical to the forward's
  pack_recurrent_weights(/*transposed=*/true);

  for (int t0 = steps == 0 ? -1 : (steps - 1) / k * k; t0 >= 0; t0 -= k) {
    const int t1 = std::min(steps, t0 + k), n = t1 - t0;
    const int64_t chunk_rows = int64_t(n) * rows;
    // 1. Recover the chunk's states bottom-up, caching every step's gates.
    for (int l = 0; l < num_layers; ++l) {
      RevLayer& layer = *layers_[l];
      const int pw = layer.projection_width(), cw = layer.cache_width(), in = layer.input_size();
      std::vector<float>& xs = chunk_x_[l];
      xs.resize(chunk_rows * in);
      if (l == 0) {
        input.fill(t0, t1, xs.data());
      } else {
        const float* below = chunk_out_[l - 1].data();
        apply_row_mask(below, int(chunk_rows), masks_[l].data(), rows, xs.data());
      }
      p_.resize(chunk_rows * pw);
      layer.project(xs.data(), int(chunk_rows), p_.data());
      chunk_out_[l].resize(chunk_rows * h);
      chunk_cache_[l].resize(chunk_rows * cw);
      int64_t* state = work_state_.data<int64_t>() + int64_t(l) * rows * w;
      const Multiplier mode = train_mode(l);
      const bool sliced = l == top_layer && sd > 0 && !stores_states(l);
      auto reverse_step = [&](const RowBlock& block, int t) {
        const int64_t row = int64_t(t - t0) * rows + block.first;  // of the chunk's rows
        int64_t* block_state = state + int64_t(block.first) * w;
        layer_output(block_state, block.rows, nullptr, chunk_out_[l].data() + row * h);
        uint8_t* active = block_active(block);
        active_rows(t, block, active);
        const float* p = p_.data() + row * pw;
        float* cache = chunk_cache_[l].data() + row * cw;
        if (stores_states(l)) {
          const int64_t* stored = stored_[l].data<int64_t>();
          const int64_t* before = stored + (int64_t(t) * rows + block.first) * w;
          const int64_t* after = stored + (int64_t(t + 1) * rows + block.first) * w;
          layer.step_recompute(p, active, block.rows, before, after, mode, cache);
          std::memcpy(block_state, before, sizeof(int64_t) * block.rows * w);
        } else {
          StepBuffers buffers = step_buffers(l, block);
          if (sliced) buffers.slice_before = load_slice(t, block);
          layer.step_reverse(p, active, block.rows, block_state, mode, buffers, cache);
        }
      };
      if (observer_) {
        // The observer sees whole states: the blocks meet after every step.
        for (int t = t1 - 1; t >= t0; --t) {
          for_each_row_block(rows, blocks_, [&](const RowBlock& block) { reverse_step(block, t); });
          observer_(l, t, state);
        }
      } else {
        for_each_row_block(rows, blocks_, [&](const RowBlock& block) {
          for (int t = t1 - 1; t >= t0; --t) reverse_step(block, t);
        });
      }
    }
    // 2. The consumer turns the top outputs into their gradients.
    d_out_.assign(chunk_rows * h, 0.0f);
    consumer.backward(t0, t1, chunk_out_[top_layer].data(), d_out_.data());
    // 3. Backpropagate the chunk top-down.
    for (int l = top_layer; l >= 0; --l) {
      RevLayer& layer = *layers_[l];
      const int pw = layer.projection_width(), cw = layer.cache_width(), in = layer.input_size();
      chunk_dp_[l].resize(chunk_rows * pw);
      float* ds = d_state.data<float>() + int64_t(l) * rows * w;
      const Multiplier mode = train_mode(l);
      for_each_row_block(rows, blocks_, [&](const RowBlock& block) {
        uint8_t* active = block_active(block);
        float* block_ds = ds + int64_t(block.first) * w;
        for (int t = t1 - 1; t >= t0; --t) {
          const int64_t row = int64_t(t - t0) * rows + block.first;  // of the chunk's rows
          const float* d_out = d_out_.data() + row * h;
          for_each_row(block.rows, h, [=](int b) {
            const int units = h;
            float* d = block_ds + int64_t(b) * w;         // [H]
            const float* g = d_out + int64_t(b) * units;  // [H]
#pragma omp simd
            for (int u = 0; u < units; ++u) d[u] += g[u];
          });
          active_rows(t, block, active);
          layer.step_backward(chunk_cache_[l].data() + row * cw, active, block.rows, mode, block_ds,
                              chunk_dp_[l].data() + row * pw);
        }
      });
      layer.accumulate_recurrent_grads(chunk_cache_[l].data(), chunk_dp_[l].data(),
                                       int(chunk_rows));
      d_x_.resize(chunk_rows * in);
      layer.backward_projection(chunk_x_[l].data(), chunk_dp_[l].data(), int(chunk_rows),
                                d_x_.data());
      if (l > 0) {
        apply_row_mask(d_x_.data(), int(chunk_rows), masks_[l].data(), rows, d_out_.data());
      } else {
        input.backward(t0, t1, d_x_.data());
      }
    }
  }
  if (config_.tape == Tape::reversal)
    REVNMT_CHECK(buffers_empty(),
                 "reversal did not return the information buffers to empty: the reverse pass "
                 "diverged from the forward pass");
  if (d_init != nullptr) *d_init = std::move(d_state);
  // The tape is consumed: free it so the next forward's ledger counts only its own.
  for (auto& tape : tapes_) {
    tape.buffer.release();
    tape.spills.clear();
  }
  for (auto& stored : stored_) stored.release();
  slices_.release();
  packed_final_state_.release();
}

double RevStack::buffer_content_bits() const {
  double bits = 0;
  for (const auto& tape : tapes_) {
    bits += tape.buffer.content_bits();
    for (const auto& spill : tape.spills) bits += InfoBuffer::kSpillBits * double(spill.words());
  }
  return bits;
}

bool RevStack::buffers_empty() const {
  for (const auto& tape : tapes_) {
    if (!tape.buffer.is_empty()) return false;
    for (const auto& spill : tape.spills)
      if (spill.words() != 0) return false;
  }
  return true;
}

MemoryLedger RevStack::ledger() const {
  MemoryLedger ledger;
  const double per_layer =
      32.0 * steps_ * rows_ * config_.hidden_size * (config_.cell == RevCell::lstm ? 2 : 1);
  ledger.baseline_bits = per_layer * config_.layers;
  int64_t buffer_bytes = 0, stored_bytes = 0;
  for (const auto& tape : tapes_) {
    buffer_bytes += int64_t(tape.buffer.allocated_bytes());
    for (const auto& spill : tape.spills) buffer_bytes += int64_t(spill.allocated_bytes());
    for (double row_bits : tape.optimal_bits) ledger.optimal_bits += row_bits;
  }
  for (const auto& stored : stored_) stored_bytes += int64_t(stored.nbytes());
  stored_bytes += int64_t(slices_.nbytes());
  ledger.buffer_bits = 8.0 * double(buffer_bytes);
  ledger.stored_bits = 8.0 * double(stored_bytes);
  const int64_t final_bytes = int64_t(final_state_.nbytes() + packed_final_state_.nbytes());
  ledger.final_state_bits = 8.0 * double(final_bytes);
  ledger.held_bits = ledger.buffer_bits + ledger.stored_bits + ledger.final_state_bits;
  ledger.optimal_bits += ledger.stored_bits;
  ledger.held_bytes =
      buffer_bytes + stored_bytes + final_bytes + int64_t(lengths_.size() * sizeof(int32_t));
  return ledger;
}

void RevStack::infer(const SequenceShape& shape, StackInput& input, Tensor& state, float* top) {
  const int num_layers = config_.layers, top_layer = num_layers - 1;
  const int rows = shape.rows, steps = shape.steps, w = state_width(), h = config_.hidden_size;
  REVNMT_CHECK(state.dtype() == DType::i64 && state.numel() == int64_t(num_layers) * rows * w,
               "inference state ", state.shape().str());
  const Multiplier mode = config_.no_forgetting ? Multiplier::none : Multiplier::lossy;
  const int blocks = row_blocks(rows);
  if (block_scratch_.size() < size_t(blocks)) block_scratch_.resize(size_t(blocks));
  pack_recurrent_weights(/*transposed=*/false);
  for (int t0 = 0; t0 < steps; t0 += config_.chunk_steps) {
    const int t1 = std::min(steps, t0 + config_.chunk_steps), n = t1 - t0;
    x_.resize(size_t(n) * rows * config_.input_size);
    input.fill(t0, t1, x_.data());
    for (int l = 0; l < num_layers; ++l) {
      RevLayer& layer = *layers_[l];
      const int pw = layer.projection_width();
      p_.resize(size_t(n) * rows * pw);
      layer.project(x_.data(), n * rows, p_.data());
      int64_t* s = state.data<int64_t>() + int64_t(l) * rows * w;
      if (l < top_layer) y_.resize(size_t(n) * rows * h);
      float* out = l < top_layer ? y_.data() : top;      // [n, rows, H] or [steps, rows, H]
      const int64_t out_step0 = l < top_layer ? t0 : 0;  // the step out's first rows belong to
      for_each_row_block(rows, blocks, [&](const RowBlock& block) {
        uint8_t* active = block_active(block);
        int64_t* block_state = s + int64_t(block.first) * w;
        for (int t = t0; t < t1; ++t) {
          for (int b = 0; b < block.rows; ++b) active[b] = t < shape.lengths[block.first + b];
          const int64_t row = int64_t(t - t0) * rows + block.first;
          layer.step_forward(p_.data() + row * pw, active, block.rows, block_state, mode,
                             StepBuffers{});
          if (out != nullptr)
            layer_output(block_state, block.rows, nullptr,
                         out + ((t - out_step0) * rows + block.first) * int64_t(h));
        }
      });
      if (l < top_layer) std::swap(x_, y_);
    }
  }
}

void RevStack::pack_recurrent_weights(bool transposed) {
  for (auto& layer : layers_) layer->pack_recurrent(transposed);
  infer_steps_packed_ = false;
}

void RevStack::pack_for_infer_steps() {
  pack_recurrent_weights(/*transposed=*/false);
  infer_steps_packed_ = true;
}

void RevStack::infer_step(const float* x, int rows, Tensor& state, float* top,
                          const float* first_projection) {
  const int num_layers = config_.layers, w = state_width(), h = config_.hidden_size;
  REVNMT_CHECK(state.dtype() == DType::i64 && state.numel() == int64_t(num_layers) * rows * w,
               "inference state ", state.shape().str());
  const Multiplier mode = config_.no_forgetting ? Multiplier::none : Multiplier::lossy;
  const int blocks = row_blocks(rows);
  if (block_scratch_.size() < size_t(blocks)) block_scratch_.resize(size_t(blocks));
  if (!infer_steps_packed_) pack_recurrent_weights(/*transposed=*/false);
  const float* in = x;
  for (int l = 0; l < num_layers; ++l) {
    RevLayer& layer = *layers_[l];
    const int pw = layer.projection_width();
    const float* p = nullptr;  // [rows, pw]
    if (l == 0 && first_projection != nullptr) {
      p = first_projection;
    } else {
      p_.resize(size_t(rows) * pw);
      layer.project(in, rows, p_.data());
      p = p_.data();
    }
    int64_t* s = state.data<int64_t>() + int64_t(l) * rows * w;
    float* out = l + 1 < num_layers ? (y_.resize(size_t(rows) * h), y_.data()) : top;
    for_each_row_block(rows, blocks, [&](const RowBlock& block) {
      uint8_t* active = block_active(block);
      std::fill(active, active + block.rows, uint8_t(1));
      int64_t* block_state = s + int64_t(block.first) * w;
      layer.step_forward(p + int64_t(block.first) * pw, active, block.rows, block_state,
                         mode, StepBuffers{});
      if (out != nullptr)
        layer_output(block_state, block.rows, nullptr, out + int64_t(block.first) * h);
    });
    if (l + 1 < num_layers) {
      std::swap(x_, y_);
      in = x_.data();
    }
  }
}

}  // namespace revnmt
