#include "reversible/rev_gru.h"

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
  std::vector<float> a_zr, a_g, cache, d_rh, d_o, da_zr, da_g;
  std::vector<int32_t> z_fixed;  // [rows, G] quantized forget multipliers of the half
  std::vector<int64_t> update;   // [rows, G] Qh((1 − z) ⊙ g) of the half
};
thread_local Scratch scratch;

}  // namespace

RevGruLayer::RevGruLayer(ParameterSet& params, const std::string& scope,
                         const RevLayerConfig& config)
    : RevLayer(params, scope, config, 3 * config.hidden_size) {
  const int g = half();
  u_zr_[0] = &params.add(scope + "/U_zr1", {g, 2 * g});
  u_g_[0] = &params.add(scope + "/U_g1", {g, g});
  u_zr_[1] = &params.add(scope + "/U_zr2", {g, 2 * g});
  u_g_[1] = &params.add(scope + "/U_g2", {g, g});
}

void RevGruLayer::pack_recurrent(bool transposed) {
  if (config_.precision != Precision::bf16) return;
  const int g = half();
  for (int k = 0; k < 2; ++k) {
    u_zr_packed_[k].pack(false, g, 2 * g, u_zr_[k]->data(), 2 * g, Precision::bf16);
    u_g_packed_[k].pack(false, g, g, u_g_[k]->data(), g, Precision::bf16);
    if (!transposed) continue;
    u_zr_t_packed_[k].pack(true, 2 * g, g, u_zr_[k]->data(), 2 * g, Precision::bf16);
    u_g_t_packed_[k].pack(true, g, g, u_g_[k]->data(), g, Precision::bf16);
  }
}

void RevGruLayer::compute_half(int k, const float* p, const int64_t* other, int rows,
                               float* cache) {
  const int g = half(), h = 2 * g, c = cache_width(), pw = projection_width();
  Scratch& sc = scratch;
  sc.a_zr.resize(size_t(rows) * 2 * g);
  sc.a_g.resize(size_t(rows) * g);
  sc.z_fixed.resize(size_t(rows) * g);
  sc.update.resize(size_t(rows) * g);

  float* o = slot(cache, k, kO);
  for_each_row(rows, g, [=](int b) {
    const int n = g;
    const int64_t* src = other + int64_t(b) * h;  // [G]
    float* dst = o + int64_t(b) * c;              // [G]
#pragma omp simd
    for (int u = 0; u < n; ++u) dst[u] = fixed::to_float(src[u]);
  });
  const bool bf16 = config_.precision == Precision::bf16;
  // a_zr [rows, 2G] = o [rows, G] · U_zr [G, 2G]
  if (bf16)
    matmul_packed(rows, o, c, u_zr_packed_[k], sc.a_zr.data(), 2 * g);
  else
    matmul(false, false, rows, 2 * g, g, o, c, u_zr_[k]->data(), 2 * g, sc.a_zr.data(), 2 * g);
  const float* p_zr = p + k * 3 * g;
  const float* p_g = p_zr + 2 * g;
  float* s_z = slot(cache, k, kSz);
  float* r = slot(cache, k, kR);
  float* rh = slot(cache, k, kRh);
  const float* a_zr = sc.a_zr.data();
  for_each_row(rows, g, [=](int b) {
    const int n = g;
    const float* a = a_zr + size_t(b) * 2 * n;  // [2G]: z, r
    const float* pz = p_zr + int64_t(b) * pw;   // [2G]
    const int64_t row = int64_t(b) * c;
    float *sz_row = s_z + row, *r_row = r + row, *rh_row = rh + row;  // [G] each
    const float* o_row = o + row;
#pragma omp simd
    for (int u = 0; u < n; ++u) {
      sz_row[u] = vmath::sigmoid(a[u] + pz[u]);
      const float rv = vmath::sigmoid(a[n + u] + pz[n + u]);
      r_row[u] = rv;
      rh_row[u] = rv * o_row[u];
    }
  });
  // a_g [rows, G] = (r ⊙ o) [rows, G] · U_g [G, G]
  if (bf16)
    matmul_packed(rows, rh, c, u_g_packed_[k], sc.a_g.data(), g);
  else
    matmul(false, false, rows, g, g, rh, c, u_g_[k]->data(), g, sc.a_g.data(), g);
  float* gate = slot(cache, k, kG);
  const float* a_g = sc.a_g.data();
  int32_t* z_fixed = sc.z_fixed.data();
  int64_t* update = sc.update.data();
  const ForgetMap forget = forget_map();
  for_each_row(rows, g, [=](int b) {
    const int n = g;
    const ForgetMap fz = forget;
    const float* a = a_g + size_t(b) * n;     // [G]
    const float* pg = p_g + int64_t(b) * pw;  // [G]
    const int64_t row = int64_t(b) * c;
    float* gate_row = gate + row;           // [G]
    const float* sz_row = s_z + row;        // [G]
    int32_t* zf = z_fixed + size_t(b) * n;  // [G]
    int64_t* upd = update + size_t(b) * n;  // [G]
#pragma omp simd
    for (int u = 0; u < n; ++u) {
      const float gv = vmath::tanh(a[u] + pg[u]);
      gate_row[u] = gv;
      const float z = fz(sz_row[u]);
      zf[u] = fixed::quantize_forget(z);
      upd[u] = fixed::to_fixed((1.0f - z) * gv);
    }
  });
}

