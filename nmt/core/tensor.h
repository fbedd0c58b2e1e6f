#pragma once
// Tensor: an owning, 64-byte aligned, contiguous row-major array with a shape (up to 4
// dimensions) and a dtype (f32, i32, i64). Resizing within the allocated capacity never
// reallocates, so per-step loops can reuse tensors without touching the allocator.

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "nmt/core/error.h"

namespace revnmt {

enum class DType : uint8_t { f32 = 0, i32 = 1, i64 = 2 };

const char* dtype_name(DType dtype);
size_t dtype_size(DType dtype);

template <typename T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
  return DType::f32;
}
template <>
constexpr DType dtype_of<int32_t>() {
  return DType::i32;
}
template <>
constexpr DType dtype_of<int64_t>() {
  return DType::i64;
}

class Shape {
 public:
  static constexpr int kMaxDims = 4;
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  int ndim() const { return ndim_; }
  int64_t operator[](int i) const { return dims_[i]; }
  int64_t numel() const;
  bool operator==(const Shape& other) const;
  bool operator!=(const Shape& other) const { return !(*this == other); }
  std::string str() const;

 private:
  std::array<int64_t, kMaxDims> dims_{};
  int ndim_ = 0;
};

class Tensor {
 public:
  Tensor() = default;
  // Zero-filled.
  Tensor(Shape shape, DType dtype);
  ~Tensor();
  Tensor(const Tensor& other);
  Tensor& operator=(const Tensor& other);
  Tensor(Tensor&& other) noexcept;
  Tensor& operator=(Tensor&& other) noexcept;

  // Changes shape (and dtype); reallocates only when the new size exceeds the capacity.
  // Contents are unspecified after a resize that grows; call zero() if needed.
  void resize(Shape shape, DType dtype);
  void resize(Shape shape) { resize(shape, dtype_); }
  void zero();
  // Frees the allocation.
  void release();

  const Shape& shape() const { return shape_; }
  int64_t dim(int i) const { return shape_[i]; }
  int ndim() const { return shape_.ndim(); }
  int64_t numel() const { return shape_.numel(); }
  DType dtype() const { return dtype_; }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  size_t capacity_bytes() const { return capacity_; }
  bool empty() const { return numel() == 0; }

  template <typename T>
  T* data() {
    check_dtype(dtype_of<T>());
    return static_cast<T*>(data_);
  }
  template <typename T>
  const T* data() const {
    check_dtype(dtype_of<T>());
    return static_cast<const T*>(data_);
  }
  void* raw() { return data_; }
  const void* raw() const { return data_; }

 private:
  void check_dtype(DType want) const {
    REVNMT_CHECK(dtype_ == want, "tensor dtype is ", dtype_name(dtype_), ", accessed as ",
                 dtype_name(want));
  }

  void* data_ = nullptr;
  size_t capacity_ = 0;
  Shape shape_;
  DType dtype_ = DType::f32;
};

}  // namespace revnmt
