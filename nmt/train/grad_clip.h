#pragma once
// Global gradient-norm clipping. The norm is summed in double over fixed blocks of each
// parameter, in parameter order, and the block sums are added in block order, so the result
// is the same for any thread count (a resumed run depends on it).

#include "nmt/core/params.h"

namespace revnmt {

// sqrt(Σ g²) over every gradient; NaN or Inf when a gradient is not finite.
double global_grad_norm(const ParameterSet& params);

// Multiplies every gradient by `factor`.
void scale_gradients(ParameterSet& params, float factor);

// When max_norm > 0 and `norm` (from global_grad_norm) exceeds it, scales the gradients by
// max_norm / norm. Returns the factor applied (1 when nothing was done).
double clip_gradients(ParameterSet& params, double norm, double max_norm);

}  // namespace revnmt
