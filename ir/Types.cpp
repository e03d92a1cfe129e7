#include "ir/Types.h"

#include <fmt/format.h>

namespace gantry::ir {

int64_t TensorType::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

const char *dtypeName(DType d) {
  switch (d) {
    case DType::F32: return "f32";
    case DType::I1: return "i1";
  }
  return "?";
}

std::string shapeStr(const Shape &s) { return fmt::format("[{}]", fmt::join(s, ",")); }

std::string TensorType::str() const { return std::string(dtypeName(dtype)) + shapeStr(shape); }

Shape stridesOf(const Shape &s) {
  Shape strides(s.size(), 1);
  for (size_t i = s.size(); i-- > 1;) strides[i - 1] = strides[i] * s[i];
  return strides;
}

}  // namespace gantry::ir
