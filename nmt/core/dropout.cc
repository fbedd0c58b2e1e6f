#include "nmt/core/dropout.h"

namespace revnmt {

void locked_dropout_mask(const DropoutKey& key, uint32_t module, float p, int rows, int dim,
                         float* mask) {
  const int64_t n = int64_t(rows) * dim;
  if (!key.enabled || p <= 0.0f) {
    for (int64_t i = 0; i < n; ++i) mask[i] = 1.0f;
    return;
  }
  const Philox rng(key.seed);
  const float keep_scale = 1.0f / (1.0f - p);
  for (int b = 0; b < rows; ++b) {
    for (int j = 0; j < dim; j += 4) {
      const auto words =
          rng({uint32_t(j), uint32_t(b) + key.first_row, module, uint32_t(key.update)});
      for (int k = 0; k < 4 && j + k < dim; ++k)
        mask[int64_t(b) * dim + j + k] = Philox::to_unit(words[k]) < p ? 0.0f : keep_scale;
    }
  }
}

}  // namespace revnmt
