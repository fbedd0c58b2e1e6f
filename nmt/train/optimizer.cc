#include "nmt/train/optimizer.h"

#include <cmath>
#include <cstring>

#include "nmt/core/error.h"

namespace revnmt {

namespace {

Tensor step_tensor(int64_t steps) {
  Tensor t({1}, DType::i64);
  t.data<int64_t>()[0] = steps;
  return t;
}

const NamedTensor* find_tensor(const std::vector<NamedTensor>& tensors, const std::string& name) {
  for (const auto& named : tensors)
    if (named.name == name) return &named;
  return nullptr;
}

int64_t read_steps(const std::vector<NamedTensor>& tensors, const std::string& source) {
  const NamedTensor* found = find_tensor(tensors, "step");
  if (found == nullptr || found->tensor.dtype() != DType::i64 || found->tensor.numel() != 1)
    fail(source, ": optimizer state lacks a valid 'step' counter");
  const int64_t steps = found->tensor.data<int64_t>()[0];
  if (steps < 0) fail(source, ": optimizer state has a negative step counter");
  return steps;
}

}  // namespace

void SgdOptimizer::step(ParameterSet& params, double lr) {
  const float rate = static_cast<float>(lr);
  for (size_t i = 0; i < params.size(); ++i) {
    Parameter& param = params[i];
    float* p = param.data();
    const float* g = param.gradient();
    const int64_t n = param.numel();
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t k = 0; k < n; ++k) p[k] -= rate * g[k];
  }
  ++steps_;
}

std::vector<NamedTensor> SgdOptimizer::state() const { return {{"step", step_tensor(steps_)}}; }

void SgdOptimizer::load_state(const std::vector<NamedTensor>& tensors, const std::string& source) {
  steps_ = read_steps(tensors, source);
}

AdamOptimizer::AdamOptimizer(const ParameterSet& params, const AdamOptions& options)
    : options_(options) {
  for (size_t i = 0; i < params.size(); ++i) {
    names_.push_back(params[i].name);
    m_.emplace_back(params[i].value.shape(), DType::f32);
    v_.emplace_back(params[i].value.shape(), DType::f32);
  }
}

void AdamOptimizer::step(ParameterSet& params, double lr) {
  REVNMT_CHECK(params.size() == m_.size(), "optimizer built for another parameter set");
  ++steps_;
  const double t = static_cast<double>(steps_);
  // Scalars in double, once per update; per element only float operations, evaluated the
  // same way in every code path (-ffp-contract=off), so vectorization changes nothing.
  const float b1 = static_cast<float>(options_.beta1);
  const float b2 = static_cast<float>(options_.beta2);
  const float one_minus_b1 = static_cast<float>(1.0 - options_.beta1);
  const float one_minus_b2 = static_cast<float>(1.0 - options_.beta2);
  const float step_size = static_cast<float>(lr / (1.0 - std::pow(options_.beta1, t)));
  const float inv_sqrt_c2 = static_cast<float>(1.0 / std::sqrt(1.0 - std::pow(options_.beta2, t)));
  const float eps = static_cast<float>(options_.eps);
  for (size_t i = 0; i < params.size(); ++i) {
    Parameter& param = params[i];
    REVNMT_CHECK(param.value.shape() == m_[i].shape(), "optimizer state shape of ", param.name);
    float* p = param.data();
    const float* g = param.gradient();
    float* m = m_[i].data<float>();
    float* v = v_[i].data<float>();
    const int64_t n = param.numel();
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t k = 0; k < n; ++k) {
      const float gk = g[k];
      const float mk = b1 * m[k] + one_minus_b1 * gk;
      const float vk = b2 * v[k] + one_minus_b2 * (gk * gk);
      m[k] = mk;
      v[k] = vk;
      // lr m̂ / (sqrt(v̂) + eps) with m̂ = m/c1, sqrt(v̂) = sqrt(v)/sqrt(c2).
      p[k] -= step_size * mk / (std::sqrt(vk) * inv_sqrt_c2 + eps);
    }
  }
}

std::vector<NamedTensor> AdamOptimizer::state() const {
  std::vector<NamedTensor> out;
  out.push_back({"step", step_tensor(steps_)});
  for (size_t i = 0; i < names_.size(); ++i) {
    out.push_back({"m/" + names_[i], m_[i]});
    out.push_back({"v/" + names_[i], v_[i]});
  }
  return out;
}

void AdamOptimizer::load_state(const std::vector<NamedTensor>& tensors, const std::string& source) {
  const int64_t steps = read_steps(tensors, source);
  for (size_t i = 0; i < names_.size(); ++i) {
    for (const char* kind : {"m/", "v/"}) {
      const std::string name = kind + names_[i];
      const NamedTensor* found = find_tensor(tensors, name);
      if (found == nullptr)
        fail(source, ": optimizer state lacks '", name,
             "' (was the checkpoint written with another optimizer?)");
      Tensor& target = kind[0] == 'm' ? m_[i] : v_[i];
      if (found->tensor.dtype() != DType::f32 || found->tensor.shape() != target.shape())
        fail(source, ": optimizer state '", name, "' has shape ", found->tensor.shape().str(),
             " but the parameter has ", target.shape().str());
      std::memcpy(target.raw(), found->tensor.raw(), target.nbytes());
    }
  }
  steps_ = steps;
}

std::unique_ptr<ParameterOptimizer> make_optimizer(const TrainConfig& train,
                                                   const ParameterSet& params) {
  if (train.optimizer == Optimizer::sgd) return std::make_unique<SgdOptimizer>();
  return std::make_unique<AdamOptimizer>(
      params, AdamOptions{train.adam_beta1, train.adam_beta2, train.adam_eps});
}

}  // namespace revnmt