void RevGruLayer::apply_half(int k, const uint8_t* active, int rows, int64_t* self,
                             const float* cache, Multiplier mode, const StepBuffers& buffers,
                             int slice) {
  const int g = half(), h = 2 * g, c = cache_width();
  const int32_t* z_fixed = scratch.z_fixed.data();
  switch (mode) {
    case Multiplier::buffered:
      fixed_multiply(self, h, z_fixed, rows, g, slice, active, buffers.words, *buffers.spill);
      break;
    case Multiplier::lossy:
      lossy_multiply(self, h, z_fixed, rows, g, active);
      break;
    case Multiplier::smooth: {
      const float* s_z = slot(cache, k, kSz);
      for (int b = 0; b < rows; ++b) {
        if (!active[b]) continue;
        for (int u = 0; u < g; ++u) {
          const float z = forget_from_sigmoid(s_z[int64_t(b) * c + u]);
          self[int64_t(b) * h + u] = fixed::to_fixed(z * fixed::to_float(self[int64_t(b) * h + u]));
        }
      }
      break;
    }
    case Multiplier::none:
      break;
  }
  add_update(active, rows, self, /*subtract=*/false);
  check_state_range(self, h, rows, g, active, "a RevGRU state");
  if (buffers.optimal_bits != nullptr && mode == Multiplier::buffered)
    add_optimal_bits(slot(cache, k, kSz), c, active, rows, slice, buffers.optimal_bits);
}

void RevGruLayer::add_update(const uint8_t* active, int rows, int64_t* self, bool subtract) const {
  const int g = half(), h = 2 * g;
  const int64_t* update = scratch.update.data();
  for_each_row(rows, g, [=](int b) {
    if (!active[b]) return;
    const int n = g;
    int64_t* row = self + int64_t(b) * h;         // [G]
    const int64_t* upd = update + size_t(b) * n;  // [G]
    if (subtract) {
#pragma omp simd
      for (int u = 0; u < n; ++u) row[u] -= upd[u];
    } else {
#pragma omp simd
      for (int u = 0; u < n; ++u) row[u] += upd[u];
    }
  });
}

void RevGruLayer::undo_half(int k, const uint8_t* active, int rows, int64_t* self, Multiplier mode,
                            const StepBuffers& buffers, int slice, const int64_t* slice_before) {
  const int g = half(), h = 2 * g;
  REVNMT_CHECK(mode == Multiplier::buffered || mode == Multiplier::none,
               "only buffered or no-forgetting steps can be reversed");
  add_update(active, rows, self, /*subtract=*/true);
  if (mode == Multiplier::buffered)
    fixed_divide(self, h, scratch.z_fixed.data(), rows, g, slice, active, buffers.words,
                 *buffers.spill);
  if (slice > 0 && slice_before != nullptr) {
    for (int b = 0; b < rows; ++b) {
      if (!active[b]) continue;
      for (int u = 0; u < slice; ++u) self[int64_t(b) * h + u] = slice_before[b * slice + u];
    }
  }
  (void)k;
}

