// top_k: the k best entries of a row, best first, ties to the lower index, -inf and NaN
// never selected; checked against a full stable sort on random rows with many ties.

#include "nmt/decode/top_k.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

namespace revnmt {
namespace {

std::vector<int> reference_top_k(const std::vector<float>& x, int k) {
  std::vector<int> order;
  for (int i = 0; i < int(x.size()); ++i)
    if (x[i] > -std::numeric_limits<float>::infinity()) order.push_back(i);  // drops NaN too
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return x[a] > x[b]; });
  if (int(order.size()) > k) order.resize(k);
  return order;
}

TEST(TopK, MatchesAFullSortWithTiesInfinitiesAndNaN) {
  std::mt19937 rng(5);
  const float inf = std::numeric_limits<float>::infinity();
  int checked = 0;
  for (int n : {1, 5, 63, 64, 65, 130, 257, 1000, 8000}) {
    for (int k : {1, 2, 5, 12, 40}) {
      for (int trial = 0; trial < 6; ++trial) {
        std::vector<float> x(n);
        // Few distinct values so ties are common; sprinkle the specials.
        std::uniform_int_distribution<int> value(-20, 0), special(0, 30);
        for (float& v : x) {
          v = float(value(rng)) * 0.25f;
          const int s = special(rng);
          if (s == 0) v = -inf;
          if (s == 1) v = std::nanf("");
        }
        if (trial == 1) std::fill(x.begin(), x.end(), -inf);
        if (trial == 2) std::fill(x.begin(), x.end(), std::nanf(""));
        if (trial == 3) x[n - 1] = 5.0f;  // the best at the very end
        if (trial == 4) std::sort(x.begin(), x.end(), [](float a, float b) { return a < b; });
        std::vector<int32_t> ids(k, -7);
        std::vector<float> values(k);
        const int count = top_k(x.data(), n, k, ids.data(), values.data());
        const std::vector<int> want = reference_top_k(x, k);
        ASSERT_EQ(count, int(want.size())) << "n " << n << " k " << k << " trial " << trial;
        for (int i = 0; i < count; ++i) {
          ASSERT_EQ(ids[i], want[i]) << "n " << n << " k " << k << " trial " << trial << " #" << i;
          ASSERT_EQ(values[i], x[want[i]]);
        }
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 9 * 5 * 6);
}

TEST(TopK, PositiveInfinityAndEmptyInputs) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> x(100, -1.0f);
  x[70] = inf;
  x[3] = 0.0f;
  int32_t ids[3];
  float values[3];
  ASSERT_EQ(top_k(x.data(), 100, 3, ids, values), 3);
  EXPECT_EQ(ids[0], 70);
  EXPECT_EQ(ids[1], 3);
  EXPECT_EQ(ids[2], 0);  // the first of the many -1 entries
  EXPECT_EQ(top_k(x.data(), 0, 3, ids, values), 0);
  EXPECT_EQ(top_k(x.data(), 100, 0, ids, values), 0);
}

}  // namespace
}  // namespace revnmt
