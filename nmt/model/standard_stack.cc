#include "nmt/model/standard_stack.h"

#include <algorithm>
#include <cstring>

#include "nmt/core/error.h"
#include "nmt/core/matmul.h"
#include "nmt/core/parallel.h"
#include "nmt/core/vmath.h"

namespace revnmt {

namespace {

// The row kernels take everything by value: inside an OpenMP-outlined loop body, captured
// variables would be reloaded through the shared-data struct and block vectorization.

// One GRU step of one row. p, a [3H]: x·Wx and h·Wh; prev, next: h [H] (may alias);
// gates [4H] receives r, z, n, h·W_hn + b_hn.
void gru_forward_row(const float* p, const float* a, const float* bx, const float* bh,
                     const float* prev, bool active, int h, float* next, float* gates) {
#pragma omp simd
  for (int u = 0; u < h; ++u) {
    const float r = vmath::sigmoid((p[u] + bx[u]) + (a[u] + bh[u]));
    const float z = vmath::sigmoid((p[h + u] + bx[h + u]) + (a[h + u] + bh[h + u]));
    const float hw = a[2 * h + u] + bh[2 * h + u];
    const float n = vmath::tanh((p[2 * h + u] + bx[2 * h + u]) + r * hw);
    gates[u] = r;
    gates[h + u] = z;
    gates[2 * h + u] = n;
    gates[3 * h + u] = hw;
    const float old = prev[u];
    next[u] = active ? n + z * (old - n) : old;  // (1 − z) ⊙ n + z ⊙ h
  }
}

// One LSTM step of one row. p, a [4H]; prev, next: [h | c] (may alias); gates [4H]
// receives i, f, g, o.
void lstm_forward_row(const float* p, const float* a, const float* bx, const float* prev,
                      bool active, int h, float* next, float* gates) {
#pragma omp simd
  for (int u = 0; u < h; ++u) {
    const float i = vmath::sigmoid((p[u] + bx[u]) + a[u]);
    const float f = vmath::sigmoid((p[h + u] + bx[h + u]) + a[h + u]);
    const float g = vmath::tanh((p[2 * h + u] + bx[2 * h + u]) + a[2 * h + u]);
    const float o = vmath::sigmoid((p[3 * h + u] + bx[3 * h + u]) + a[3 * h + u]);
    gates[u] = i;
    gates[h + u] = f;
    gates[2 * h + u] = g;
    gates[3 * h + u] = o;
    const float h_old = prev[u], c_old = prev[h + u];
    const float c = f * c_old + i * g;
    const float hv = o * vmath::tanh(c);
    next[u] = active ? hv : h_old;
    next[h + u] = active ? c : c_old;
  }
}

// Backward of one active GRU row: ds [H] holds d/dh' (d_out [H] is added) on entry and
// the direct part z ⊙ dh' of d/dh on exit; gx, gh [3H] receive the pre-activation
// gradients of the input and recurrent projections.
void gru_backward_row(const float* gates, const float* prev, const float* d_out, int h, float* ds,
                      float* gx, float* gh) {
#pragma omp simd
  for (int u = 0; u < h; ++u) {
    const float dh = ds[u] + d_out[u];
    const float r = gates[u], z = gates[h + u], n = gates[2 * h + u], hw = gates[3 * h + u];
    const float dn = dh * (1.0f - z) * (1.0f - n * n);
    const float dz = dh * (prev[u] - n) * (z * (1.0f - z));
    const float dr = dn * hw * (r * (1.0f - r));
    gx[u] = dr;
    gx[h + u] = dz;
    gx[2 * h + u] = dn;
    gh[u] = dr;
    gh[h + u] = dz;
    gh[2 * h + u] = dn * r;  // through r ⊙ (h W_hn + b_hn)
    ds[u] = dh * z;
  }
}

// Backward of one active LSTM row: ds [2H] = d/d[h' | c'] on entry (d_out [H] is added to
// the h part), d/d[h | c] on exit without the recurrent matmul's term; g [4H] receives the
// pre-activation gradients.
void lstm_backward_row(const float* gates, const float* prev, const float* next, const float* d_out,
                       int h, float* ds, float* g) {
#pragma omp simd
  for (int u = 0; u < h; ++u) {
    const float dh = ds[u] + d_out[u], dc = ds[h + u];
    const float i = gates[u], f = gates[h + u], gg = gates[2 * h + u], o = gates[3 * h + u];
    const float tc = vmath::tanh(next[h + u]);  // recomputed: the forward's exact bits
    const float dct = dc + dh * o * (1.0f - tc * tc);
    g[u] = dct * gg * (i * (1.0f - i));
    g[h + u] = dct * prev[h + u] * (f * (1.0f - f));
    g[2 * h + u] = dct * i * (1.0f - gg * gg);
    g[3 * h + u] = dh * tc * (o * (1.0f - o));
    ds[u] = 0.0f;  // h reaches h' only through the gates: the matmul adds that
    ds[h + u] = dct * f;
  }
}

// An inactive row: its state passed through unchanged, so does its gradient; no gate
// gradients.
void inactive_backward_row(const float* d_out, int h, int gw, float* ds, float* gx, float* gh) {
#pragma omp simd
  for (int u = 0; u < h; ++u) ds[u] += d_out[u];
  std::fill(gx, gx + gw, 0.0f);
  std::fill(gh, gh + gw, 0.0f);
}

}  // namespace

StandardStack::StandardStack(ParameterSet& params, const std::string& scope,
                             const StandardStackConfig& config)
    : config_(config) {
  REVNMT_CHECK(config.layers >= 1, "layers ", config.layers);
  REVNMT_CHECK(config.input_size > 0, "input size ", config.input_size);
  REVNMT_CHECK(config.hidden_size > 0, "hidden size ", config.hidden_size);
  REVNMT_CHECK(config.chunk_steps >= 1, "chunk_steps ", config.chunk_steps);
  REVNMT_CHECK(config.dropout_hidden >= 0.0f && config.dropout_hidden < 1.0f, "dropout ",
               config.dropout_hidden);
  const int h = config.hidden_size, gw = gate_width();
  for (int l = 0; l < config.layers; ++l) {
    const std::string layer_scope = scope + "/layer" + std::to_string(l);
    Layer layer;
    layer.input_size = l == 0 ? config.input_size : h;
    layer.wx = &params.add(layer_scope + "/Wx", {layer.input_size, gw});
    layer.bx = &params.add(layer_scope + "/bx", {gw});
    layer.wh = &params.add(layer_scope + "/Wh", {h, gw});
    if (config.cell == StandardCell::gru) layer.bh = &params.add(layer_scope + "/bh", {gw});
    layers_.push_back(layer);
  }
  states_.resize(config.layers);
  gates_.resize(config.layers);
  masks_.resize(config.layers);
}

void StandardStack::project(const Layer& layer, const float* x, int64_t rows, float* p,
                            const PackedMatrix* packed) const {
  // p [rows, G·H] = x [rows, I] · Wx [I, G·H]; bx is added in the step's elementwise pass.
  if (packed != nullptr)
    matmul_packed(rows, x, layer.input_size, *packed, p, gate_width());
  else
    matmul_nn(rows, gate_width(), layer.input_size, x, layer.wx->data(), p);
}

void StandardStack::project_input(const float* x, int rows, float* p,
                                  const PackedStack& packed) const {
  REVNMT_CHECK(!packed.wx.empty(), "packed weights of another stack");
  project(layers_[0], x, rows, p, &packed.wx[0]);
}

void StandardStack::pack(PackedStack& packed) const {
  const int gw = gate_width(), h = config_.hidden_size;
  packed.wx.resize(layers_.size());
  packed.wh.resize(layers_.size());
  for (size_t l = 0; l < layers_.size(); ++l) {
    const Layer& layer = layers_[l];
    packed.wx[l].pack(false, layer.input_size, gw, layer.wx->data(), gw, config_.precision);
    packed.wh[l].pack(false, h, gw, layer.wh->data(), gw, config_.precision);
  }
}

// bf16: Wx and Wh of every layer packed (rounded once) for a forward sweep.
void StandardStack::pack_for_sweep() {
  if (config_.precision != Precision::bf16) return;
  const int gw = gate_width();
  wx_packed_.resize(layers_.size());
  wh_packed_.resize(layers_.size());
  for (size_t l = 0; l < layers_.size(); ++l) {
    wx_packed_[l].pack(false, layers_[l].input_size, gw, layers_[l].wx->data(), gw,
                       Precision::bf16);
    wh_packed_[l].pack(false, config_.hidden_size, gw, layers_[l].wh->data(), gw, Precision::bf16);
  }
}

void StandardStack::step_forward(const Layer& layer, const float* p, const uint8_t* active,
                                 int rows, const float* prev, float* next, float* gates, float* a,
                                 const PackedMatrix* wh_packed) {
  const int h = config_.hidden_size, w = state_width(), gw = gate_width();
  const int sg = stored_gate_width();
  // a [rows, G·H] = h_prev [rows, H] (ld W) · Wh [H, G·H]
  if (wh_packed != nullptr)
    matmul_packed(rows, prev, w, *wh_packed, a, gw);
  else
    matmul(false, false, rows, gw, h, prev, w, layer.wh->data(), gw, a, gw);
  const float* bx = layer.bx->data();
  const float* bh = layer.bh != nullptr ? layer.bh->data() : nullptr;
  const bool gru = config_.cell == StandardCell::gru;
#pragma omp parallel for schedule(static) if (use_team(int64_t(rows) * h))
  for (int b = 0; b < rows; ++b) {
    const int64_t pa = int64_t(b) * gw, s = int64_t(b) * w, g = int64_t(b) * sg;
    if (gru)
      gru_forward_row(p + pa, a + pa, bx, bh, prev + s, active[b] != 0, h, next + s, gates + g);
    else
      lstm_forward_row(p + pa, a + pa, bx, prev + s, active[b] != 0, h, next + s, gates + g);
  }
}

void StandardStack::step_backward(const float* wh_t, const float* gates, const float* prev,
                                  const float* next, const uint8_t* active, int rows,
                                  const float* d_out, float* d_state, float* dgx, float* dgh,
                                  const PackedMatrix* wh_t_packed) {
  const int h = config_.hidden_size, w = state_width(), gw = gate_width();
  const int sg = stored_gate_width();
  const bool gru = config_.cell == StandardCell::gru;
#pragma omp parallel for schedule(static) if (use_team(int64_t(rows) * h))
  for (int b = 0; b < rows; ++b) {
    const int64_t s = int64_t(b) * w, g = int64_t(b) * sg, d = int64_t(b) * gw;
    const float* dout = d_out + int64_t(b) * h;
    if (!active[b])
      inactive_backward_row(dout, h, gw, d_state + s, dgx + d, dgh + d);
    else if (gru)
      gru_backward_row(gates + g, prev + s, dout, h, d_state + s, dgx + d, dgh + d);
    else
      lstm_backward_row(gates + g, prev + s, next + s, dout, h, d_state + s, dgx + d);
  }
  // d_h [rows, H] (ld W) += d(gates) [rows, G·H] · Whᵀ [G·H, H]
  if (wh_t_packed != nullptr)
    matmul_packed(rows, dgh, gw, *wh_t_packed, d_state, w, /*accumulate=*/true);
  else
    matmul(false, false, rows, h, gw, dgh, gw, wh_t, h, d_state, w, /*accumulate=*/true);
}

void StandardStack::copy_outputs(const float* states, int64_t rows, const float* mask,
                                 int mask_rows, float* out) const {
  const int h = config_.hidden_size, w = state_width();
  for (int64_t r = 0; r < rows; ++r) {
    const float* s = states + r * w;
    float* o = out + r * h;
    if (mask != nullptr) {
      const float* m = mask + (r % mask_rows) * h;
#pragma omp simd
      for (int u = 0; u < h; ++u) o[u] = s[u] * m[u];
    } else {
      std::memcpy(o, s, sizeof(float) * h);
    }
  }
}

void StandardStack::between_layer_masks(const DropoutKey& key, int rows) {
  for (int l = 1; l < config_.layers; ++l) {
    masks_[l].resize(size_t(rows) * config_.hidden_size);
    locked_dropout_mask(key, config_.dropout_module + uint32_t(l), config_.dropout_hidden, rows,
                        config_.hidden_size, masks_[l].data());
  }
}

const uint8_t* StandardStack::active_rows(const int32_t* lengths, const RowBlock& block, int t) {
  uint8_t* active = active_.data() + block.first;
  for (int b = 0; b < block.rows; ++b) active[b] = t < lengths[block.first + b];
  return active;
}

void StandardStack::forward(const SequenceShape& shape, StackInput& input, const Tensor* init,
                            const DropoutKey& dropout) {
  const int num_layers = config_.layers, top_layer = num_layers - 1;
  const int rows = shape.rows, steps = shape.steps, w = state_width(), h = config_.hidden_size;
  const int gw = gate_width(), sg = stored_gate_width(), k = config_.chunk_steps;
  REVNMT_CHECK(input.size() == config_.input_size, "input size ", input.size());
  REVNMT_CHECK(rows >= 0 && steps >= 0, "shape ", steps, "x", rows);
  REVNMT_CHECK(rows == 0 || shape.lengths != nullptr, "sequence lengths missing");
  steps_ = steps;
  rows_ = rows;
  lengths_.assign(shape.lengths, shape.lengths + rows);
  dropout_ = dropout;

  final_state_.resize({num_layers, rows, w}, DType::f32);
  if (init != nullptr) {
    REVNMT_CHECK(init->dtype() == DType::f32 && init->shape() == final_state_.shape(),
                 "initial state ", init->shape().str());
  }
  const int64_t layer_state = int64_t(rows) * w;
  for (int l = 0; l < num_layers; ++l) {
    states_[l].resize({steps + 1, rows, w}, DType::f32);
    gates_[l].resize({steps, rows, sg}, DType::f32);
    float* s0 = states_[l].data<float>();
    if (init != nullptr)
      std::memcpy(s0, init->data<float>() + l * layer_state, sizeof(float) * layer_state);
    else
      std::fill(s0, s0 + layer_state, 0.0f);
  }
  between_layer_masks(dropout, rows);
  const int64_t max_rows = int64_t(std::min(k, std::max(steps, 1))) * rows;
  x_.resize(max_rows * std::max(config_.input_size, h));
  p_.resize(max_rows * gw);
  a_.resize(size_t(rows) * gw);
  active_.resize(rows);
  pack_for_sweep();
  const bool bf16 = config_.precision == Precision::bf16;

  for (int t0 = 0; t0 < steps; t0 += k) {
    const int t1 = std::min(steps, t0 + k);
    const int64_t chunk_rows = int64_t(t1 - t0) * rows;
    input.fill(t0, t1, x_.data());
    for (int l = 0; l < num_layers; ++l) {
      const Layer& layer = layers_[l];
      project(layer, x_.data(), chunk_rows, p_.data(), bf16 ? &wx_packed_[l] : nullptr);
      float* states = states_[l].data<float>();
      float* gates = gates_[l].data<float>();
      // Each block of rows runs through the chunk's steps on its own thread.
      for_each_row_block(rows, row_blocks(rows), [&](const RowBlock& block) {
        const int64_t state_row = int64_t(block.first) * w;
        for (int t = t0; t < t1; ++t) {
          const int64_t row = int64_t(t - t0) * rows + block.first;  // of the chunk's rows
          step_forward(layer, p_.data() + row * gw, active_rows(shape.lengths, block, t),
                       block.rows, states + t * layer_state + state_row,
                       states + (t + 1) * layer_state + state_row,
                       gates + (int64_t(t) * rows + block.first) * sg,
                       a_.data() + int64_t(block.first) * gw, bf16 ? &wh_packed_[l] : nullptr);
        }
      });
      // The next layer's input (x_ is free again: its projection is in p_).
      if (l < top_layer)
        copy_outputs(states + (t0 + 1) * layer_state, chunk_rows, masks_[l + 1].data(), rows,
                     x_.data());
    }
  }
  for (int l = 0; l < num_layers; ++l)
    std::memcpy(final_state_.data<float>() + l * layer_state,
                states_[l].data<float>() + steps * layer_state, sizeof(float) * layer_state);
}

void StandardStack::kept_outputs(int width, float* out) const {
  const int h = config_.hidden_size, w = state_width(), rows = rows_;
  const Tensor& top = states_[config_.layers - 1];
  REVNMT_CHECK(width >= 0 && width <= h, "the stack does not keep ", width, " output units");
  REVNMT_CHECK(steps_ == 0 || top.numel() == int64_t(steps_ + 1) * rows * w,
               "kept_outputs() after the stored activations were freed");
  for (int t = 0; t < steps_; ++t) {
    for (int b = 0; b < rows; ++b) {
      const float* s = top.data<float>() + (int64_t(t + 1) * rows + b) * w;
      std::memcpy(out + (int64_t(t) * rows + b) * width, s, sizeof(float) * width);
    }
  }
}

void StandardStack::backward(StackInput& input, OutputGradient& consumer, const Tensor* d_final,
                             Tensor* d_init) {
  const int num_layers = config_.layers, top_layer = num_layers - 1;
  const int rows = rows_, steps = steps_, w = state_width(), h = config_.hidden_size;
  const int gw = gate_width(), sg = stored_gate_width(), k = config_.chunk_steps;
  const bool gru = config_.cell == StandardCell::gru;
  REVNMT_CHECK(steps == 0 || states_[0].numel() == int64_t(steps + 1) * rows * w,
               "backward() without a matching forward()");
  Tensor d_state({num_layers, rows, w}, DType::f32);
  if (d_final != nullptr) {
    REVNMT_CHECK(d_final->dtype() == DType::f32 && d_final->shape() == d_state.shape(),
                 "final-state gradient ", d_final->shape().str());
    std::memcpy(d_state.raw(), d_final->raw(), d_state.nbytes());
  }
  between_layer_masks(dropout_, rows);  // regenerated, identical to the forward's
  const int64_t layer_state = int64_t(rows) * w;
  const int64_t max_rows = int64_t(std::min(k, std::max(steps, 1))) * rows;
  const int64_t max_in = std::max(config_.input_size, h);
  x_.resize(max_rows * max_in);
  d_x_.resize(max_rows * max_in);
  d_out_.resize(max_rows * h);
  if (!gru) top_.resize(max_rows * h);
  dgx_.resize(max_rows * gw);
  if (gru) dgh_.resize(max_rows * gw);
  const bool bf16 = config_.precision == Precision::bf16;
  if (bf16) {
    // Wxᵀ [G·H, I] per layer, rounded and packed once per sweep.
    wx_t_packed_.resize(num_layers);
    for (int l = 0; l < num_layers; ++l)
      wx_t_packed_[l].pack(true, gw, layers_[l].input_size, layers_[l].wx->data(), gw,
                           Precision::bf16);
    x16_.resize(max_rows * max_in);
    dgx16_.resize(max_rows * gw);
  }
  if (bf16) wh_t_packed_.resize(num_layers);
  // Whᵀ [G·H, H] per layer, once per sweep: the per-step d(gates)·Whᵀ is then a plain nn
  // multiply, which oneDNN runs faster than the transposed-B form at these shapes.
  wh_t_.resize(num_layers);
  for (int l = 0; l < num_layers; ++l) {
    const float* wh = layers_[l].wh->data();
    wh_t_[l].resize(size_t(h) * gw);
    float* wh_t = wh_t_[l].data();
    for (int i = 0; i < h; ++i)
      for (int j = 0; j < gw; ++j) wh_t[int64_t(j) * h + i] = wh[int64_t(i) * gw + j];
    if (bf16) wh_t_packed_[l].pack(false, gw, h, wh_t, h, Precision::bf16);
  }
  active_.resize(rows);

  for (int t0 = steps == 0 ? -1 : (steps - 1) / k * k; t0 >= 0; t0 -= k) {
    const int t1 = std::min(steps, t0 + k);
    const int64_t chunk_rows = int64_t(t1 - t0) * rows;
    // 1. The consumer turns the chunk's top outputs (read from storage) into gradients.
    const float* top_states = states_[top_layer].data<float>() + (t0 + 1) * layer_state;
    const float* top = top_states;  // GRU: the states are the outputs, contiguous
    if (!gru) {
      copy_outputs(top_states, chunk_rows, nullptr, 0, top_.data());
      top = top_.data();
    }
    std::fill(d_out_.begin(), d_out_.begin() + chunk_rows * h, 0.0f);
    consumer.backward(t0, t1, top, d_out_.data());
    // 2. Backpropagate the chunk top-down; d_out_ holds the gradient of layer l's outputs.
    for (int l = top_layer; l >= 0; --l) {
      Layer& layer = layers_[l];
      const int in = layer.input_size;
      const float* states = states_[l].data<float>();
      const float* gates = gates_[l].data<float>();
      float* ds = d_state.data<float>() + l * layer_state;
      float* dgh = gru ? dgh_.data() : dgx_.data();  // the LSTM's are the same
      const float* wh_t = wh_t_[l].data();
      for_each_row_block(rows, row_blocks(rows), [&](const RowBlock& block) {
        const int64_t state_row = int64_t(block.first) * w;
        for (int t = t1 - 1; t >= t0; --t) {
          const int64_t row = int64_t(t - t0) * rows + block.first;  // of the chunk's rows
          step_backward(wh_t, gates + (int64_t(t) * rows + block.first) * sg,
                        states + t * layer_state + state_row,
                        states + (t + 1) * layer_state + state_row,
                        active_rows(lengths_.data(), block, t), block.rows, d_out_.data() + row * h,
                        ds + state_row, dgx_.data() + row * gw, dgh + row * gw,
                        bf16 ? &wh_t_packed_[l] : nullptr);
        }
      });
      // dWh [H, G·H] += H_prev [chunk_rows, H] (ld W)ᵀ · dgh [chunk_rows, G·H]
      matmul(true, false, h, gw, chunk_rows, states + t0 * layer_state, w, dgh, gw,
             layer.wh->gradient(), gw, /*accumulate=*/true);
      if (gru) add_column_sums(dgh, chunk_rows, gw, layer.bh->gradient());
      // The chunk's inputs, recomputed: layer 0's from the StackInput, the others from the
      // stored outputs of the layer below, through the same dropout mask.
      if (l == 0)
        input.fill(t0, t1, x_.data());
      else
        copy_outputs(states_[l - 1].data<float>() + (t0 + 1) * layer_state, chunk_rows,
                     masks_[l].data(), rows, x_.data());
      add_column_sums(dgx_.data(), chunk_rows, gw, layer.bx->gradient());
      if (bf16) {
        to_bf16(x_.data(), chunk_rows * in, x16_.data());
        to_bf16(dgx_.data(), chunk_rows * gw, dgx16_.data());
        // dWx [I, G·H] += X [chunk_rows, I]ᵀ · dgx [chunk_rows, G·H]
        matmul_bf16(true, false, in, gw, chunk_rows, x16_.data(), in, dgx16_.data(), gw,
                    layer.wx->gradient(), gw, /*accumulate=*/true);
        // dX [chunk_rows, I] = dgx [chunk_rows, G·H] · Wx [I, G·H]ᵀ
        matmul_packed(chunk_rows, dgx16_.data(), gw, wx_t_packed_[l], d_x_.data(), in);
      } else {
        // dWx [I, G·H] += X [chunk_rows, I]ᵀ · dgx [chunk_rows, G·H]
        matmul_tn(in, gw, chunk_rows, x_.data(), dgx_.data(), layer.wx->gradient(),
                  /*accumulate=*/true);
        // dX [chunk_rows, I] = dgx [chunk_rows, G·H] · Wx [I, G·H]ᵀ
        matmul_nt(chunk_rows, in, gw, dgx_.data(), layer.wx->data(), d_x_.data());
      }
      if (l > 0) {
        const float* mask = masks_[l].data();
        for (int64_t r = 0; r < chunk_rows; ++r) {
          const float* m = mask + (r % rows) * h;
          const float* dx = d_x_.data() + r * h;
          float* d = d_out_.data() + r * h;
#pragma omp simd
          for (int u = 0; u < h; ++u) d[u] = dx[u] * m[u];
        }
      } else {
        input.backward(t0, t1, d_x_.data());
      }
    }
  }
  if (d_init != nullptr) *d_init = std::move(d_state);
  // The activations are consumed: free them so the next forward's ledger counts only its own.
  for (auto& s : states_) s.release();
  for (auto& g : gates_) g.release();
}

MemoryLedger StandardStack::ledger() const {
  MemoryLedger ledger;
  const double per_layer =
      32.0 * steps_ * rows_ * config_.hidden_size * (config_.cell == StandardCell::lstm ? 2 : 1);
  ledger.baseline_bits = per_layer * config_.layers;
  int64_t stored_bytes = 0;
  for (const auto& s : states_) stored_bytes += int64_t(s.capacity_bytes());
  for (const auto& g : gates_) stored_bytes += int64_t(g.capacity_bytes());
  const int64_t final_bytes = int64_t(final_state_.capacity_bytes());
  ledger.stored_bits = 8.0 * double(stored_bytes);
  ledger.final_state_bits = 8.0 * double(final_bytes);
  ledger.buffer_bits = 0;
  ledger.held_bits = ledger.stored_bits + ledger.final_state_bits;
  ledger.optimal_bits = ledger.held_bits;  // nothing is compressed
  ledger.held_bytes = stored_bytes + final_bytes + int64_t(lengths_.capacity() * sizeof(int32_t));
  return ledger;
}

void StandardStack::infer(const SequenceShape& shape, StackInput& input, Tensor& state,
                          float* top) {
  const int num_layers = config_.layers, top_layer = num_layers - 1;
  const int rows = shape.rows, steps = shape.steps, w = state_width(), h = config_.hidden_size;
  const int gw = gate_width(), k = config_.chunk_steps;
  REVNMT_CHECK(input.size() == config_.input_size, "input size ", input.size());
  REVNMT_CHECK(rows == 0 || shape.lengths != nullptr, "sequence lengths missing");
  REVNMT_CHECK(state.dtype() == DType::f32 && state.numel() == int64_t(num_layers) * rows * w,
               "inference state ", state.shape().str());
  const int64_t layer_state = int64_t(rows) * w;
  const int64_t max_rows = int64_t(std::min(k, std::max(steps, 1))) * rows;
  x_.resize(max_rows * std::max(config_.input_size, h));
  p_.resize(max_rows * gw);
  a_.resize(size_t(rows) * gw);
  gate_scratch_.resize(size_t(rows) * stored_gate_width());
  active_.resize(rows);
  pack_for_sweep();
  const bool bf16 = config_.precision == Precision::bf16;
  for (int t0 = 0; t0 < steps; t0 += k) {
    const int t1 = std::min(steps, t0 + k);
    const int64_t chunk_rows = int64_t(t1 - t0) * rows;
    input.fill(t0, t1, x_.data());
    for (int l = 0; l < num_layers; ++l) {
      const Layer& layer = layers_[l];
      project(layer, x_.data(), chunk_rows, p_.data(), bf16 ? &wx_packed_[l] : nullptr);
      float* s = state.data<float>() + l * layer_state;
      for_each_row_block(rows, row_blocks(rows), [&](const RowBlock& block) {
        float* block_state = s + int64_t(block.first) * w;
        for (int t = t0; t < t1; ++t) {
          const int64_t row = int64_t(t - t0) * rows + block.first;  // of the chunk's rows
          step_forward(layer, p_.data() + row * gw, active_rows(shape.lengths, block, t),
                       block.rows, block_state, block_state,
                       gate_scratch_.data() + int64_t(block.first) * stored_gate_width(),
                       a_.data() + int64_t(block.first) * gw, bf16 ? &wh_packed_[l] : nullptr);
          if (l < top_layer)
            copy_outputs(block_state, block.rows, nullptr, 0, x_.data() + row * h);
          else if (top != nullptr)
            copy_outputs(block_state, block.rows, nullptr, 0,
                         top + (int64_t(t) * rows + block.first) * h);
        }
      });
    }
  }
}

void StandardStack::infer_step(const float* x, int rows, Tensor& state, float* top,
                               const PackedStack* packed, const float* first_projection) {
  const int num_layers = config_.layers, w = state_width(), h = config_.hidden_size;
  const int gw = gate_width();
  REVNMT_CHECK(state.dtype() == DType::f32 && state.numel() == int64_t(num_layers) * rows * w,
               "inference state ", state.shape().str());
  REVNMT_CHECK(packed == nullptr ||
                   (int(packed->wx.size()) == num_layers && int(packed->wh.size()) == num_layers),
               "packed weights of another stack");
  x_.resize(size_t(rows) * h);
  p_.resize(size_t(rows) * gw);
  a_.resize(size_t(rows) * gw);
  gate_scratch_.resize(size_t(rows) * stored_gate_width());
  active_.assign(rows, 1);
  const bool bf16 = config_.precision == Precision::bf16;
  if (packed == nullptr && bf16) pack_for_sweep();
  const float* in = x;
  for (int l = 0; l < num_layers; ++l) {
    const Layer& layer = layers_[l];
    const float* p = p_.data();  // [rows, G·H]
    if (l == 0 && first_projection != nullptr)
      p = first_projection;
    else
      project(layer, in, rows, p_.data(),
              packed != nullptr ? &packed->wx[l]
              : bf16            ? &wx_packed_[l]
                                : nullptr);
    float* s = state.data<float>() + int64_t(l) * rows * w;
    const PackedMatrix* wh_packed = packed != nullptr ? &packed->wh[l]
                                    : bf16            ? &wh_packed_[l]
                                                      : nullptr;
    for_each_row_block(rows, row_blocks(rows), [&](const RowBlock& block) {
      const int64_t first = block.first;
      step_forward(layer, p + first * gw, active_.data() + first, block.rows, s + first * w,
                   s + first * w, gate_scratch_.data() + first * stored_gate_width(),
                   a_.data() + first * gw, wh_packed);
    });
    if (l + 1 < num_layers) {
      copy_outputs(s, rows, nullptr, 0, x_.data());
      in = x_.data();
    } else if (top != nullptr) {
      copy_outputs(s, rows, nullptr, 0, top);
    }
  }
}

}  // namespace revnmt
