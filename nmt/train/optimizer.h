#pragma once
// Parameter optimizers: plain SGD and Adam. The state (Adam's moments and step count) is a
// list of named tensors so a checkpoint can store it exactly and a resumed run continues
// bit for bit. Updates are element-wise (no reductions), so they do not depend on the
// thread count.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nmt/config/recipe.h"
#include "nmt/core/params.h"
#include "nmt/model/archive.h"

namespace revnmt {

class ParameterOptimizer {
 public:
  virtual ~ParameterOptimizer() = default;
  // Applies one update with learning rate `lr` from the parameters' gradients.
  virtual void step(ParameterSet& params, double lr) = 0;
  // Updates applied so far.
  virtual int64_t steps() const = 0;
  // The state as named tensors (for the checkpoint's "optimizer" section).
  virtual std::vector<NamedTensor> state() const = 0;
  // Restores state() output. Throws InputError naming `source` when a tensor is missing or
  // does not fit the parameters.
  virtual void load_state(const std::vector<NamedTensor>& tensors, const std::string& source) = 0;
  virtual std::string name() const = 0;
};

// p -= lr * g
class SgdOptimizer : public ParameterOptimizer {
 public:
  void step(ParameterSet& params, double lr) override;
  int64_t steps() const override { return steps_; }
  std::vector<NamedTensor> state() const override;
  void load_state(const std::vector<NamedTensor>& tensors, const std::string& source) override;
  std::string name() const override { return "sgd"; }

 private:
  int64_t steps_ = 0;
};

struct AdamOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
};

// Kingma & Ba with bias correction (as torch.optim.Adam):
//   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
//   p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
class AdamOptimizer : public ParameterOptimizer {
 public:
  AdamOptimizer(const ParameterSet& params, const AdamOptions& options);
  void step(ParameterSet& params, double lr) override;
  int64_t steps() const override { return steps_; }
  std::vector<NamedTensor> state() const override;
  void load_state(const std::vector<NamedTensor>& tensors, const std::string& source) override;
  std::string name() const override { return "adam"; }

  const Tensor& first_moment(size_t param) const { return m_[param]; }
  const Tensor& second_moment(size_t param) const { return v_[param]; }

 private:
  AdamOptions options_;
  std::vector<std::string> names_;
  std::vector<Tensor> m_, v_;
  int64_t steps_ = 0;
};

std::unique_ptr<ParameterOptimizer> make_optimizer(const TrainConfig& train,
                                                   const ParameterSet& params);

}  // namespace revnmt