void RevGruLayer::step_forward(const float* p, const uint8_t* active, int rows, int64_t* state,
                               Multiplier mode, const StepBuffers& buffers) {
  const int g = half();
  scratch.cache.resize(size_t(rows) * cache_width());
  float* cache = scratch.cache.data();
  compute_half(0, p, state + g, rows, cache);
  apply_half(0, active, rows, state, cache, mode, buffers, buffers.slice);
  compute_half(1, p, state, rows, cache);
  apply_half(1, active, rows, state + g, cache, mode, buffers, 0);
}

void RevGruLayer::step_reverse(const float* p, const uint8_t* active, int rows, int64_t* state,
                               Multiplier mode, const StepBuffers& buffers, float* cache) {
  const int g = half();
  // Half 2 first: its gates depend on the new h1, which is the current h1.
  compute_half(1, p, state, rows, cache);
  undo_half(1, active, rows, state + g, mode, buffers, 0, nullptr);
  compute_half(0, p, state + g, rows, cache);
  undo_half(0, active, rows, state, mode, buffers, buffers.slice, buffers.slice_before);
  keep_old_states(state, rows, cache);
}

void RevGruLayer::keep_old_states(const int64_t* before, int rows, float* cache) const {
  const int g = half(), h = 2 * g, c = cache_width();
  float* old1 = slot(cache, 0, kOld);
  float* old2 = slot(cache, 1, kOld);
  for_each_row(rows, h, [=](int b) {
    const int n = g;
    const int64_t* s = before + int64_t(b) * h;  // [2G]: h1, h2
    float* o1 = old1 + int64_t(b) * c;           // [G]
    float* o2 = old2 + int64_t(b) * c;           // [G]
#pragma omp simd
    for (int u = 0; u < n; ++u) {
      o1[u] = fixed::to_float(s[u]);
      o2[u] = fixed::to_float(s[n + u]);
    }
  });
}

void RevGruLayer::step_recompute(const float* p, const uint8_t* active, int rows,
                                 const int64_t* before, const int64_t* after, Multiplier mode,
                                 float* cache) {
  const int g = half();
  compute_half(0, p, before + g, rows, cache);  // half 1 saw the old h2
  compute_half(1, p, after, rows, cache);       // half 2 saw the new h1
  keep_old_states(before, rows, cache);
  (void)active;
  (void)mode;
}

