#include "nmt/decode/top_k.h"

#include <algorithm>
#include <limits>

namespace revnmt {

namespace {

// Inserts (i, v) into the sorted top list (best first). Equal values keep the earlier
// (lower) index ahead; the caller guarantees v beats the current k-th entry if full.
inline void insert(int i, float v, int k, int& count, int32_t* ids, float* values) {
  int p = count < k ? count : k - 1;
  while (p > 0 && values[p - 1] < v) --p;
  if (count < k) ++count;
  for (int q = count - 1; q > p; --q) {
    values[q] = values[q - 1];
    ids[q] = ids[q - 1];
  }
  values[p] = v;
  ids[p] = i;
}

}  // namespace

int top_k(const float* x, int n, int k, int32_t* ids, float* values) {
  if (k <= 0 || n <= 0) return 0;
  int count = 0;
  // An entry must be strictly greater to enter: -inf and NaN never do, and an equal value
  // at a later (higher) index loses the tie.
  float threshold = -std::numeric_limits<float>::infinity();
  // Blocks of kBlock entries, groups of kLanes: a block is looked at only if its maximum
  // can enter the current top k, and then only its groups that can; once the list is full
  // most blocks are skipped. Maxima are taken in kLanes independent lanes (GCC vectorizes
  // this form; it does not vectorize a max reduction without -ffast-math).
  // std::max(lane, v) keeps the lane when v is NaN, so NaN entries never hide a block.
  constexpr int kBlock = 256, kLanes = 16;
  int i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    float lane[kLanes];
    for (int l = 0; l < kLanes; ++l) lane[l] = -std::numeric_limits<float>::infinity();
    for (int j = i; j < i + kBlock; j += kLanes) {
#pragma omp simd
      for (int l = 0; l < kLanes; ++l) lane[l] = std::max(lane[l], x[j + l]);
    }
    bool any = false;
    for (int l = 0; l < kLanes; ++l) any |= lane[l] > threshold;
    if (!any) continue;
    for (int j = i; j < i + kBlock; j += kLanes) {
      bool group = false;
      for (int l = 0; l < kLanes; ++l) group |= x[j + l] > threshold;
      if (!group) continue;
      for (int l = 0; l < kLanes; ++l)
        if (x[j + l] > threshold) {
          insert(j + l, x[j + l], k, count, ids, values);
          if (count == k) threshold = values[k - 1];
        }
    }
  }
  for (; i < n; ++i)
    if (x[i] > threshold) {
      insert(i, x[i], k, count, ids, values);
      if (count == k) threshold = values[k - 1];
    }
  return count;
}

}  // namespace revnmt
