#pragma once
// A naive, independent reference for the gradients of the reversible stacks (RevGRU and
// RevLSTM): plain backprop through time in double precision with scalar loops, written
// from the equations of REVERSIBLE.md — §1.2 (RevGRU), §1.3 (RevLSTM), §2 (fixed point),
// §4.3 (gradient conventions), §4.5 (locked dropout between layers) — and the parameter
// layouts documented in reversible/rev_gru.h and reversible/rev_lstm.h. It deliberately
// shares no code with reversible/*.cc.
//
// The forward it differentiates is the fixed-point forward actually run by the stack. Both
// sides share that trajectory: the caller hands in the exact int64 state of every layer
// before and after every step (RevStack with Tape::stored), and the reference recomputes
// every gate from those states in double. The quantized multipliers Z = Qz(z) are recomputed
// from the double gates; when z·1024 lies so close to a rounding tie that float and double
// gates could round differently, Z is taken from whichever neighbour explains the stored
// states (see Trajectory).
//
// Gradient conventions (§4.3):
//  * a forget multiplication h·Z/1024 is differentiated as Z/1024 with respect to h and as
//    F(h_old) with respect to the (m_f-scaled, unquantized) z — straight-through; slice units
//    (multiplied lossily, restored verbatim by the reverse) behave like the other units;
//  * the additive term mask·Qh(update) is differentiated as if real-valued;
//  * F and Qh pass gradients unchanged; masked rows (t >= length) are the identity.
// Equivalently, the gradients are those of a smooth double-precision surrogate of the
// forward in which each multiplier is z + δ and each update carries a residual ε, with δ
// and ε frozen at the values that reproduce the stored trajectory. surrogate_loss()
// evaluates that surrogate, so the reference can be checked by finite differences on its
// own, independently of the implementation.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "nmt/core/params.h"

namespace revnmt::testing::naive {

enum class Cell { gru, lstm };

// The architecture (mirrors the relevant fields of RevStackConfig).
struct Spec {
  Cell cell = Cell::gru;
  int layers = 1;
  int input_size = 0;
  int hidden_size = 0;
  double max_forget = 0.875;
  bool no_forgetting = false;