void RevGruLayer::backward_half(int k, const float* cache, const uint8_t* active, int rows,
                                Multiplier mode, float* d_self, float* d_other, float* dp) {
  const int g = half(), h = 2 * g, c = cache_width(), pw = projection_width();
  Scratch& sc = scratch;
  sc.da_zr.resize(size_t(rows) * 2 * g);
  sc.da_g.resize(size_t(rows) * g);
  sc.d_rh.resize(size_t(rows) * g);
  sc.d_o.resize(size_t(rows) * g);
  const float* o = slot(cache, k, kO);
  const float* s_z = slot(cache, k, kSz);
  const float* r = slot(cache, k, kR);
  const float* gate = slot(cache, k, kG);
  const float* old = slot(cache, k, kOld);
  const float mf = max_forget();
  const ForgetMap forget = forget_map();
  float* da_zr = sc.da_zr.data();  // [rows, 2G]: d a_z, d a_r
  float* da_g = sc.da_g.data();    // [rows, G]
  float* d_rh = sc.d_rh.data();    // [rows, G]
  float* d_o = sc.d_o.data();      // [rows, G]

  for_each_row(rows, g, [=](int b) {
    const int n = g;
    float* da_z = da_zr + size_t(b) * 2 * n;  // [G] (of 2G)
    float* dag = da_g + size_t(b) * n;        // [G]
    if (!active[b]) {
      for (int u = 0; u < 2 * n; ++u) da_z[u] = 0.0f;
      for (int u = 0; u < n; ++u) dag[u] = 0.0f;
      return;
    }
    const ForgetMap fz = forget;
    const float m = mf;
    const int64_t row = int64_t(b) * c;
    const float *sz_row = s_z + row, *gate_row = gate + row, *old_row = old + row;  // [G]
    float* ds = d_self + int64_t(b) * h;                                            // [G]
#pragma omp simd
    for (int u = 0; u < n; ++u) {
      const float d = ds[u];
      const float sz = sz_row[u], gv = gate_row[u];
      const float z = fz(sz);
      // d self_new / d self_old: Z/1024 (straight-through), z (smooth), 1 (no forgetting).
      const float keep = mode == Multiplier::none ? 1.0f
                         : mode == Multiplier::smooth
                             ? z
                             : float(fixed::quantize_forget(z)) * (1.0f / 1024.0f);
      const float multiplied = mode == Multiplier::none ? 0.0f : old_row[u];
      const float dz = d * (multiplied - gv);
      const float dg = d * (1.0f - z);
      dag[u] = dg * (1.0f - gv * gv);
      da_z[u] = dz * m * sz * (1.0f - sz);
      ds[u] = d * keep;
    }
  });
  const bool bf16 = config_.precision == Precision::bf16;
  // d(r ⊙ o) [rows, G] = da_g [rows, G] · U_gᵀ
  if (bf16)
    matmul_packed(rows, da_g, g, u_g_t_packed_[k], d_rh, g);
  else
    matmul_nt(rows, g, g, da_g, u_g_[k]->data(), d_rh);
  for_each_row(rows, g, [=](int b) {
    const int n = g;
    float* da_r = da_zr + size_t(b) * 2 * n + n;  // [G]
    float* dor = d_o + size_t(b) * n;             // [G]
    if (!active[b]) {
      for (int u = 0; u < n; ++u) da_r[u] = dor[u] = 0.0f;
      return;
    }
    const int64_t row = int64_t(b) * c;
    const float *r_row = r + row, *o_row = o + row;  // [G]
    const float* drh = d_rh + size_t(b) * n;         // [G]
#pragma omp simd
    for (int u = 0; u < n; ++u) {
      const float rv = r_row[u];
      da_r[u] = drh[u] * o_row[u] * rv * (1.0f - rv);
      dor[u] = drh[u] * rv;
    }
  });
  // d o += da_zr [rows, 2G] · U_zrᵀ
  if (bf16)
    matmul_packed(rows, da_zr, 2 * g, u_zr_t_packed_[k], d_o, g, /*accumulate=*/true);
  else
    matmul_nt(rows, g, 2 * g, da_zr, u_zr_[k]->data(), d_o, /*accumulate=*/true);
  for_each_row(rows, g, [=](int b) {
    const int n = g;
    float* dother = d_other + int64_t(b) * h;       // [G]
    const float* dor = d_o + size_t(b) * n;         // [G]
    float* dpz = dp + int64_t(b) * pw + k * 3 * n;  // [3G]: z, r, g
    const float* daz = da_zr + size_t(b) * 2 * n;   // [2G]
    const float* dag = da_g + size_t(b) * n;        // [G]
#pragma omp simd
    for (int u = 0; u < n; ++u) dother[u] += dor[u];
    for (int u = 0; u < 2 * n; ++u) dpz[u] = daz[u];
    for (int u = 0; u < n; ++u) dpz[2 * n + u] = dag[u];
  });
}

void RevGruLayer::step_backward(const float* cache, const uint8_t* active, int rows,
                                Multiplier mode, float* d_state, float* dp) {
  const int g = half();
  backward_half(1, cache, active, rows, mode, d_state + g, d_state, dp);
  backward_half(0, cache, active, rows, mode, d_state, d_state + g, dp);
}

void RevGruLayer::accumulate_recurrent_grads(const float* cache, const float* dp, int rows) {
  const int g = half(), c = cache_width(), pw = projection_width();
  for (int k = 0; k < 2; ++k) {
    // dU_zr [G, 2G] += oᵀ [G, rows] · da_zr [rows, 2G]
    matmul(true, false, g, 2 * g, rows, slot(cache, k, kO), c, dp + k * 3 * g, pw,
           u_zr_[k]->gradient(), 2 * g, /*accumulate=*/true);
    // dU_g [G, G] += (r ⊙ o)ᵀ [G, rows] · da_g [rows, G]
    matmul(true, false, g, g, rows, slot(cache, k, kRh), c, dp + k * 3 * g + 2 * g, pw,
           u_g_[k]->gradient(), g, /*accumulate=*/true);
  }
}

}  // namespace revnmt
