#include "reversible/rev_gru.h"

#include "nmt/core/error.h"
#include "nmt/core/matmul.h"
#include "nmt/core/vmath.h"
#include "reversible/fixed_point.h"

namespace revnmt {

RevGruLayer::RevGruLayer(ParameterSet& params, const std::string& scope,
                         const RevLayerConfig& config)
    : RevLayer(params, scope, config, 3 * config.hidden_size) {
  const int g = half();
  u_zr_[0] = &params.add(scope + "/U_zr1", {g, 2 * g});
  u_g_[0] = &params.add(scope + "/U_g1", {g, g});
  u_zr_[1] = &params.add(scope + "/U_zr2", {g, 2 * g});
  u_g_[1] = &params.add(scope + "/U_g2", {g, g});
}

void RevGruLayer::compute_half(int k, const float* p, const int64_t* other, int rows,
                               float* cache) {
  const int g = half(), h = 2 * g, c = cache_width(), pw = projection_width();
  a_zr_.resize(size_t(rows) * 2 * g);
  a_g_.resize(size_t(rows) * g);
  z_fixed_.resize(size_t(rows) * g);
  update_.resize(size_t(rows) * g);

  float* o = slot(cache, k, kO);
  for (int b = 0; b < rows; ++b) {
#pragma omp simd
    for (int u = 0; u < g; ++u) o[b * c + u] = fixed::to_float(other[int64_t(b) * h + u]);
  }
  // a_zr [rows, 2G] = o [rows, G] · U_zr [G, 2G]
  matmul(false, false, rows, 2 * g, g, o, c, u_zr_[k]->data(), 2 * g, a_zr_.data(), 2 * g);
  const float* p_zr = p + k * 3 * g;
  const float* p_g = p_zr + 2 * g;
  float* s_z = slot(cache, k, kSz);
  float* r = slot(cache, k, kR);
  float* rh = slot(cache, k, kRh);
  for (int b = 0; b < rows; ++b) {
    const float* a = a_zr_.data() + size_t(b) * 2 * g;
    const float* pz = p_zr + int64_t(b) * pw;
    const int64_t row = int64_t(b) * c;
#pragma omp simd
    for (int u = 0; u < g; ++u) {
      s_z[row + u] = vmath::sigmoid(a[u] + pz[u]);
      const float rv = vmath::sigmoid(a[g + u] + pz[g + u]);
      r[row + u] = rv;
      rh[row + u] = rv * o[row + u];
    }
  }
  // a_g [rows, G] = (r ⊙ o) [rows, G] · U_g [G, G]
  matmul(false, false, rows, g, g, rh, c, u_g_[k]->data(), g, a_g_.data(), g);
  float* gate = slot(cache, k, kG);
  for (int b = 0; b < rows; ++b) {
    const float* a = a_g_.data() + size_t(b) * g;
    const float* pg = p_g + int64_t(b) * pw;
    const int64_t row = int64_t(b) * c;
    int32_t* zf = z_fixed_.data() + size_t(b) * g;
    int64_t* upd = update_.data() + size_t(b) * g;
#pragma omp simd
    for (int u = 0; u < g; ++u) {
      const float gv = vmath::tanh(a[u] + pg[u]);
      gate[row + u] = gv;
      const float z = forget_from_sigmoid(s_z[row + u]);
      zf[u] = fixed::quantize_forget(z);
      upd[u] = fixed::to_fixed((1.0f - z) * gv);
    }
  }
}

void RevGruLayer::apply_half(int k, const uint8_t* active, int rows, int64_t* self,
                             const float* cache, Multiplier mode, InfoBuffer* buffer,
                             SpillStack* spill, int slice, double* optimal_bits) {
  const int g = half(), h = 2 * g, c = cache_width();
  switch (mode) {
    case Multiplier::buffered:
      fixed_multiply(self, h, z_fixed_.data(), rows, g, slice, active, *buffer, *spill);
      break;
    case Multiplier::lossy:
      lossy_multiply(self, h, z_fixed_.data(), rows, g, active);
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
  for (int b = 0; b < rows; ++b) {
    if (!active[b]) continue;
    int64_t* row = self + int64_t(b) * h;
    const int64_t* upd = update_.data() + size_t(b) * g;
#pragma omp simd
    for (int u = 0; u < g; ++u) row[u] += upd[u];
  }
  check_state_range(self, h, rows, g, active, "a RevGRU state");
  if (optimal_bits != nullptr && mode == Multiplier::buffered) {
    const float* s_z = slot(cache, k, kSz);
    float bits = 0;
    for (int b = 0; b < rows; ++b) {
      if (!active[b]) continue;
      const float* row = s_z + int64_t(b) * c;
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

void RevGruLayer::undo_half(int k, const uint8_t* active, int rows, int64_t* self, Multiplier mode,
                            InfoBuffer* buffer, SpillStack* spill, int slice,
                            const int64_t* slice_before) {
  const int g = half(), h = 2 * g;
  REVNMT_CHECK(mode == Multiplier::buffered || mode == Multiplier::none,
               "only buffered or no-forgetting steps can be reversed");
  for (int b = 0; b < rows; ++b) {
    if (!active[b]) continue;
    int64_t* row = self + int64_t(b) * h;
    const int64_t* upd = update_.data() + size_t(b) * g;
#pragma omp simd
    for (int u = 0; u < g; ++u) row[u] -= upd[u];
  }
  if (mode == Multiplier::buffered)
    fixed_divide(self, h, z_fixed_.data(), rows, g, slice, active, *buffer, *spill);
  if (slice > 0 && slice_before != nullptr) {
    for (int b = 0; b < rows; ++b) {
      if (!active[b]) continue;
      for (int u = 0; u < slice; ++u) self[int64_t(b) * h + u] = slice_before[b * slice + u];
    }
  }
  (void)k;
}

void RevGruLayer::step_forward(const float* p, const uint8_t* active, int rows, int64_t* state,
                               Multiplier mode, const StepBuffers& buffers, double* optimal_bits) {
  const int g = half();
  scratch_cache_.resize(size_t(rows) * cache_width());
  float* cache = scratch_cache_.data();
  compute_half(0, p, state + g, rows, cache);
  apply_half(0, active, rows, state, cache, mode, buffers.buffer, buffers.spill, buffers.slice,
             optimal_bits);
  compute_half(1, p, state, rows, cache);
  apply_half(1, active, rows, state + g, cache, mode, buffers.buffer, buffers.spill, 0,
             optimal_bits);
}

void RevGruLayer::step_reverse(const float* p, const uint8_t* active, int rows, int64_t* state,
                               Multiplier mode, const StepBuffers& buffers, float* cache) {
  const int g = half(), h = 2 * g, c = cache_width();
  // Half 2 first: its gates depend on the new h1, which is the current h1.
  compute_half(1, p, state, rows, cache);
  undo_half(1, active, rows, state + g, mode, buffers.buffer, buffers.spill, 0, nullptr);
  compute_half(0, p, state + g, rows, cache);
  undo_half(0, active, rows, state, mode, buffers.buffer, buffers.spill, buffers.slice,
            buffers.slice_before);
  float* old1 = slot(cache, 0, kOld);
  float* old2 = slot(cache, 1, kOld);
  for (int b = 0; b < rows; ++b) {
#pragma omp simd
    for (int u = 0; u < g; ++u) {
      old1[int64_t(b) * c + u] = fixed::to_float(state[int64_t(b) * h + u]);
      old2[int64_t(b) * c + u] = fixed::to_float(state[int64_t(b) * h + g + u]);
    }
  }
}

void RevGruLayer::step_recompute(const float* p, const uint8_t* active, int rows,
                                 const int64_t* before, const int64_t* after, Multiplier mode,
                                 float* cache) {
  const int g = half(), h = 2 * g, c = cache_width();
  compute_half(0, p, before + g, rows, cache);  // half 1 saw the old h2
  compute_half(1, p, after, rows, cache);       // half 2 saw the new h1
  float* old1 = slot(cache, 0, kOld);
  float* old2 = slot(cache, 1, kOld);
  for (int b = 0; b < rows; ++b) {
#pragma omp simd
    for (int u = 0; u < g; ++u) {
      old1[int64_t(b) * c + u] = fixed::to_float(before[int64_t(b) * h + u]);
      old2[int64_t(b) * c + u] = fixed::to_float(before[int64_t(b) * h + g + u]);
    }
  }
  (void)active;
  (void)mode;
}

void RevGruLayer::backward_half(int k, const float* cache, const uint8_t* active, int rows,
                                Multiplier mode, float* d_self, float* d_other, float* dp) {
  const int g = half(), h = 2 * g, c = cache_width(), pw = projection_width();
  da_zr_.resize(size_t(rows) * 2 * g);
  da_g_.resize(size_t(rows) * g);
  d_rh_.resize(size_t(rows) * g);
  d_o_.resize(size_t(rows) * g);
  const float* o = slot(cache, k, kO);
  const float* s_z = slot(cache, k, kSz);
  const float* r = slot(cache, k, kR);
  const float* gate = slot(cache, k, kG);
  const float* old = slot(cache, k, kOld);
  const float mf = max_forget();

  for (int b = 0; b < rows; ++b) {
    float* da_z = da_zr_.data() + size_t(b) * 2 * g;
    float* da_g = da_g_.data() + size_t(b) * g;
    if (!active[b]) {
      for (int u = 0; u < 2 * g; ++u) da_z[u] = 0.0f;
      for (int u = 0; u < g; ++u) da_g[u] = 0.0f;
      continue;
    }
    const int64_t row = int64_t(b) * c;
    float* ds = d_self + int64_t(b) * h;
#pragma omp simd
    for (int u = 0; u < g; ++u) {
      const float d = ds[u];
      const float sz = s_z[row + u], gv = gate[row + u];
      const float z = forget_from_sigmoid(sz);
      // d self_new / d self_old: Z/1024 (straight-through), z (smooth), 1 (no forgetting).
      const float keep = mode == Multiplier::none ? 1.0f
                         : mode == Multiplier::smooth
                             ? z
                             : float(fixed::quantize_forget(z)) * (1.0f / 1024.0f);
      const float multiplied = mode == Multiplier::none ? 0.0f : old[row + u];
      const float dz = d * (multiplied - gv);
      const float dg = d * (1.0f - z);
      da_g[u] = dg * (1.0f - gv * gv);
      da_z[u] = dz * mf * sz * (1.0f - sz);
      ds[u] = d * keep;
    }
  }
  // d(r ⊙ o) [rows, G] = da_g [rows, G] · U_gᵀ
  matmul_nt(rows, g, g, da_g_.data(), u_g_[k]->data(), d_rh_.data());
  for (int b = 0; b < rows; ++b) {
    float* da_r = da_zr_.data() + size_t(b) * 2 * g + g;
    float* d_o = d_o_.data() + size_t(b) * g;
    if (!active[b]) {
      for (int u = 0; u < g; ++u) da_r[u] = d_o[u] = 0.0f;
      continue;
    }
    const int64_t row = int64_t(b) * c;
    const float* d_rh = d_rh_.data() + size_t(b) * g;
#pragma omp simd
    for (int u = 0; u < g; ++u) {
      const float rv = r[row + u];
      da_r[u] = d_rh[u] * o[row + u] * rv * (1.0f - rv);
      d_o[u] = d_rh[u] * rv;
    }
  }
  // d o += da_zr [rows, 2G] · U_zrᵀ
  matmul_nt(rows, g, 2 * g, da_zr_.data(), u_zr_[k]->data(), d_o_.data(), /*accumulate=*/true);
  for (int b = 0; b < rows; ++b) {
    float* dother = d_other + int64_t(b) * h;
    const float* d_o = d_o_.data() + size_t(b) * g;
    float* dpz = dp + int64_t(b) * pw + k * 3 * g;
    const float* da_zr = da_zr_.data() + size_t(b) * 2 * g;
    const float* da_g = da_g_.data() + size_t(b) * g;
#pragma omp simd
    for (int u = 0; u < g; ++u) dother[u] += d_o[u];
    for (int u = 0; u < 2 * g; ++u) dpz[u] = da_zr[u];
    for (int u = 0; u < g; ++u) dpz[2 * g + u] = da_g[u];
  }
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
