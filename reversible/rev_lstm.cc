#include "reversible/rev_lstm.h"

#include "nmt/core/error.h"
#include "nmt/core/matmul.h"
#include "nmt/core/vmath.h"
#include "reversible/fixed_point.h"

namespace revnmt {

RevLstmLayer::RevLstmLayer(ParameterSet& params, const std::string& scope,
                           const RevLayerConfig& config)
    : RevLayer(params, scope, config, 5 * config.hidden_size) {
  const int g = half();
  u_[0] = &params.add(scope + "/U1", {g, 5 * g});
  u_[1] = &params.add(scope + "/U2", {g, 5 * g});
}

void RevLstmLayer::compute_half(int k, const float* p, const int64_t* other_h, int rows,
                                float* cache) {
  const int g = half(), w = state_width(), c = cache_width(), pw = projection_width();
  a_.resize(size_t(rows) * 5 * g);
  zc_fixed_.resize(size_t(rows) * g);
  zh_fixed_.resize(size_t(rows) * g);
  float* o = slot(cache, k, kO);
  for (int b = 0; b < rows; ++b) {
#pragma omp simd
    for (int u = 0; u < g; ++u)
      o[int64_t(b) * c + u] = fixed::to_float(other_h[int64_t(b) * w + u]);
  }
  // a [rows, 5G] = o [rows, G] · U_k [G, 5G]
  matmul(false, false, rows, 5 * g, g, o, c, u_[k]->data(), 5 * g, a_.data(), 5 * g);
  float *sz = slot(cache, k, kSz), *gg = slot(cache, k, kG), *f = slot(cache, k, kF),
        *out = slot(cache, k, kOut), *sp = slot(cache, k, kSp);
  for (int b = 0; b < rows; ++b) {
    const float* a = a_.data() + size_t(b) * 5 * g;
    const float* pk = p + int64_t(b) * pw + k * 5 * g;
    const int64_t row = int64_t(b) * c;
    int32_t* zc = zc_fixed_.data() + size_t(b) * g;
    int32_t* zh = zh_fixed_.data() + size_t(b) * g;
#pragma omp simd
    for (int u = 0; u < g; ++u) {
      sz[row + u] = vmath::sigmoid(a[u] + pk[u]);
      gg[row + u] = vmath::tanh(a[g + u] + pk[g + u]);
      f[row + u] = vmath::sigmoid(a[2 * g + u] + pk[2 * g + u]);
      out[row + u] = vmath::sigmoid(a[3 * g + u] + pk[3 * g + u]);
      sp[row + u] = vmath::sigmoid(a[4 * g + u] + pk[4 * g + u]);
      zc[u] = fixed::quantize_forget(forget_from_sigmoid(sz[row + u]));
      zh[u] = fixed::quantize_forget(forget_from_sigmoid(sp[row + u]));
    }
  }
}

void RevLstmLayer::multiply(int64_t* self, const int32_t* z_fixed, const float* s,
                            const uint8_t* active, int rows, Multiplier mode, InfoBuffer* buffer,
                            SpillStack* spill, int slice, double* optimal_bits) {
  const int g = half(), w = state_width(), c = cache_width();
  switch (mode) {
    case Multiplier::buffered:
      fixed_multiply(self, w, z_fixed, rows, g, slice, active, *buffer, *spill);
      break;
    case Multiplier::lossy:
      lossy_multiply(self, w, z_fixed, rows, g, active);
      break;
    case Multiplier::smooth:
      for (int b = 0; b < rows; ++b) {
        if (!active[b]) continue;
        for (int u = 0; u < g; ++u) {
          const float z = forget_from_sigmoid(s[int64_t(b) * c + u]);
          int64_t& v = self[int64_t(b) * w + u];
          v = fixed::to_fixed(z * fixed::to_float(v));
        }
      }
      break;
    case Multiplier::none:
      break;
  }
  if (optimal_bits != nullptr && mode == Multiplier::buffered) {
    float bits = 0;
    for (int b = 0; b < rows; ++b) {
      if (!active[b]) continue;
      const float* row = s + int64_t(b) * c;
      float row_bits = 0;
#pragma omp simd reduction(+ : row_bits)
      for (int u = slice; u < g; ++u) {
        const float z = forget_from_sigmoid(row[u]);
        row_bits -= vmath::log2(z > kMinForget ? z : kMinForget);
      }
      bits += row_bits;
    }
    *optimal_bits += bits;
  }
}

void RevLstmLayer::forward_half(int k, const uint8_t* active, int rows, int64_t* state,
                                float* cache, Multiplier mode, const StepBuffers& buffers,
                                double* optimal_bits) {
  const int g = half(), w = state_width(), c = cache_width();
  update_.resize(size_t(rows) * g);
  const float *gg = slot(cache, k, kG), *f = slot(cache, k, kF), *out = slot(cache, k, kOut);
  float* tc = slot(cache, k, kTc);
  // c_k ← FM(c_k, Zc) + Qh(f ⊙ g)
  int64_t* cs = c_of(state, k);
  multiply(cs, zc_fixed_.data(), slot(cache, k, kSz), active, rows, mode, buffers.buffer,
           buffers.spill, 0, optimal_bits);
  for (int b = 0; b < rows; ++b) {
    if (!active[b]) continue;
    const int64_t row = int64_t(b) * c;
    int64_t* cr = cs + int64_t(b) * w;
#pragma omp simd
    for (int u = 0; u < g; ++u) cr[u] += fixed::to_fixed(f[row + u] * gg[row + u]);
  }
  check_state_range(cs, w, rows, g, active, "a RevLSTM cell state");
  // h_k ← FM(h_k, Zh) + Qh(o ⊙ tanh(F(c_k)))
  for (int b = 0; b < rows; ++b) {
    const int64_t row = int64_t(b) * c;
    const int64_t* cr = cs + int64_t(b) * w;
    int64_t* upd = update_.data() + size_t(b) * g;
#pragma omp simd
    for (int u = 0; u < g; ++u) {
      const float t = vmath::tanh(fixed::to_float(cr[u]));
      tc[row + u] = t;
      upd[u] = fixed::to_fixed(out[row + u] * t);
    }
  }
  int64_t* hs = h_of(state, k);
  multiply(hs, zh_fixed_.data(), slot(cache, k, kSp), active, rows, mode, buffers.buffer,
           buffers.spill, k == 0 ? buffers.slice : 0, optimal_bits);
  for (int b = 0; b < rows; ++b) {
    if (!active[b]) continue;
    int64_t* hr = hs + int64_t(b) * w;
    const int64_t* upd = update_.data() + size_t(b) * g;
#pragma omp simd
    for (int u = 0; u < g; ++u) hr[u] += upd[u];
  }
  check_state_range(hs, w, rows, g, active, "a RevLSTM hidden state");
}

void RevLstmLayer::reverse_half(int k, const uint8_t* active, int rows, int64_t* state,
                                float* cache, Multiplier mode, const StepBuffers& buffers) {
  REVNMT_CHECK(mode == Multiplier::buffered || mode == Multiplier::none,
               "only buffered or no-forgetting steps can be reversed");
  const int g = half(), w = state_width(), c = cache_width();
  const float *gg = slot(cache, k, kG), *f = slot(cache, k, kF), *out = slot(cache, k, kOut);
  float* tc = slot(cache, k, kTc);
  int64_t* cs = c_of(state, k);
  int64_t* hs = h_of(state, k);
  const int slice = k == 0 ? buffers.slice : 0;
  // Undo h first: its update used the new c.
  for (int b = 0; b < rows; ++b) {
    const int64_t row = int64_t(b) * c;
    const int64_t* cr = cs + int64_t(b) * w;
    int64_t* hr = hs + int64_t(b) * w;
    const bool on = active[b];
#pragma omp simd
    for (int u = 0; u < g; ++u) {
      const float t = vmath::tanh(fixed::to_float(cr[u]));
      tc[row + u] = t;
      hr[u] -= on ? fixed::to_fixed(out[row + u] * t) : 0;
    }
  }
  if (mode == Multiplier::buffered)
    fixed_divide(hs, w, zh_fixed_.data(), rows, g, slice, active, *buffers.buffer, *buffers.spill);
  if (slice > 0 && buffers.slice_before != nullptr) {
    for (int b = 0; b < rows; ++b) {
      if (!active[b]) continue;
      for (int u = 0; u < slice; ++u) hs[int64_t(b) * w + u] = buffers.slice_before[b * slice + u];
    }
  }
  for (int b = 0; b < rows; ++b) {
    if (!active[b]) continue;
    const int64_t row = int64_t(b) * c;
    int64_t* cr = cs + int64_t(b) * w;
#pragma omp simd
    for (int u = 0; u < g; ++u) cr[u] -= fixed::to_fixed(f[row + u] * gg[row + u]);
  }
  if (mode == Multiplier::buffered)
    fixed_divide(cs, w, zc_fixed_.data(), rows, g, 0, active, *buffers.buffer, *buffers.spill);
  float *c_old = slot(cache, k, kCOld), *h_old = slot(cache, k, kHOld);
  for (int b = 0; b < rows; ++b) {
    const int64_t row = int64_t(b) * c;
#pragma omp simd
    for (int u = 0; u < g; ++u) {
      c_old[row + u] = fixed::to_float(cs[int64_t(b) * w + u]);
      h_old[row + u] = fixed::to_float(hs[int64_t(b) * w + u]);
    }
  }
}

void RevLstmLayer::step_forward(const float* p, const uint8_t* active, int rows, int64_t* state,
                                Multiplier mode, const StepBuffers& buffers, double* optimal_bits) {
  scratch_cache_.resize(size_t(rows) * cache_width());
  float* cache = scratch_cache_.data();
  compute_half(0, p, h_of(state, 1), rows, cache);
  forward_half(0, active, rows, state, cache, mode, buffers, optimal_bits);
  compute_half(1, p, h_of(state, 0), rows, cache);
  forward_half(1, active, rows, state, cache, mode, buffers, optimal_bits);
}

void RevLstmLayer::step_reverse(const float* p, const uint8_t* active, int rows, int64_t* state,
                                Multiplier mode, const StepBuffers& buffers, float* cache) {
  compute_half(1, p, h_of(state, 0), rows, cache);
  reverse_half(1, active, rows, state, cache, mode, buffers);
  compute_half(0, p, h_of(state, 1), rows, cache);
  reverse_half(0, active, rows, state, cache, mode, buffers);
}

void RevLstmLayer::step_recompute(const float* p, const uint8_t* active, int rows,
                                  const int64_t* before, const int64_t* after, Multiplier mode,
                                  float* cache) {
  const int g = half(), w = state_width(), c = cache_width();
  compute_half(0, p, before + g, rows, cache);  // half 1 saw the old h2
  compute_half(1, p, after, rows, cache);       // half 2 saw the new h1
  for (int k = 0; k < 2; ++k) {
    float *c_old = slot(cache, k, kCOld), *h_old = slot(cache, k, kHOld), *tc = slot(cache, k, kTc);
    for (int b = 0; b < rows; ++b) {
      const int64_t row = int64_t(b) * c, s = int64_t(b) * w;
#pragma omp simd
      for (int u = 0; u < g; ++u) {
        c_old[row + u] = fixed::to_float(before[s + (2 + k) * g + u]);
        h_old[row + u] = fixed::to_float(before[s + k * g + u]);
        tc[row + u] = vmath::tanh(fixed::to_float(after[s + (2 + k) * g + u]));
      }
    }
  }
  (void)active;
  (void)mode;
}

void RevLstmLayer::backward_half(int k, const float* cache, const uint8_t* active, int rows,
                                 Multiplier mode, float* d_state, float* dp) {
  const int g = half(), w = state_width(), c = cache_width(), pw = projection_width();
  da_.resize(size_t(rows) * 5 * g);
  d_o_.resize(size_t(rows) * g);
  const float *sz = slot(cache, k, kSz), *gg = slot(cache, k, kG), *f = slot(cache, k, kF),
              *out = slot(cache, k, kOut), *sp = slot(cache, k, kSp),
              *c_old = slot(cache, k, kCOld), *h_old = slot(cache, k, kHOld),
              *tc = slot(cache, k, kTc);
  const float mf = max_forget();
  auto keep_of = [mode](float z) {
    return mode == Multiplier::none     ? 1.0f
           : mode == Multiplier::smooth ? z
                                        : float(fixed::quantize_forget(z)) * (1.0f / 1024.0f);
  };
  const bool forgets = mode != Multiplier::none;
  for (int b = 0; b < rows; ++b) {
    float* da = da_.data() + size_t(b) * 5 * g;
    if (!active[b]) {
      for (int u = 0; u < 5 * g; ++u) da[u] = 0.0f;
      continue;
    }
    const int64_t row = int64_t(b) * c;
    float* dh = d_state + int64_t(b) * w + k * g;
    float* dc = d_state + int64_t(b) * w + (2 + k) * g;
#pragma omp simd
    for (int u = 0; u < g; ++u) {
      const float t = tc[row + u], ov = out[row + u];
      const float dhv = dh[u];
      const float dc_total = dc[u] + dhv * ov * (1.0f - t * t);
      const float zc = forget_from_sigmoid(sz[row + u]);
      const float zh = forget_from_sigmoid(sp[row + u]);
      const float dzc = forgets ? dc_total * c_old[row + u] : 0.0f;
      const float dzh = forgets ? dhv * h_old[row + u] : 0.0f;
      const float gv = gg[row + u], fv = f[row + u];
      da[u] = dzc * mf * sz[row + u] * (1.0f - sz[row + u]);
      da[g + u] = dc_total * fv * (1.0f - gv * gv);
      da[2 * g + u] = dc_total * gv * fv * (1.0f - fv);
      da[3 * g + u] = dhv * t * ov * (1.0f - ov);
      da[4 * g + u] = dzh * mf * sp[row + u] * (1.0f - sp[row + u]);
      dh[u] = dhv * keep_of(zh);
      dc[u] = dc_total * keep_of(zc);
    }
  }
  // d(other h) [rows, G] = da [rows, 5G] · U_kᵀ
  matmul_nt(rows, g, 5 * g, da_.data(), u_[k]->data(), d_o_.data());
  const int other = 1 - k;
  for (int b = 0; b < rows; ++b) {
    float* dother = d_state + int64_t(b) * w + other * g;
    const float* d_o = d_o_.data() + size_t(b) * g;
    const float* da = da_.data() + size_t(b) * 5 * g;
    float* dpk = dp + int64_t(b) * pw + k * 5 * g;
#pragma omp simd
    for (int u = 0; u < g; ++u) dother[u] += d_o[u];
    for (int u = 0; u < 5 * g; ++u) dpk[u] = da[u];
  }
}

void RevLstmLayer::step_backward(const float* cache, const uint8_t* active, int rows,
                                 Multiplier mode, float* d_state, float* dp) {
  backward_half(1, cache, active, rows, mode, d_state, dp);
  backward_half(0, cache, active, rows, mode, d_state, dp);
}

void RevLstmLayer::accumulate_recurrent_grads(const float* cache, const float* dp, int rows) {
  const int g = half(), c = cache_width(), pw = projection_width();
  for (int k = 0; k < 2; ++k) {
    // dU_k [G, 5G] += oᵀ [G, rows] · da_k [rows, 5G]
    matmul(true, false, g, 5 * g, rows, slot(cache, k, kO), c, dp + k * 5 * g, pw,
           u_[k]->gradient(), 5 * g, /*accumulate=*/true);
  }
}

}  // namespace revnmt
