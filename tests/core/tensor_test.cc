#include "nmt/core/tensor.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace revnmt {
namespace {

TEST(Tensor, ZeroInitializedAndAligned) {
  Tensor t({3, 5}, DType::f32);
  EXPECT_EQ(t.numel(), 15);
  EXPECT_EQ(t.nbytes(), 60u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw()) % 64, 0u);
  for (int i = 0; i < 15; ++i) EXPECT_EQ(t.data<float>()[i], 0.0f);
}

TEST(Tensor, ResizeWithinCapacityKeepsAllocation) {
  Tensor t({10, 10}, DType::i64);
  const void* before = t.raw();
  t.resize({5, 4});
  EXPECT_EQ(t.raw(), before);
  EXPECT_EQ(t.shape(), Shape({5, 4}));
  t.resize({20, 10});
  EXPECT_GE(t.capacity_bytes(), 1600u);
}

TEST(Tensor, WrongDtypeAccessThrows) {
  Tensor t({2}, DType::i32);
  EXPECT_THROW(t.data<float>(), InternalError);
  EXPECT_NO_THROW(t.data<int32_t>());
}

TEST(Tensor, CopyAndMove) {
  Tensor a({4}, DType::f32);
  a.data<float>()[2] = 7.0f;
  Tensor b = a;
  EXPECT_EQ(b.data<float>()[2], 7.0f);
  EXPECT_NE(a.raw(), b.raw());
  Tensor c = std::move(a);
  EXPECT_EQ(c.data<float>()[2], 7.0f);
  EXPECT_EQ(a.numel(), 0);
}

}  // namespace
}  // namespace revnmt