  int half() const { return hidden_size / 2; }
  // GRU: [h1 | h2]; LSTM: [h1 | h2 | c1 | c2]; each block G wide.
  int state_width() const { return cell == Cell::gru ? hidden_size : 2 * hidden_size; }
  int blocks() const { return state_width() / half(); }
  int projection_width() const { return (cell == Cell::gru ? 3 : 5) * hidden_size; }
  int layer_input(int layer) const { return layer == 0 ? input_size : hidden_size; }
};

// Everything the forward saw and the loss weights.
// loss = Σ_{t,b,u} d_top[t,b,u]·F(top state after step t)[b,u]   (u < H: [h1 | h2])
//      + Σ_{l,b,w} d_final[l,b,w]·F(state of layer l after the last step)[b,w]
struct Problem {
  Spec spec;
  int steps = 0;                                 // T
  int rows = 0;                                  // B
  std::vector<int32_t> lengths;                  // [B]: row b is active at step t iff t < length
  std::vector<double> inputs;                    // [T, B, I] layer-0 inputs
  std::vector<std::vector<double>> input_masks;  // per layer l >= 1: [B, H] locked dropout mask
  std::vector<std::vector<int64_t>> states;      // per layer: [T+1, B, W] fixed-point states
  std::vector<double> d_top;                     // [T, B, H]
  std::vector<double> d_final;                   // [L, B, W]
};

struct NamedArray {
  std::string name;
  std::vector<double> v;
};

// Per layer, in this order — GRU: Wx [I_l, 3H] (columns [zr1 | g1 | zr2 | g2], zr = [z | r]),
// bx [3H], U_zr1 [G, 2G], U_g1 [G, G], U_zr2 [G, 2G], U_g2 [G, G]. LSTM: Wx [I_l, 5H] (half
// 1's columns [z | g | f | o | p], then half 2's), bx [5H], U1 [G, 5G], U2 [G, 5G]. All
// matrices multiply row vectors from the left: a = x·Wx + bx + other·U.
using Weights = std::vector<std::vector<NamedArray>>;

inline std::vector<std::string> parameter_names(Cell cell) {
  if (cell == Cell::gru) return {"Wx", "bx", "U_zr1", "U_g1", "U_zr2", "U_g2"};
  return {"Wx", "bx", "U1", "U2"};
}

inline Weights load_weights(const ParameterSet& params, const std::string& scope,
                            const Spec& spec) {
  Weights w(spec.layers);
  for (int l = 0; l < spec.layers; ++l) {
    for (const std::string& name : parameter_names(spec.cell)) {
      const std::string full = scope + "/layer" + std::to_string(l) + "/" + name;
      const Parameter& p = params.get(full);
      w[l].push_back({full, std::vector<double>(p.data(), p.data() + p.numel())});
    }
  }
  return w;
}

// F(v) = v·2^-23 and Qh(x) = round(x·2^23) (§2), here in double.
inline double to_real(int64_t v) { return std::ldexp(double(v), -23); }
inline int64_t to_fixed(double x) {
  return static_cast<int64_t>(std::nearbyint(std::ldexp(x, 23)));
}
inline int64_t floor_div(int64_t a, int64_t m) {
  const int64_t q = a / m;
  return (a % m != 0 && ((a < 0) != (m < 0))) ? q - 1 : q;
}
inline double sigmoid(double a) { return 1.0 / (1.0 + std::exp(-a)); }

// ---------------------------------------------------------------------------------------
// Gates of one half of one row (§1.2, §1.3). `x`: the layer's input [I_l]; `other`: F of the
// other half's h [G] (half 1: the old h2; half 2: the new h1).

struct GruGates {
  std::vector<double> other, sz, z, r, rh, g;  // [G] each; sz = sigmoid before m_f scaling
};

// [z ; r] = sigmoid(x·Wx_zr + b_zr + other·U_zr), z ← m_f·z + 1 − m_f,
// g = tanh(x·Wx_g + b_g + (r ⊙ other)·U_g).
inline void gru_gates(const Spec& s, const std::vector<NamedArray>& w, int k, const double* x,
                      const double* other, GruGates& out) {
  const int G = s.half(), P = s.projection_width(), in = int(w[0].v.size()) / P;
  const int base = k * 3 * G;
  const std::vector<double>& wx = w[0].v;
  const std::vector<double>& bx = w[1].v;
  const std::vector<double>& u_zr = w[2 + 2 * k].v;
  const std::vector<double>& u_g = w[3 + 2 * k].v;
  out.other.assign(other, other + G);
  out.sz.assign(G, 0);
  out.z.assign(G, 0);
  out.r.assign(G, 0);
  out.rh.assign(G, 0);
  out.g.assign(G, 0);
  for (int j = 0; j < 2 * G; ++j) {
    double a = bx[base + j];
    for (int i = 0; i < in; ++i) a += x[i] * wx[size_t(i) * P + base + j];
    for (int m = 0; m < G; ++m) a += other[m] * u_zr[size_t(m) * 2 * G + j];
    if (j < G) {
      out.sz[j] = sigmoid(a);
      out.z[j] = s.max_forget * out.sz[j] + (1.0 - s.max_forget);
    } else {
      out.r[j - G] = sigmoid(a);
    }
  }
  for (int m = 0; m < G; ++m) out.rh[m] = out.r[m] * other[m];
  for (int j = 0; j < G; ++j) {
    double a = bx[base + 2 * G + j];
    for (int i = 0; i < in; ++i) a += x[i] * wx[size_t(i) * P + base + 2 * G + j];
    for (int m = 0; m < G; ++m) a += out.rh[m] * u_g[size_t(m) * G + j];
    out.g[j] = std::tanh(a);
  }
}

struct LstmGates {
  std::vector<double> other, sz, z, g, f, o, sp, p;  // [G] each
};

// [z | g | f | o | p] = x·Wx_k + b_k + other·U_k; z, p: m_f-scaled sigmoids; g: tanh;
// f, o: sigmoids.
inline void lstm_gates(const Spec& s, const std::vector<NamedArray>& w, int k, const double* x,
                       const double* other, LstmGates& out) {
  const int G = s.half(), P = s.projection_width(), in = int(w[0].v.size()) / P;
  const int base = k * 5 * G;
  const std::vector<double>& wx = w[0].v;
  const std::vector<double>& bx = w[1].v;
  const std::vector<double>& u = w[2 + k].v;
  out.other.assign(other, other + G);
  for (auto* v : {&out.sz, &out.z, &out.g, &out.f, &out.o, &out.sp, &out.p}) v->assign(G, 0);
  for (int j = 0; j < 5 * G; ++j) {
    double a = bx[base + j];
    for (int i = 0; i < in; ++i) a += x[i] * wx[size_t(i) * P + base + j];
    for (int m = 0; m < G; ++m) a += other[m] * u[size_t(m) * 5 * G + j];
    const int gate = j / G, unit = j % G;
    switch (gate) {
      case 0:
        out.sz[unit] = sigmoid(a);
        out.z[unit] = s.max_forget * out.sz[unit] + (1.0 - s.max_forget);
        break;
      case 1:
        out.g[unit] = std::tanh(a);
        break;
      case 2:
        out.f[unit] = sigmoid(a);
        break;
      case 3:
        out.o[unit] = sigmoid(a);
        break;
      default:
        out.sp[unit] = sigmoid(a);
        out.p[unit] = s.max_forget * out.sp[unit] + (1.0 - s.max_forget);
        break;
    }
  }
}

// ---------------------------------------------------------------------------------------
// The trajectory: per active (layer, step, row, state block, unit) the multiplier the
// forward applied (Z/1024, or 1 without forgetting) and the frozen surrogate offsets
// δ = multiplier − z and ε = F(new) − F(old)·multiplier − update.

struct Diagnostics {
  int64_t multipliers = 0;       // quantized multipliers recomputed
  int64_t near_ties = 0;         // z·1024 within kTieWindow of a rounding tie
  int64_t ties_resolved = 0;     // ... decided by the stored states
  int64_t ties_undecided = 0;    // ... both neighbours consistent (h tiny): nearest kept
  int64_t unexplained = 0;       // units whose stored update the equations do not explain
  int64_t inactive_changed = 0;  // masked rows whose state changed
  double worst_excess = 0;       // fixed-point units beyond the allowed buffer remainder
};

struct Trajectory {
  std::vector<double> multiplier, delta, residual;  // [L, T, B, blocks, G]
  Diagnostics diag;
};

// Fixed-point units of slack for the float-vs-double difference of Qh(update).
constexpr int64_t kUpdateTolerance = 64;
// Distance of z·1024 from a rounding tie below which float and double might round apart.
constexpr double kTieWindow = 2e-3;

// How far the stored new value is from the forward equation with multiplier Z:
//   forget:    new = floor(old / 1024)·Z + rem + Qh(update), 0 <= rem < Z (§3.2: rem is the
//              buffer's remainder; 0 for lossy slice units)
//   no forget: new = old + Qh(update)
// Returns the excess beyond the allowed interval, in fixed-point units.
inline int64_t update_excess(bool forgets, int64_t Z, int64_t old_v, int64_t new_v, double update) {
  if (!forgets) return std::llabs(new_v - old_v - to_fixed(update));
  const int64_t rem = new_v - floor_div(old_v, 1024) * Z - to_fixed(update);
  if (rem < 0) return -rem;
  return rem >= Z ? rem - (Z - 1) : 0;
}

inline size_t unit_index(const Problem& p, int l, int t, int b, int block, int j) {
  const int G = p.spec.half(), V = p.spec.blocks();
  return ((((size_t(l) * p.steps + t) * p.rows + b) * V + block) * G + j);
}

// Records the multiplier of one unit given the recomputed z and update.
inline void record_unit(const Problem& p, Trajectory& tr, size_t idx, double z, int64_t old_v,
                        int64_t new_v, double update) {
  Diagnostics& d = tr.diag;
  const bool forgets = !p.spec.no_forgetting;
  double mult = 1.0;
  if (forgets) {
    // Z = Qz(z) = round(z·1024), clamped to [1, 1024] (§1.1, §2; fixed_point.h clamps Z >= 1).
    auto clamp = [](double v) { return int64_t(std::min(1024.0, std::max(1.0, v))); };
    const double scaled = z * 1024.0;
    int64_t Z = clamp(std::nearbyint(scaled));
    ++d.multipliers;
    if (std::fabs(scaled - std::floor(scaled) - 0.5) < kTieWindow) {
      ++d.near_ties;
      const int64_t lo = clamp(std::floor(scaled)), hi = clamp(std::floor(scaled) + 1);
      const bool lo_ok = update_excess(true, lo, old_v, new_v, update) <= kUpdateTolerance;
      const bool hi_ok = update_excess(true, hi, old_v, new_v, update) <= kUpdateTolerance;
      if (lo_ok != hi_ok) {
        Z = lo_ok ? lo : hi;
        ++d.ties_resolved;
      } else {
        ++d.ties_undecided;
      }
    }
    mult = double(Z) / 1024.0;
    const int64_t excess = update_excess(true, Z, old_v, new_v, update);
    d.worst_excess = std::max(d.worst_excess, double(excess));
    if (excess > kUpdateTolerance) ++d.unexplained;
  } else {
    const int64_t excess = update_excess(false, 0, old_v, new_v, update);
    d.worst_excess = std::max(d.worst_excess, double(excess));
    if (excess > kUpdateTolerance) ++d.unexplained;
  }
  tr.multiplier[idx] = mult;
  tr.delta[idx] = forgets ? mult - z : 0.0;
  tr.residual[idx] = to_real(new_v) - to_real(old_v) * mult - update;
}

inline const int64_t* state_at(const Problem& p, int l, int t, int b) {
  return p.states[l].data() + (size_t(t) * p.rows + b) * p.spec.state_width();
}

// The input of layer l at step t for row b: layer 0 the given inputs; layer l >= 1 the
// lower layer's output after step t, F([h1 | h2]), times its locked dropout mask (§4.5).
inline std::vector<double> layer_input(const Problem& p, int l, int t, int b) {
  const int H = p.spec.hidden_size, in = p.spec.layer_input(l);
  std::vector<double> x(in);
  if (l == 0) {
    const double* src = p.inputs.data() + (size_t(t) * p.rows + b) * in;
    x.assign(src, src + in);
  } else {
    const int64_t* below = state_at(p, l - 1, t + 1, b);
    for (int j = 0; j < H; ++j) x[j] = to_real(below[j]) * p.input_masks[l][size_t(b) * H + j];
  }
  return x;
}

inline std::vector<double> real_block(const int64_t* state, int block, int G) {
  std::vector<double> v(G);
  for (int j = 0; j < G; ++j) v[j] = to_real(state[block * G + j]);
  return v;
}

inline Trajectory analyze(const Problem& p, const Weights& w) {
  const Spec& s = p.spec;
  const int G = s.half(), W = s.state_width();
  Trajectory tr;
  const size_t n = size_t(s.layers) * p.steps * p.rows * s.blocks() * G;
  tr.multiplier.assign(n, 1.0);
  tr.delta.assign(n, 0.0);
  tr.residual.assign(n, 0.0);
  for (int l = 0; l < s.layers; ++l) {
    for (int t = 0; t < p.steps; ++t) {
      for (int b = 0; b < p.rows; ++b) {
        const int64_t* before = state_at(p, l, t, b);
        const int64_t* after = state_at(p, l, t + 1, b);
        if (t >= p.lengths[b]) {
          for (int i = 0; i < W; ++i) tr.diag.inactive_changed += before[i] != after[i];
          continue;
        }
        const std::vector<double> x = layer_input(p, l, t, b);
        for (int k = 0; k < 2; ++k) {
          // Half 1 reads the old h2, half 2 the new h1 (§1.1).
          const std::vector<double> other =
              k == 0 ? real_block(before, 1, G) : real_block(after, 0, G);
          if (s.cell == Cell::gru) {
            GruGates q;
            gru_gates(s, w[l], k, x.data(), other.data(), q);
            for (int j = 0; j < G; ++j) {
              // h_k' = FM(h_k, Qz(z_k)) + Qh((1 − z_k) ⊙ g_k)   (§1.2 step 3)
              record_unit(p, tr, unit_index(p, l, t, b, k, j), q.z[j], before[k * G + j],
                          after[k * G + j], (1.0 - q.z[j]) * q.g[j]);
            }
          } else {
            LstmGates q;
            lstm_gates(s, w[l], k, x.data(), other.data(), q);
            const int hb = k, cb = 2 + k;
            for (int j = 0; j < G; ++j) {
              // c_k' = FM(c_k, Qz(z_k)) + Qh(f_k ⊙ g_k)                 (§1.3 steps 1, 3)
              record_unit(p, tr, unit_index(p, l, t, b, cb, j), q.z[j], before[cb * G + j],
                          after[cb * G + j], q.f[j] * q.g[j]);
              // h_k' = FM(h_k, Qz(p_k)) + Qh(o_k ⊙ tanh(F(c_k')))       (§1.3 steps 2, 4)
              const double tc = std::tanh(to_real(after[cb * G + j]));
              record_unit(p, tr, unit_index(p, l, t, b, hb, j), q.p[j], before[hb * G + j],
                          after[hb * G + j], q.o[j] * tc);
            }
          }
        }
      }
    }
  }
  return tr;
}

// ---------------------------------------------------------------------------------------
// The smooth surrogate forward in double (multiplier z + δ, residual ε frozen): at the
// parameters, inputs and initial states of the problem it reproduces F(stored states) up to
// double rounding; its exact derivative is the reference gradient.

inline double surrogate_loss(const Problem& p, const Trajectory& tr, const Weights& w,
                             const std::vector<double>& inputs, const std::vector<double>& init) {
  const Spec& s = p.spec;
  const int G = s.half(), W = s.state_width(), H = s.hidden_size;
  const int T = p.steps, B = p.rows;
  const bool nf = s.no_forgetting;
  std::vector<double> below;  // previous layer's states [T+1, B, W]
  double loss = 0;
  for (int l = 0; l < s.layers; ++l) {
    const int in = s.layer_input(l);
    std::vector<double> st(size_t(T + 1) * B * W);
    std::copy(init.begin() + size_t(l) * B * W, init.begin() + size_t(l + 1) * B * W, st.begin());
    for (int t = 0; t < T; ++t) {
      for (int b = 0; b < B; ++b) {
        const double* old_s = &st[(size_t(t) * B + b) * W];
        double* new_s = &st[(size_t(t + 1) * B + b) * W];
        std::copy(old_s, old_s + W, new_s);
        if (t >= p.lengths[b]) continue;
        std::vector<double> x(in);
        for (int i = 0; i < in; ++i) {
          x[i] = l == 0
                     ? inputs[(size_t(t) * B + b) * in + i]
                     : below[(size_t(t + 1) * B + b) * W + i] * p.input_masks[l][size_t(b) * H + i];
        }
        for (int k = 0; k < 2; ++k) {
          const double* other = k == 0 ? old_s + G : new_s;  // old h2, then new h1
          auto idx = [&](int block, int j) { return unit_index(p, l, t, b, block, j); };
          if (s.cell == Cell::gru) {
            GruGates q;
            gru_gates(s, w[l], k, x.data(), other, q);
            for (int j = 0; j < G; ++j) {
              const size_t u = idx(k, j);
              const double m = nf ? 1.0 : q.z[j] + tr.delta[u];
              new_s[k * G + j] = old_s[k * G + j] * m + (1.0 - q.z[j]) * q.g[j] + tr.residual[u];
            }
          } else {
            LstmGates q;
            lstm_gates(s, w[l], k, x.data(), other, q);
            const int hb = k, cb = 2 + k;
            for (int j = 0; j < G; ++j) {
              const size_t uc = idx(cb, j), uh = idx(hb, j);
              const double mc = nf ? 1.0 : q.z[j] + tr.delta[uc];
              const double mh = nf ? 1.0 : q.p[j] + tr.delta[uh];
              new_s[cb * G + j] = old_s[cb * G + j] * mc + q.f[j] * q.g[j] + tr.residual[uc];
              new_s[hb * G + j] =
                  old_s[hb * G + j] * mh + q.o[j] * std::tanh(new_s[cb * G + j]) + tr.residual[uh];
            }
          }
        }
      }
    }
    if (l == s.layers - 1) {
      for (int t = 0; t < T; ++t)
        for (int b = 0; b < B; ++b)
          for (int u = 0; u < H; ++u)
            loss += p.d_top[(size_t(t) * B + b) * H + u] * st[(size_t(t + 1) * B + b) * W + u];
    }
    for (int b = 0; b < B; ++b)
      for (int i = 0; i < W; ++i)
        loss += p.d_final[(size_t(l) * B + b) * W + i] * st[(size_t(T) * B + b) * W + i];
    below = std::move(st);
  }
  return loss;
}

// ---------------------------------------------------------------------------------------
// Backprop through time.

struct Gradients {
  Weights params;                // same layout as the weights, zero-initialized then accumulated
  Weights mass;                  // Σ |contribution| of each parameter gradient entry
  std::vector<double> d_inputs;  // [T, B, I]
  std::vector<double> d_init;    // [L, B, W]
};

// Adds d/d(projection) `da` of columns [col, col + n) into dWx, dbx and dx (a = x·Wx + bx),
// and the magnitudes of the weight-gradient contributions into mWx, mbx.
inline void projection_backward(const std::vector<double>& wx, std::vector<double>& dwx,
                                std::vector<double>& dbx, std::vector<double>& mwx,
                                std::vector<double>& mbx, int P, const std::vector<double>& x,
                                int col, const std::vector<double>& da, std::vector<double>& dx) {
  const int in = int(x.size());
  for (int c = 0; c < int(da.size()); ++c) {
    dbx[col + c] += da[c];
    mbx[col + c] += std::fabs(da[c]);
    for (int i = 0; i < in; ++i) {
      dwx[size_t(i) * P + col + c] += x[i] * da[c];
      mwx[size_t(i) * P + col + c] += std::fabs(x[i] * da[c]);
      dx[i] += wx[size_t(i) * P + col + c] * da[c];
    }
  }
}

// Adds the gradient of a = in·U (U [G, n]) into dU and d_in (contribution magnitudes into mU).
inline void recurrent_backward(const std::vector<double>& u, std::vector<double>& du,
                               std::vector<double>& mu, const std::vector<double>& in,
                               const std::vector<double>& da, std::vector<double>& d_in) {
  const int n = int(da.size());
  for (int m = 0; m < int(in.size()); ++m) {
    for (int j = 0; j < n; ++j) {
      du[size_t(m) * n + j] += in[m] * da[j];
      mu[size_t(m) * n + j] += std::fabs(in[m] * da[j]);
      d_in[m] += u[size_t(m) * n + j] * da[j];
    }
  }
}

// One RevGRU half, backwards. d_self: d/d(h_k after) on entry, d/d(h_k before) on exit;
// d_other receives d/d(other) (the F(other h) the gates read).
//   h' = h·M + (1 − z)·g, M = Z/1024 (or 1)          dh = dh'·M, dz = dh'·(F(h) − g) [or −dh'·g]
//   g = tanh(a_g), a_g = x·Wx_g + b_g + (r ⊙ o)·U_g  dg = dh'·(1 − z)
//   z = m_f·σ(a_z) + 1 − m_f,  r = σ(a_r)
inline void gru_half_backward(const Problem& p, const Trajectory& tr, const Weights& w,
                              Gradients& grads, int l, int t, int b, int k,
                              const std::vector<double>& x, const int64_t* before,
                              const int64_t* after, double* d_self, std::vector<double>& d_other,
                              std::vector<double>& dx) {
  const Spec& s = p.spec;
  const int G = s.half(), P = s.projection_width(), base = k * 3 * G;
  const std::vector<double> other = k == 0 ? real_block(before, 1, G) : real_block(after, 0, G);
  GruGates q;
  gru_gates(s, w[l], k, x.data(), other.data(), q);
  std::vector<double> da_zr(2 * G, 0.0), da_g(G, 0.0), d_rh(G, 0.0);
  for (int j = 0; j < G; ++j) {
    const double dh = d_self[j];
    const double m = tr.multiplier[unit_index(p, l, t, b, k, j)];
    const double old_h = to_real(before[k * G + j]);
    const double dz = (s.no_forgetting ? 0.0 : dh * old_h) - dh * q.g[j];
    const double dg = dh * (1.0 - q.z[j]);
    d_self[j] = dh * m;
    da_g[j] = dg * (1.0 - q.g[j] * q.g[j]);
    da_zr[j] = dz * s.max_forget * q.sz[j] * (1.0 - q.sz[j]);
  }
  std::vector<NamedArray>& dw = grads.params[l];
  std::vector<NamedArray>& mw = grads.mass[l];
  // a_g = ... + rh·U_g
  recurrent_backward(w[l][3 + 2 * k].v, dw[3 + 2 * k].v, mw[3 + 2 * k].v, q.rh, da_g, d_rh);
  for (int m = 0; m < G; ++m) {
    // rh = r ⊙ other
    const double dr = d_rh[m] * other[m];
    d_other[m] += d_rh[m] * q.r[m];
    da_zr[G + m] = dr * q.r[m] * (1.0 - q.r[m]);
  }
  // a_zr = ... + other·U_zr
  recurrent_backward(w[l][2 + 2 * k].v, dw[2 + 2 * k].v, mw[2 + 2 * k].v, other, da_zr, d_other);
  projection_backward(w[l][0].v, dw[0].v, dw[1].v, mw[0].v, mw[1].v, P, x, base, da_zr, dx);
  projection_backward(w[l][0].v, dw[0].v, dw[1].v, mw[0].v, mw[1].v, P, x, base + 2 * G, da_g, dx);
}

// One RevLSTM half, backwards. d_state: d/d(state after) on entry; the half's h and c
// blocks hold d/d(before) on exit.
//   c' = c·Mc + f·g                 dc = dc'·Mc, dz = dc'·F(c) [0 without forgetting]
//   h' = h·Mh + o·tanh(c')          dh = dh'·Mh, dp = dh'·F(h) [idem], do = dh'·tanh(c'),
//                                   dc' += dh'·o·(1 − tanh²(c'))
inline void lstm_half_backward(const Problem& p, const Trajectory& tr, const Weights& w,
                               Gradients& grads, int l, int t, int b, int k,
                               const std::vector<double>& x, const int64_t* before,
                               const int64_t* after, double* d_state, std::vector<double>& d_other,
                               std::vector<double>& dx) {
  const Spec& s = p.spec;
  const int G = s.half(), P = s.projection_width(), base = k * 5 * G;
  const int hb = k, cb = 2 + k;
  const std::vector<double> other = k == 0 ? real_block(before, 1, G) : real_block(after, 0, G);
  LstmGates q;
  lstm_gates(s, w[l], k, x.data(), other.data(), q);
  const double mf = s.max_forget;
  std::vector<double> da(5 * G, 0.0);
  for (int j = 0; j < G; ++j) {
    const size_t uh = unit_index(p, l, t, b, hb, j), uc = unit_index(p, l, t, b, cb, j);
    const double dh = d_state[hb * G + j];
    const double tc = std::tanh(to_real(after[cb * G + j]));
    const double dc = d_state[cb * G + j] + dh * q.o[j] * (1.0 - tc * tc);
    const double d_o = dh * tc;
    const double d_p = s.no_forgetting ? 0.0 : dh * to_real(before[hb * G + j]);
    const double d_z = s.no_forgetting ? 0.0 : dc * to_real(before[cb * G + j]);
    const double d_f = dc * q.g[j], d_g = dc * q.f[j];
    d_state[hb * G + j] = dh * tr.multiplier[uh];
    d_state[cb * G + j] = dc * tr.multiplier[uc];
    da[0 * G + j] = d_z * mf * q.sz[j] * (1.0 - q.sz[j]);
    da[1 * G + j] = d_g * (1.0 - q.g[j] * q.g[j]);
    da[2 * G + j] = d_f * q.f[j] * (1.0 - q.f[j]);
    da[3 * G + j] = d_o * q.o[j] * (1.0 - q.o[j]);
    da[4 * G + j] = d_p * mf * q.sp[j] * (1.0 - q.sp[j]);
  }
  std::vector<NamedArray>& dw = grads.params[l];
  std::vector<NamedArray>& mw = grads.mass[l];
  recurrent_backward(w[l][2 + k].v, dw[2 + k].v, mw[2 + k].v, other, da, d_other);
  projection_backward(w[l][0].v, dw[0].v, dw[1].v, mw[0].v, mw[1].v, P, x, base, da, dx);
}

// d(loss)/d(every parameter, input and initial state), by plain BPTT over the stored
// trajectory, layer by layer from the top (layer l's input gradient feeds layer l−1's
// output gradient through the dropout mask).
inline Gradients backprop(const Problem& p, const Weights& w, const Trajectory& tr) {
  const Spec& s = p.spec;
  const int G = s.half(), W = s.state_width(), H = s.hidden_size;
  const int T = p.steps, B = p.rows, L = s.layers;
  Gradients grads;
  grads.params = w;
  for (auto& layer : grads.params)
    for (auto& a : layer) std::fill(a.v.begin(), a.v.end(), 0.0);
  grads.mass = grads.params;
  grads.d_init.assign(size_t(L) * B * W, 0.0);
  std::vector<double> dx_above;  // [T, B, H]: d/d(input of layer l+1)
  for (int l = L - 1; l >= 0; --l) {
    const int in = s.layer_input(l);
    // External gradients of this layer's states [T+1, B, W].
    std::vector<double> ext(size_t(T + 1) * B * W, 0.0);
    for (int t = 0; t < T; ++t) {
      for (int b = 0; b < B; ++b) {
        double* e = &ext[(size_t(t + 1) * B + b) * W];
        for (int u = 0; u < H; ++u) {
          if (l == L - 1) e[u] += p.d_top[(size_t(t) * B + b) * H + u];
          // x_{l+1} = F(h_l) ⊙ mask_{l+1}   (§4.5)
          if (l < L - 1)
            e[u] += dx_above[(size_t(t) * B + b) * H + u] * p.input_masks[l + 1][size_t(b) * H + u];
        }
      }
    }
    for (int b = 0; b < B; ++b)
      for (int i = 0; i < W; ++i)
        ext[(size_t(T) * B + b) * W + i] += p.d_final[(size_t(l) * B + b) * W + i];

    std::vector<double> dx_this(size_t(T) * B * in, 0.0);
    for (int b = 0; b < B; ++b) {
      std::vector<double> d(W, 0.0);  // d/d(state after step t − 1) = d/d(states[t])
      for (int t = T; t >= 0; --t) {
        for (int i = 0; i < W; ++i) d[i] += ext[(size_t(t) * B + b) * W + i];
        if (t == 0) break;
        const int step = t - 1;
        if (step >= p.lengths[b]) continue;  // masked row: the step is the identity
        const int64_t* before = state_at(p, l, step, b);
        const int64_t* after = state_at(p, l, step + 1, b);
        const std::vector<double> x = layer_input(p, l, step, b);
        std::vector<double> dx(in, 0.0);
        // Half 2 first (it read the new h1), then half 1 (it read the old h2).
        for (int k = 1; k >= 0; --k) {
          std::vector<double> d_other(G, 0.0);
          if (s.cell == Cell::gru) {
            gru_half_backward(p, tr, w, grads, l, step, b, k, x, before, after, &d[k * G], d_other,
                              dx);
          } else {
            lstm_half_backward(p, tr, w, grads, l, step, b, k, x, before, after, d.data(), d_other,
                               dx);
          }
          // other of half 2 = new h1 (block 0, still "after"); of half 1 = old h2 (block 1,
          // whose entry already holds d/d(before)).
          const int other_block = k == 1 ? 0 : 1;
          for (int j = 0; j < G; ++j) d[other_block * G + j] += d_other[j];
        }
        for (int i = 0; i < in; ++i) dx_this[(size_t(step) * B + b) * in + i] += dx[i];
      }
      for (int i = 0; i < W; ++i) grads.d_init[(size_t(l) * B + b) * W + i] = d[i];
    }
    dx_above = std::move(dx_this);
  }
  grads.d_inputs = std::move(dx_above);
  return grads;
}

}  // namespace revnmt::testing::naive
