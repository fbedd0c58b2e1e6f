#pragma once
// Partial selection of the k largest entries of a row of scores (a row of V log-probs in
// beam search), without sorting the row: one pass that skips whole blocks whose maximum
// cannot enter the current top k.

#include <cstdint>

namespace revnmt {

// Writes the (at most k) largest entries of x[0, n) to ids/values, best first; ties go to
// the lower index. Entries that are -inf or NaN are never selected, so the count returned
// is min(k, number of finite-or-+inf entries). ids and values hold k entries.
// The result depends only on x (no order or thread effects): beam search relies on it.
int top_k(const float* x, int n, int k, int32_t* ids, float* values);

}  // namespace revnmt
