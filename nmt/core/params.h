#pragma once
// Named model parameters ("decoder/layer0/Wx") with their gradients. Registration order
// is the order of the model file and of the optimizer, so it is part of the format.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nmt/core/tensor.h"

namespace revnmt {

struct Parameter {
  std::string name;
  Tensor value;  // f32
  Tensor grad;   // f32, same shape; accumulated by the backward passes

  float* data() { return value.data<float>(); }
  const float* data() const { return value.data<float>(); }
  float* gradient() { return grad.data<float>(); }
  int64_t numel() const { return value.numel(); }
};

class ParameterSet {
 public:
  // Registers a zero-initialized parameter; throws InternalError on a duplicate name.
  Parameter& add(const std::string& name, Shape shape);
  Parameter& get(const std::string& name);
  const Parameter& get(const std::string& name) const;
  Parameter* find(const std::string& name);

  size_t size() const { return params_.size(); }
  Parameter& operator[](size_t i) { return *params_[i]; }
  const Parameter& operator[](size_t i) const { return *params_[i]; }
  int64_t numel() const;

  void zero_grads();
  // Every value uniform in [-range, range], from a counter-based RNG keyed by (seed,
  // parameter index, element): deterministic and independent of thread count.
  void init_uniform(float range, uint64_t seed);

 private:
  std::vector<std::unique_ptr<Parameter>> params_;
};

}  // namespace revnmt
