#include "reversible/rev_lstm.h"

#include "nmt/core/error.h"
#include "nmt/core/matmul.h"
#include "nmt/core/parallel.h"
#include "nmt/core/vmath.h"
#include "reversible/fixed_point.h"

namespace revnmt {

namespace {

// One step's scratch, per thread (row blocks run steps on several threads at once) and
// reused from step to step: no allocation inside the step loops.
struct Scratch {
  std::vector<float> a, cache, da, d_o;
  std::vector<int32_t> zc_fixed, zh_fixed;  // [rows, G] quantized forget multipliers of c, h
  std::vector<int64_t> update;              // [rows, G] the h update of the half
};
thread_local Scratch scratch;

}  // namespace

RevLstmLayer::RevLstmLayer(ParameterSet& params, const std::string& scope,
                           const RevLayerConfig& config)
    : RevLayer(params, scope, config, 5 * config.hidden_size) {
  const int g = half();
  u_[0] = &params.add(scope + "/U1", {g, 5 * g});
  u_[1] = &params.add(scope + "/U2", {g, 5 * g});
}

void RevLstmLayer::pack_recurrent(bool transposed) {
  if (config_.precision != Precision::bf16) return;
  const int g = half();
  for (int k = 0; k < 2; ++k) {
    u_packed_[k].pack(false, g, 5 * g, u_[k]->data(), 5 * g, Precision::bf16);
    if (transposed) u_t_packed_[k].pack(true, 5 * g, g, u_[k]->data(), 5 * g, Precision::bf16);
  }
}

void RevLstmLayer::compute_half(int k, const float* p, const int64_t* other_h, int rows,
                                float* cache) {
  const int g = half(), w = state_width(), c = cache_width(), pw = projection_width();
  Scratch& sc = scratch;
  sc.a.resize(size_t(rows) * 5 * g);
  sc.zc_fixed.resize(size_t(rows) * g);
  sc.zh_fixed.resize(size_t(rows) * g);
  float* o = slot(cache, k, kO);
  for_each_row(rows, g, [=](int b) {
    const int n = g;
    const int64_t* src = other_h + int64_t(b) * w;  // [G]
    float* dst = o + int64_t(b) * c;                // [G]
#pragma omp simd
    for (int u = 0; u < n; ++u) dst[u] = fixed::to_float(src[u]);
  });
  // a [rows, 5G] = o [rows, G] · U_k [G, 5G]
  if (config_.precision == Precision::bf16)
    matmul_packed(rows, o, c, u_packed_[k], sc.a.data(), 5 * g);
  else
    matmul(false, false, rows, 5 * g, g, o, c, u_[k]->data(), 5 * g, sc.a.data(), 5 * g);
  float *sz = slot(cache, k, kSz), *gg = slot(cache, k, kG), *f = slot(cache, k, kF),
        *out = slot(cache, k, kOut), *sp = slot(cache, k, kSp);
  const float* a_all = sc.a.data();
  int32_t *zc_all = sc.zc_fixed.data(), *zh_all = sc.zh_fixed.data();
  const ForgetMap forget = forget_map();
  for_each_row(rows, g, [=](int b) {
    const int n = g;
    const ForgetMap fz = forget;
    const float* a = a_all + size_t(b) * 5 * n;         // [5G]: z_c, g, f, o, z_h
    const float* pk = p + int64_t(b) * pw + k * 5 * n;  // [5G]
    const int64_t row = int64_t(b) * c;
    float *szr = sz + row, *ggr = gg + row, *fr = f + row, *outr = out + row,
          *spr = sp + row;                 // [G] each
    int32_t* zc = zc_all + size_t(b) * n;  // [G]
    int32_t* zh = zh_all + size_t(b) * n;  // [G]
#pragma omp simd
    for (int u = 0; u < n; ++u) {
      szr[u] = vmath::sigmoid(a[u] + pk[u]);
      ggr[u] = vmath::tanh(a[n + u] + pk[n + u]);
      fr[u] = vmath::sigmoid(a[2 * n + u] + pk[2 * n + u]);
      outr[u] = vmath::sigmoid(a[3 * n + u] + pk[3 * n + u]);
      spr[u] = vmath::sigmoid(a[4 * n + u] + pk[4 * n + u]);
      zc[u] = fixed::quantize_forget(fz(szr[u]));
      zh[u] = fixed::quantize_forget(fz(spr[u]));
    }
  });
}

void RevLstmLayer::multiply(int64_t* self, const int32_t* z_fixed, const float* s,
                            const uint8_t* active, int rows, Multiplier mode,
                            const StepBuffers& buffers, int slice) {
  const int g = half(), w = state_width(), c = cache_width();
  switch (mode) {
    case Multiplier::buffered:
      fixed_multiply(self, w, z_fixed, rows, g, slice, active, buffers.words, *buffers.spill);
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
  if (buffers.optimal_bits != nullptr && mode == Multiplier::buffered)
    add_optimal_bits(s, c, active, rows, slice, buffers.optimal_bits);
}

void RevLstmLayer::forward_half(int k, const uint8_t* active, int rows, int64_t* state,
                                float* cache, Multiplier mode, const StepBuffers& buffers) {
  const int g = half(), w = state_width(), c = cache_width();
  scratch.update.resize(size_t(rows) * g);
  const float *gg = slot(cache, k, kG), *f = slot(cache, k, kF), *out = slot(cache, k, kOut);
  float* tc = slot(cache, k, kTc);
  int64_t* update = scratch.update.data();
  // c_k ← FM(c_k, Zc) + Qh(f ⊙ g), then the h update Qh(o ⊙ tanh(F(c_k))) from the new c_k
  int64_t* cs = c_of(state, k);
  multiply(cs, scratch.zc_fixed.data(), slot(cache, k, kSz), active, rows, mode, buffers, 0);
  for_each_row(rows, g, [=](int b) {
    const int n = g;
    const int64_t row = int64_t(b) * c;
    const float *fr = f + row, *ggr = gg + row, *outr = out + row;  // [G] each
    float* tcr = tc + row;                                          // [G]
    int64_t* cr = cs + int64_t(b) * w;                              // [G]
    int64_t* upd = update + size_t(b) * n;                          // [G]
    const bool on = active[b] != 0;
#pragma omp simd
    for (int u = 0; u < n; ++u) {
      const int64_t cv = cr[u] + (on ? fixed::to_fixed(fr[u] * ggr[u]) : 0);
      cr[u] = cv;
      const float t = vmath::tanh(fixed::to_float(cv));
      tcr[u] = t;
      upd[u] = fixed::to_fixed(outr[u] * t);
    }
  });
  check_state_range(cs, w, rows, g, active, "a RevLSTM cell state");
  // h_k ← FM(h_k, Zh) + the update
  int64_t* hs = h_of(state, k);
  multiply(hs, scratch.zh_fixed.data(), slot(cache, k, kSp), active, rows, mode, buffers,
           k == 0 ? buffers.slice : 0);
  for_each_row(rows, g, [=](int b) {
    if (!active[b]) return;
    const int n = g;
    int64_t* hr = hs + int64_t(b) * w;            // [G]
    const int64_t* upd = update + size_t(b) * n;  // [G]
#pragma omp simd
    for (int u = 0; u < n; ++u) hr[u] += upd[u];
  });
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
  for_each_row(rows, g, [=](int b) {
    const int n = g;
    const int64_t row = int64_t(b) * c;
    const int64_t* cr = cs + int64_t(b) * w;  // [G]
    int64_t* hr = hs + int64_t(b) * w;        // [G]
    const float* outr = out + row;            // [G]
    float* tcr = tc + row;                    // [G]
    const bool on = active[b] != 0;
#pragma omp simd
    for (int u = 0; u < n; ++u) {
      const float t = vmath::tanh(fixed::to_float(cr[u]));
      tcr[u] = t;
      hr[u] -= on ? fixed::to_fixed(outr[u] * t) : 0;
    }
  });
  if (mode == Multiplier::buffered)
    fixed_divide(hs, w, scratch.zh_fixed.data(), rows, g, slice, active, buffers.words,
                 *buffers.spill);
  if (slice > 0 && buffers.slice_before != nullptr) {
    for (int b = 0; b < rows; ++b) {
      if (!active[b]) continue;
      for (int u = 0; u < slice; ++u) hs[int64_t(b) * w + u] = buffers.slice_before[b * slice + u];
    }
  }
  for_each_row(rows, g, [=](int b) {
    if (!active[b]) return;
    const int n = g;
    const int64_t row = int64_t(b) * c;
    int64_t* cr = cs + int64_t(b) * w;           // [G]
    const float *fr = f + row, *ggr = gg + row;  // [G] each
#pragma omp simd
    for (int u = 0; u < n; ++u) cr[u] -= fixed::to_fixed(fr[u] * ggr[u]);
  });
  if (mode == Multiplier::buffered)
    fixed_divide(cs, w, scratch.zc_fixed.data(), rows, g, 0, active, buffers.words, *buffers.spill);
  float *c_old = slot(cache, k, kCOld), *h_old = slot(cache, k, kHOld);
  for_each_row(rows, g, [=](int b) {
    const int n = g;
    const int64_t row = int64_t(b) * c;
    const int64_t *cr = cs + int64_t(b) * w, *hr = hs + int64_t(b) * w;  // [G] each
    float *co = c_old + row, *ho = h_old + row;                          // [G] each
#pragma omp simd
    for (int u = 0; u < n; ++u) {
      co[u] = fixed::to_float(cr[u]);
      ho[u] = fixed::to_float(hr[u]);
    }
  });
}

void RevLstmLayer::step_forward(const float* p, const uint8_t* active, int rows, int64_t* state,
                                Multiplier mode, const StepBuffers& buffers) {
  scratch.cache.resize(size_t(rows) * cache_width());
  float* cache = scratch.cache.data();
  compute_half(0, p, h_of(state, 1), rows, cache);
  forward_half(0, active, rows, state, cache, mode, buffers);
  compute_half(1, p, h_of(state, 0), rows, cache);
  forward_half(1, active, rows, state, cache, mode, buffers);
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
    for_each_row(rows, g, [=](int b) {
      const int n = g;
      const int64_t row = int64_t(b) * c;
      const int64_t* bs = before + int64_t(b) * w;                  // [4G]: h1, h2, c1, c2
      const int64_t* as = after + int64_t(b) * w;                   // [4G]
      float *co = c_old + row, *ho = h_old + row, *tcr = tc + row;  // [G] each
#pragma omp simd
      for (int u = 0; u < n; ++u) {
        co[u] = fixed::to_float(bs[(2 + k) * n + u]);
        ho[u] = fixed::to_float(bs[k * n + u]);
        tcr[u] = vmath::tanh(fixed::to_float(as[(2 + k) * n + u]));
      }
    });
  }
  (void)active;
  (void)mode;
}

void RevLstmLayer::backward_half(int k, const float* cache, const uint8_t* active, int rows,
                                 Multiplier mode, float* d_state, float* dp) {
  const int g = half(), w = state_width(), c = cache_width(), pw = projection_width();
  Scratch& sc = scratch;
  sc.da.resize(size_t(rows) * 5 * g);
  sc.d_o.resize(size_t(rows) * g);
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
  const ForgetMap forget = forget_map();
  float* da_all = sc.da.data();  // [rows, 5G]
  for_each_row(rows, g, [=](int b) {
    const int n = g;
    float* da = da_all + size_t(b) * 5 * n;  // [5G]
    if (!active[b]) {
      for (int u = 0; u < 5 * n; ++u) da[u] = 0.0f;
      return;
    }
    const ForgetMap fz = forget;
    const float m = mf;
    const int64_t row = int64_t(b) * c;
    const float *tcr = tc + row, *outr = out + row, *szr = sz + row, *spr = sp + row,
                *cor = c_old + row, *hor = h_old + row, *ggr = gg + row, *fr = f + row;  // [G]
    float* dh = d_state + int64_t(b) * w + k * n;                                        // [G]
    float* dc = d_state + int64_t(b) * w + (2 + k) * n;                                  // [G]
#pragma omp simd
    for (int u = 0; u < n; ++u) {
      const float t = tcr[u], ov = outr[u];
      const float dhv = dh[u];
      const float dc_total = dc[u] + dhv * ov * (1.0f - t * t);
      const float zc = fz(szr[u]);
      const float zh = fz(spr[u]);
      const float dzc = forgets ? dc_total * cor[u] : 0.0f;
      const float dzh = forgets ? dhv * hor[u] : 0.0f;
      const float gv = ggr[u], fv = fr[u];
      da[u] = dzc * m * szr[u] * (1.0f - szr[u]);
      da[n + u] = dc_total * fv * (1.0f - gv * gv);
      da[2 * n + u] = dc_total * gv * fv * (1.0f - fv);
      da[3 * n + u] = dhv * t * ov * (1.0f - ov);
      da[4 * n + u] = dzh * m * spr[u] * (1.0f - spr[u]);
      dh[u] = dhv * keep_of(zh);
      dc[u] = dc_total * keep_of(zc);
    }
  });
  // d(other h) [rows, G] = da [rows, 5G] · U_kᵀ
  if (config_.precision == Precision::bf16)
    matmul_packed(rows, da_all, 5 * g, u_t_packed_[k], sc.d_o.data(), g);
  else
    matmul_nt(rows, g, 5 * g, da_all, u_[k]->data(), sc.d_o.data());
  const int other = 1 - k;
  const float* d_o = sc.d_o.data();
  for_each_row(rows, g, [=](int b) {
    const int n = g;
    float* dother = d_state + int64_t(b) * w + other * n;  // [G]
    const float* dor = d_o + size_t(b) * n;                // [G]
    const float* da = da_all + size_t(b) * 5 * n;          // [5G]
    float* dpk = dp + int64_t(b) * pw + k * 5 * n;         // [5G]
#pragma omp simd
    for (int u = 0; u < n; ++u) dother[u] += dor[u];
    for (int u = 0; u < 5 * n; ++u) dpk[u] = da[u];
  });
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
