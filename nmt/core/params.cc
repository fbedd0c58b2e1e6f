#include "nmt/core/params.h"

#include <algorithm>
#include <cstring>

#include "nmt/core/error.h"
#include "nmt/core/philox.h"

namespace revnmt {

Parameter& ParameterSet::add(const std::string& name, Shape shape) {
  REVNMT_CHECK(find(name) == nullptr, "duplicate parameter ", name);
  auto param = std::make_unique<Parameter>();
  param->name = name;
  param->value = Tensor(shape, DType::f32);
  param->grad = Tensor(shape, DType::f32);
  params_.push_back(std::move(param));
  return *params_.back();
}

Parameter* ParameterSet::find(const std::string& name) {
  for (auto& p : params_)
    if (p->name == name) return p.get();
  return nullptr;
}

Parameter& ParameterSet::get(const std::string& name) {
  Parameter* p = find(name);
  REVNMT_CHECK(p != nullptr, "no parameter named ", name);
  return *p;
}

const Parameter& ParameterSet::get(const std::string& name) const {
  return const_cast<ParameterSet*>(this)->get(name);
}

int64_t ParameterSet::numel() const {
  int64_t n = 0;
  for (const auto& p : params_) n += p->numel();
  return n;
}

void ParameterSet::zero_grads() {
  // Tens of megabytes per update: split over the OpenMP team in blocks.
  constexpr int64_t kBlock = int64_t(1) << 16;
  for (auto& p : params_) {
    float* g = p->gradient();
    const int64_t n = p->grad.numel();
#pragma omp parallel for schedule(static) if (n > 4 * kBlock)
    for (int64_t start = 0; start < n; start += kBlock)
      std::memset(g + start, 0, sizeof(float) * size_t(std::min(kBlock, n - start)));
  }
}

void ParameterSet::init_uniform(float range, uint64_t seed) {
  const Philox rng(seed);
  for (size_t index = 0; index < params_.size(); ++index) {
    float* v = params_[index]->data();
    const int64_t n = params_[index]->numel();
    for (int64_t i = 0; i < n; i += 4) {
      const auto words = rng({uint32_t(i), uint32_t(uint64_t(i) >> 32), uint32_t(index), 0x1417u});
      for (int j = 0; j < 4 && i + j < n; ++j)
        v[i + j] = (2.0f * Philox::to_unit(words[j]) - 1.0f) * range;
    }
  }
}

}  // namespace revnmt
