#include "reversible/self_check.h"

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <sstream>

#include "reversible/fixed_point.h"

namespace revnmt {

RandomInput::RandomInput(int steps, int rows, int size, uint64_t seed, float scale)
    : rows_(rows), size_(size), x_(size_t(steps) * rows * size), dx_(x_.size(), 0.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  for (auto& v : x_) v = normal(rng);
}

void RandomInput::fill(int t0, int t1, float* out) {
  std::memcpy(out, x_.data() + size_t(t0) * rows_ * size_,
              sizeof(float) * size_t(t1 - t0) * rows_ * size_);
}

void RandomInput::backward(int t0, int t1, const float* d) {
  float* dst = dx_.data() + size_t(t0) * rows_ * size_;
  for (size_t i = 0; i < size_t(t1 - t0) * rows_ * size_; ++i) dst[i] += d[i];
}

LinearLoss::LinearLoss(int steps, int rows, int hidden, uint64_t seed)
    : rows_(rows),
      hidden_(hidden),
      weight_(size_t(steps) * rows * hidden),
      seen_(weight_.size(), NAN) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  for (auto& v : weight_) v = normal(rng);
}

void LinearLoss::backward(int t0, int t1, const float* top, float* d_top) {
  const size_t offset = size_t(t0) * rows_ * hidden_, n = size_t(t1 - t0) * rows_ * hidden_;
  for (size_t i = 0; i < n; ++i) {
    d_top[i] += weight_[offset + i];
    seen_[offset + i] = top[i];
  }
}

double LinearLoss::value(const float* top_all) const {
  double sum = 0;
  for (size_t i = 0; i < weight_.size(); ++i) sum += double(weight_[i]) * top_all[i];
  return sum;
}

std::vector<int32_t> random_lengths(int rows, int steps, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> dist(1, steps);
  std::vector<int32_t> lengths(rows);
  for (auto& l : lengths) l = dist(rng);
  if (rows > 0) lengths[0] = steps;
  return lengths;
}

std::string SelfCheckCase::describe() const {
  std::ostringstream out;
  out << (cell == RevCell::gru ? "RevGRU " : "RevLSTM") << " layers=" << layers << " H=" << hidden
      << " B=" << rows << " T=" << steps << " slice=" << slice << " forget="
      << (forget_bits == 0 ? std::string("unlimited") : std::to_string(forget_bits) + "bits");
  return out.str();
}

namespace {

RevStackConfig config_for(const SelfCheckCase& c, Tape tape) {
  RevStackConfig config;
  config.cell = c.cell;
  config.layers = c.layers;
  config.input_size = c.hidden;
  config.hidden_size = c.hidden;
  config.max_forget = c.forget_bits == 0 ? 1.0f : 1.0f - std::ldexp(1.0f, -c.forget_bits);
  config.slice_dim = c.slice;
  config.dropout_hidden = 0.2f;
  config.tape = tape;
  return config;
}

}  // namespace

ReversalReport check_reversal(const SelfCheckCase& c) {
  ReversalReport report;
  ParameterSet reference_params, params;
  RevStack reference(reference_params, "stack", config_for(c, Tape::stored));
  RevStack stack(params, "stack", config_for(c, Tape::reversal));
  reference_params.init_uniform(1.0f, c.seed);
  params.init_uniform(1.0f, c.seed);
  const auto lengths = random_lengths(c.rows, c.steps, c.seed + 1);
  const SequenceShape shape{c.steps, c.rows, lengths.data()};
  const DropoutKey dropout{c.seed, 1, true};
  RandomInput reference_input(c.steps, c.rows, c.hidden, c.seed + 2, 2.0f);
  RandomInput input(c.steps, c.rows, c.hidden, c.seed + 2, 2.0f);
  reference.forward(shape, reference_input, nullptr, dropout);
  stack.forward(shape, input, nullptr, dropout);
  stack.compact();
  report.ledger = stack.ledger();

  const int w = stack.state_width();
  stack.set_reverse_observer([&](int layer, int t, const int64_t* state) {
    const int64_t* want = reference.stored_states(layer).data<int64_t>() + int64_t(t) * c.rows * w;
    bool differs = false;
    for (int64_t i = 0; i < int64_t(c.rows) * w; ++i) {
      if (state[i] != want[i]) {
        differs = true;
        report.max_abs_difference =
            std::max(report.max_abs_difference,
                     std::fabs(double(state[i] - want[i])) * double(fixed::kToFloat));
      }
    }
    report.states_differing += differs;
    ++report.states_compared;
  });
  LinearLoss loss(c.steps, c.rows, c.hidden, c.seed + 3);
  stack.backward(input, loss, nullptr, nullptr);
  report.buffers_empty = stack.buffers_empty();
  return report;
}

double max_relative_error(const float* a, const float* b, int64_t n) {
  double scale = 0;
  for (int64_t i = 0; i < n; ++i) scale = std::max(scale, double(std::fabs(b[i])));
  double worst = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (std::fabs(b[i]) < 1e-3 * scale) continue;
    worst = std::max(worst, std::fabs(double(a[i]) - b[i]) / std::fabs(double(b[i])));
  }
  return worst;
}

GradientReport check_gradients(const SelfCheckCase& c) {
  GradientReport report;
  struct Run {
    ParameterSet params;
    std::unique_ptr<RevStack> stack;
    std::unique_ptr<RandomInput> input;
    Tensor d_init;
  } runs[2];
  const auto lengths = random_lengths(c.rows, c.steps, c.seed + 1);
  for (int i = 0; i < 2; ++i) {
    Run& run = runs[i];
    run.stack = std::make_unique<RevStack>(run.params, "stack",
                                           config_for(c, i == 0 ? Tape::reversal : Tape::stored));
    run.params.init_uniform(1.0f, c.seed);
    run.input = std::make_unique<RandomInput>(c.steps, c.rows, c.hidden, c.seed + 2);
    run.stack->forward({c.steps, c.rows, lengths.data()}, *run.input, nullptr,
                       DropoutKey{c.seed, 1, true});
    LinearLoss loss(c.steps, c.rows, c.hidden, c.seed + 3);
    run.stack->backward(*run.input, loss, nullptr, &run.d_init);
  }
  auto compare = [&](const float* a, const float* b, int64_t n) {
    report.max_relative_error = std::max(report.max_relative_error, max_relative_error(a, b, n));
    ++report.tensors;
  };
  for (size_t p = 0; p < runs[0].params.size(); ++p)
    compare(runs[0].params[p].grad.data<float>(), runs[1].params[p].grad.data<float>(),
            runs[0].params[p].numel());
  compare(runs[0].input->dx().data(), runs[1].input->dx().data(),
          int64_t(runs[0].input->dx().size()));
  compare(runs[0].d_init.data<float>(), runs[1].d_init.data<float>(), runs[0].d_init.numel());
  return report;
}

}  // namespace revnmt
