#include "nmt/core/tensor.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <sstream>

namespace revnmt {

namespace {
constexpr size_t kAlignment = 64;

void* aligned_allocate(size_t bytes) {
  const size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  void* p = std::aligned_alloc(kAlignment, rounded);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
}  // namespace

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::f32:
      return "f32";
    case DType::i32:
      return "i32";
    case DType::i64:
      return "i64";
  }
  return "?";
}

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::f32:
      return 4;
    case DType::i32:
      return 4;
    case DType::i64:
      return 8;
  }
  return 0;
}

Shape::Shape(std::initializer_list<int64_t> dims) {
  REVNMT_CHECK(dims.size() <= kMaxDims, "at most ", kMaxDims, " dimensions");
  for (int64_t d : dims) {
    REVNMT_CHECK(d >= 0, "negative dimension ", d);
    dims_[ndim_++] = d;
  }
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < ndim_; ++i) n *= dims_[i];
  return ndim_ == 0 ? 0 : n;
}

bool Shape::operator==(const Shape& other) const {
  if (ndim_ != other.ndim_) return false;
  for (int i = 0; i < ndim_; ++i)
    if (dims_[i] != other.dims_[i]) return false;
  return true;
}

std::string Shape::str() const {
  std::ostringstream out;
  out << '[';
  for (int i = 0; i < ndim_; ++i) out << (i ? ", " : "") << dims_[i];
  out << ']';
  return out.str();
}

Tensor::Tensor(Shape shape, DType dtype) {
  resize(shape, dtype);
  zero();
}

Tensor::~Tensor() { std::free(data_); }

Tensor::Tensor(const Tensor& other) : shape_(other.shape_), dtype_(other.dtype_) {
  if (other.nbytes() > 0) {
    data_ = aligned_allocate(other.nbytes());
    capacity_ = other.nbytes();
    std::memcpy(data_, other.data_, other.nbytes());
  }
}

Tensor& Tensor::operator=(const Tensor& other) {
  if (this != &other) {
    resize(other.shape_, other.dtype_);
    if (other.nbytes() > 0) std::memcpy(data_, other.data_, other.nbytes());
  }
  return *this;
}

Tensor::Tensor(Tensor&& other) noexcept
    : data_(other.data_), capacity_(other.capacity_), shape_(other.shape_), dtype_(other.dtype_) {
  other.data_ = nullptr;
  other.capacity_ = 0;
  other.shape_ = Shape();
}

Tensor& Tensor::operator=(Tensor&& other) noexcept {
  if (this != &other) {
    std::free(data_);
    data_ = other.data_;
    capacity_ = other.capacity_;
    shape_ = other.shape_;
    dtype_ = other.dtype_;
    other.data_ = nullptr;
    other.capacity_ = 0;
    other.shape_ = Shape();
  }
  return *this;
}

void Tensor::resize(Shape shape, DType dtype) {
  const size_t bytes = static_cast<size_t>(shape.numel()) * dtype_size(dtype);
  if (bytes > capacity_) {
    std::free(data_);
    data_ = nullptr;
    capacity_ = 0;
    data_ = aligned_allocate(bytes);
    capacity_ = bytes;
  }
  shape_ = shape;
  dtype_ = dtype;
}

void Tensor::zero() {
  if (nbytes() > 0) std::memset(data_, 0, nbytes());
}

void Tensor::release() {
  std::free(data_);
  data_ = nullptr;
  capacity_ = 0;
  shape_ = Shape();
}

}  // namespace revnmt
