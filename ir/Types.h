// Tensor types of the Gantry IR: an element type and a static shape.
//
// Every value is a tensor with a shape known at compile time; a scalar has rank 0 (`f32[]`). Element types are
// f32 (all arithmetic) and i1 (the result of `compare`, the condition of `select`): nothing else needs one yet.
// Every dimension is at least 1, so no op ever has to handle an empty tensor.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gantry::ir {

enum class DType : uint8_t { F32, I1 };

using Shape = std::vector<int64_t>;

struct TensorType {
  DType dtype = DType::F32;
  Shape shape;

  int64_t rank() const { return static_cast<int64_t>(shape.size()); }
  int64_t numElements() const;
  bool operator==(const TensorType &) const = default;

  // Text form: `f32[512,256]`, `f32[]`, `i1[4]`.
  std::string str() const;

  static TensorType f32(Shape s) { return {DType::F32, std::move(s)}; }
  static TensorType i1(Shape s) { return {DType::I1, std::move(s)}; }
};

const char *dtypeName(DType d);
std::string shapeStr(const Shape &s);  // `[512,256]`

// Row-major strides of a shape (the stride of the last dimension is 1).
Shape stridesOf(const Shape &s);

}  // namespace gantry::ir
