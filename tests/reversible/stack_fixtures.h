#pragma once
// The test suites use the library's self-check fixtures (random inputs, a linear loss).

#include "reversible/self_check.h"

namespace revnmt::testing {
using revnmt::LinearLoss;
using revnmt::RandomInput;
using revnmt::random_lengths;
}  // namespace revnmt::testing
