// The reversible stacks' gradients against an independent naive reference
// (tests/reversible/naive_bptt.h): plain double-precision BPTT of the same fixed-point
// forward, written from the equations of REVERSIBLE.md.
//
// For each configuration: a Tape::stored forward records every state of every layer; the
// reference recomputes the gates from them and backpropagates in double. It is compared
// with what RevStack accumulates on its real training path (Tape::reversal: states
// recovered by exact reversal) and, for information, with its stored-tape backward. The
// reference is itself checked by central differences of its smooth surrogate forward.

#include "tests/reversible/naive_bptt.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "nmt/core/dropout.h"
#include "reversible/rev_stack.h"
#include "tests/reversible/stack_fixtures.h"

namespace revnmt {
namespace {

namespace naive = testing::naive;

struct Case {
  const char* name;
  RevCell cell;
  int layers;
  float max_forget;
  bool no_forgetting;
  int slice_dim;
  float dropout;  // between layers
  int steps, rows, hidden, input;
  int chunk_steps;
  unsigned seed;
};

std::ostream& operator<<(std::ostream& os, const Case& c) { return os << c.name; }

constexpr char kScope[] = "stack";
constexpr float kParamRange = 0.5f;
constexpr double kTolerance = 1e-4;

int width_of(const Case& c) { return c.cell == RevCell::lstm ? 2 * c.hidden : c.hidden; }

RevStackConfig stack_config(const Case& c, Tape tape) {
  RevStackConfig config;
  config.cell = c.cell;
  config.layers = c.layers;
  config.input_size = c.input;
  config.hidden_size = c.hidden;
  config.max_forget = c.max_forget;
  config.no_forgetting = c.no_forgetting;
  config.slice_dim = c.slice_dim;
  config.dropout_hidden = c.dropout;
  config.dropout_module = dropout_module_id(DropoutSite::encoder_between_layers);
  config.chunk_steps = c.chunk_steps;
  config.tape = tape;
  return config;
}

DropoutKey dropout_key(const Case& c) { return DropoutKey{c.seed + 100, 5, true}; }

// Lengths in [T/3, T], row 0 full and row 1 clearly shorter, so masks matter.
std::vector<int32_t> lengths_of(const Case& c) {
  std::mt19937 rng(c.seed + 7);
  std::uniform_int_distribution<int> dist(c.steps / 3, c.steps);
  std::vector<int32_t> lengths(c.rows);
  for (auto& l : lengths) l = dist(rng);
  lengths[0] = c.steps;
  lengths[1] = std::min<int32_t>(lengths[1], c.steps - 5);
  return lengths;
}

// Initial states uniform in [−0.5, 0.5] (h and, for LSTM, c).
Tensor initial_state(const Case& c) {
  Tensor init({c.layers, c.rows, width_of(c)}, DType::i64);
  std::mt19937 rng(c.seed + 11);
  std::uniform_real_distribution<double> dist(-0.5, 0.5);
  for (int64_t i = 0; i < init.numel(); ++i) init.data<int64_t>()[i] = naive::to_fixed(dist(rng));
  return init;
}

Tensor final_gradient(const Case& c) {
  Tensor d({c.layers, c.rows, width_of(c)}, DType::f32);
  std::mt19937 rng(c.seed + 13);
  std::normal_distribution<float> normal;
  for (int64_t i = 0; i < d.numel(); ++i) d.data<float>()[i] = normal(rng);
  return d;
}

// One RevStack training run: forward, then backward with the linear loss and d_final.
struct StackRun {
  ParameterSet params;
  std::unique_ptr<RevStack> stack;
  std::unique_ptr<testing::RandomInput> input;
  Tensor d_init;
  std::vector<std::vector<int64_t>> states;     // per layer [T+1, B, W] (stored tape only)
  std::vector<std::vector<int64_t>> recovered;  // per layer [T, B, W] (reversal observer)
  std::vector<float> top;                       // [T, B, H] top outputs (stored tape only)
};

void run_stack(StackRun& r, const Case& c, Tape tape, const std::vector<int32_t>& lengths,
               const Tensor& init, const Tensor& d_final) {
  r.stack = std::make_unique<RevStack>(r.params, kScope, stack_config(c, tape));
  r.params.init_uniform(kParamRange, c.seed);
  r.input = std::make_unique<testing::RandomInput>(c.steps, c.rows, c.input, c.seed + 1);
  r.recovered.assign(c.layers, std::vector<int64_t>(size_t(c.steps) * c.rows * width_of(c), 0));
  r.stack->set_reverse_observer([&r, &c](int layer, int step, const int64_t* state) {
    std::copy(state, state + size_t(c.rows) * width_of(c),
              r.recovered[layer].begin() + size_t(step) * c.rows * width_of(c));
  });
  r.stack->forward({c.steps, c.rows, lengths.data()}, *r.input, &init, dropout_key(c));
  if (tape == Tape::stored) {  // copied before backward(), which may release them
    for (int l = 0; l < c.layers; ++l) {
      const Tensor& s = r.stack->stored_states(l);
      r.states.emplace_back(s.data<int64_t>(), s.data<int64_t>() + s.numel());
    }
    r.top.resize(size_t(c.steps) * c.rows * c.hidden);
    r.stack->kept_outputs(c.hidden, r.top.data());
  }
  testing::LinearLoss loss(c.steps, c.rows, c.hidden, c.seed + 2);
  r.stack->backward(*r.input, loss, &d_final, &r.d_init);
}

// The loss weights of the top outputs, as LinearLoss hands them out.
std::vector<double> top_weights(const Case& c) {
  const size_t n = size_t(c.steps) * c.rows * c.hidden;
  testing::LinearLoss loss(c.steps, c.rows, c.hidden, c.seed + 2);
  std::vector<float> top(n, 0.0f), d(n, 0.0f);
  loss.backward(0, c.steps, top.data(), d.data());
  return std::vector<double>(d.begin(), d.end());
}

naive::Problem make_problem(const Case& c, const StackRun& stored,
                            const std::vector<int32_t>& lengths, const Tensor& d_final) {
  naive::Problem p;
  p.spec.cell = c.cell == RevCell::gru ? naive::Cell::gru : naive::Cell::lstm;
  p.spec.layers = c.layers;
  p.spec.input_size = c.input;
  p.spec.hidden_size = c.hidden;
  p.spec.max_forget = double(c.max_forget);  // m_f as the stack stores it (float)
  p.spec.no_forgetting = c.no_forgetting;
  p.steps = c.steps;
  p.rows = c.rows;
  p.lengths = lengths;
  p.inputs.assign(stored.input->x().begin(), stored.input->x().end());
  p.input_masks.resize(c.layers);
  for (int l = 1; l < c.layers; ++l) {
    // Layer l's input mask: module dropout_module + l (nmt/core/dropout.h, rev_stack.h).
    std::vector<float> mask(size_t(c.rows) * c.hidden);
    locked_dropout_mask(dropout_key(c), stack_config(c, Tape::stored).dropout_module + l, c.dropout,
                        c.rows, c.hidden, mask.data());
    p.input_masks[l].assign(mask.begin(), mask.end());
  }
  p.states = stored.states;

  p.d_top = top_weights(c);
  p.d_final.assign(d_final.data<float>(), d_final.data<float>() + d_final.numel());
  return p;
}

// Error of `got` against the reference. An entry is well-conditioned when |ref| >= 1e-3·max|ref|
// of its tensor and, for parameter gradients (sums of T·B·... contributions), when its
// contributions do not cancel by more than kMaxCancellation (Σ|contribution| / |ref|): an
// entry that is the residue of terms a thousand times larger carries float32 rounding of
// those terms, ~1e-7 of their size, and says nothing about the gradient's correctness.
constexpr double kMaxCancellation = 1e3;

struct Agreement {
  double relative = 0;         // max relative error over well-conditioned entries
  double relative_plain = 0;   // ... over |ref| >= 1e-3·max|ref| only (no cancellation filter)
  double scaled_absolute = 0;  // max |got − ref| / max|ref| over all entries
  int64_t compared = 0;        // well-conditioned entries
  int64_t cancelling = 0;      // entries left out for cancellation only
};

template <typename T>
Agreement agreement(const T* got, const std::vector<double>& ref, const std::vector<double>* mass) {
  double scale = 0;
  for (double v : ref) scale = std::max(scale, std::fabs(v));
  Agreement a;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double err = std::fabs(double(got[i]) - ref[i]);
    a.scaled_absolute = std::max(a.scaled_absolute, scale > 0 ? err / scale : err);
    if (scale == 0 || std::fabs(ref[i]) < 1e-3 * scale) continue;
    const double rel = err / std::fabs(ref[i]);
    a.relative_plain = std::max(a.relative_plain, rel);
    if (mass && (*mass)[i] > kMaxCancellation * std::fabs(ref[i])) {
      ++a.cancelling;
      continue;
    }
    a.relative = std::max(a.relative, rel);
    ++a.compared;
  }
  return a;
}

// Central differences of the reference's smooth surrogate on a strided sample of entries.
// Returns the worst |numeric − analytic| / max(|analytic| of the tensor).
double surrogate_check(const naive::Problem& p, const naive::Trajectory& tr,
                       const naive::Weights& w, const std::vector<double>& init,
                       const naive::Gradients& g) {
  const double eps = 1e-5;
  double worst = 0;
  auto check = [&](std::vector<double>& values, const std::vector<double>& analytic,
                   const std::function<double()>& loss) {
    double scale = 0;
    for (double v : analytic) scale = std::max(scale, std::fabs(v));
    const size_t stride = std::max<size_t>(1, values.size() / 24);
    for (size_t i = 0; i < values.size(); i += stride) {
      const double saved = values[i];
      values[i] = saved + eps;
      const double plus = loss();
      values[i] = saved - eps;
      const double minus = loss();
      values[i] = saved;
      const double numeric = (plus - minus) / (2 * eps);
      worst = std::max(worst, std::fabs(numeric - analytic[i]) / std::max(scale, 1e-12));
    }
  };
  naive::Weights wp = w;
  std::vector<double> inputs = p.inputs, init_p = init;
  auto loss = [&] { return naive::surrogate_loss(p, tr, wp, inputs, init_p); };
  for (size_t l = 0; l < wp.size(); ++l)
    for (size_t k = 0; k < wp[l].size(); ++k) check(wp[l][k].v, g.params[l][k].v, loss);
  check(inputs, g.d_inputs, loss);
  check(init_p, g.d_init, loss);
  return worst;
}

class NaiveBptt : public ::testing::TestWithParam<Case> {};

TEST_P(NaiveBptt, ReversalGradientsEqualNaiveReference) {
  const Case& c = GetParam();
  const std::vector<int32_t> lengths = lengths_of(c);
  const Tensor init = initial_state(c);
  const Tensor d_final = final_gradient(c);

  StackRun stored, reversal;
  run_stack(stored, c, Tape::stored, lengths, init, d_final);
  run_stack(reversal, c, Tape::reversal, lengths, init, d_final);

  // Both runs share the fixed-point trajectory: same final states, and the reversal
  // recovers every stored state.
  const int W = width_of(c);
  for (int l = 0; l < c.layers; ++l) {
    const int64_t* s = stored.states[l].data();
    const int64_t* f = reversal.stack->final_state().data<int64_t>() + size_t(l) * c.rows * W;
    ASSERT_TRUE(std::equal(f, f + size_t(c.rows) * W, s + size_t(c.steps) * c.rows * W))
        << "final states of layer " << l;
    ASSERT_TRUE(std::equal(reversal.recovered[l].begin(), reversal.recovered[l].end(), s))
        << "recovered states of layer " << l;
  }

  // The reference.
  const naive::Problem problem = make_problem(c, stored, lengths, d_final);
  const naive::Weights weights = naive::load_weights(stored.params, kScope, problem.spec);
  const naive::Trajectory tr = naive::analyze(problem, weights);
  const naive::Gradients ref = naive::backprop(problem, weights, tr);
  const naive::Diagnostics& d = tr.diag;
  EXPECT_EQ(d.unexplained, 0) << "stored updates not explained by the equations (worst excess "
                              << d.worst_excess << " fixed-point units)";
  EXPECT_EQ(d.inactive_changed, 0);

  // The reference against its own smooth surrogate: the forward value and finite differences.
  std::vector<double> init_real(init.numel());
  for (int64_t i = 0; i < init.numel(); ++i) init_real[i] = naive::to_real(init.data<int64_t>()[i]);
  double stored_loss =
      testing::LinearLoss(c.steps, c.rows, c.hidden, c.seed + 2).value(stored.top.data());
  for (int l = 0; l < c.layers; ++l) {
    const int64_t* s = stored.states[l].data() + size_t(c.steps) * c.rows * W;
    for (int i = 0; i < c.rows * W; ++i)
      stored_loss +=
          double(d_final.data<float>()[size_t(l) * c.rows * W + i]) * naive::to_real(s[i]);
  }
  const double surrogate = naive::surrogate_loss(problem, tr, weights, problem.inputs, init_real);
  EXPECT_NEAR(surrogate, stored_loss, 1e-5 * std::max(1.0, std::fabs(stored_loss)));
  const double fd = surrogate_check(problem, tr, weights, init_real, ref);
  EXPECT_LE(fd, 1e-6) << "reference vs finite differences of its surrogate";

  // RevStack against the reference.
  std::printf("[%s] T=%d B=%d H=%d I=%d L=%d m_f=%.4g NF=%d sd=%d drop=%.2g chunk=%d\n", c.name,
              c.steps, c.rows, c.hidden, c.input, c.layers, c.max_forget, int(c.no_forgetting),
              c.slice_dim, c.dropout, c.chunk_steps);
  std::printf(
      "  multipliers %lld, near ties %lld (resolved %lld, undecided %lld), worst excess "
      "%.0f units; surrogate FD err %.2e\n",
      (long long)d.multipliers, (long long)d.near_ties, (long long)d.ties_resolved,
      (long long)d.ties_undecided, d.worst_excess, fd);
  std::printf("  %-16s %5s %4s %9s  %-30s  %9s\n", "gradient", "n", "canc", "max|g|",
              "reversal: rel / plain / abs", "stored rel");
  double worst_reversal = 0, worst_plain = 0, worst_stored = 0;
  auto compare = [&](const std::string& what, const float* rev, const float* sto,
                     const std::vector<double>& r, const std::vector<double>* mass) {
    const Agreement a = agreement(rev, r, mass), b = agreement(sto, r, mass);
    double scale = 0;
    for (double v : r) scale = std::max(scale, std::fabs(v));
    std::printf("  %-16s %5lld %4lld %9.3e  %8.2e / %8.2e / %8.2e  %9.2e\n", what.c_str(),
                (long long)a.compared, (long long)a.cancelling, scale, a.relative, a.relative_plain,
                a.scaled_absolute, b.relative);
    EXPECT_GT(a.compared, 0) << what;
    EXPECT_LE(a.relative, kTolerance) << what << " (reversal)";
    EXPECT_LE(b.relative, kTolerance) << what << " (stored)";
    EXPECT_LE(a.scaled_absolute, 1e-5) << what << " (reversal, absolute over all entries)";
    worst_reversal = std::max(worst_reversal, a.relative);
    worst_plain = std::max(worst_plain, a.relative_plain);
    worst_stored = std::max(worst_stored, b.relative);
  };
  for (int l = 0; l < c.layers; ++l) {
    for (size_t k = 0; k < weights[l].size(); ++k) {
      const std::string& name = weights[l][k].name;
      compare(name.substr(std::string(kScope).size() + 1),
              reversal.params.get(name).grad.data<float>(),
              stored.params.get(name).grad.data<float>(), ref.params[l][k].v, &ref.mass[l][k].v);
    }
  }
  compare("inputs", reversal.input->dx().data(), stored.input->dx().data(), ref.d_inputs, nullptr);
  compare("initial state", reversal.d_init.data<float>(), stored.d_init.data<float>(), ref.d_init,
          nullptr);
  std::printf(
      "  worst relative error: reversal %.2e (without the cancellation filter %.2e), stored "
      "%.2e\n",
      worst_reversal, worst_plain, worst_stored);
  std::fflush(stdout);
}

// T 20–40, B 3–5, H 6 or 8, I 4–5; every case has masked rows.
const Case kCases[] = {
    // name                      cell          L  m_f     NF     sd drop   T   B  H  I  chunk seed
    {"gru_l1_mf0875", RevCell::gru, 1, 0.875f, false, 0, 0.0f, 30, 4, 8, 5, 16, 1},
    {"gru_l1_mf1_slice4", RevCell::gru, 1, 1.0f, false, 4, 0.0f, 24, 3, 8, 4, 5, 2},
    {"gru_l2_mf0875_slice2_drop", RevCell::gru, 2, 0.875f, false, 2, 0.3f, 37, 5, 8, 5, 7, 3},
    {"gru_l2_mf1_slice1_drop", RevCell::gru, 2, 1.0f, false, 1, 0.25f, 40, 4, 6, 4, 16, 4},
    {"gru_l2_nf_slice2_drop", RevCell::gru, 2, 0.875f, true, 2, 0.3f, 33, 5, 8, 5, 6, 5},
    {"lstm_l1_mf0875", RevCell::lstm, 1, 0.875f, false, 0, 0.0f, 30, 4, 8, 5, 16, 6},
    {"lstm_l1_mf1_slice3", RevCell::lstm, 1, 1.0f, false, 3, 0.0f, 25, 3, 6, 4, 4, 7},
    {"lstm_l2_mf0875_slice2_drop", RevCell::lstm, 2, 0.875f, false, 2, 0.3f, 37, 5, 8, 5, 7, 8},
    {"lstm_l2_mf1_slice1_drop", RevCell::lstm, 2, 1.0f, false, 1, 0.25f, 40, 4, 6, 4, 16, 9},
    {"lstm_l2_nf_slice2_drop", RevCell::lstm, 2, 0.875f, true, 2, 0.3f, 33, 5, 8, 5, 9, 10},
};

INSTANTIATE_TEST_SUITE_P(Naive, NaiveBptt, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& param_info) {
                           return std::string(param_info.param.name);
                         });

}  // namespace
}  // namespace revnmt
