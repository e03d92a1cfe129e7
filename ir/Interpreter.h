// The reference interpreter: evaluates any verified function in double precision.
//
// It is the oracle for later tests (finite differences, JIT results), so it is written to be obviously correct,
// not fast: every op is a plain loop over multi-indices, and the elementwise ops call the op table's scalar
// functions, the one definition the backend must match.
#pragma once

#include <span>
#include <vector>

#include "ir/Module.h"

namespace gantry::ir {

// A tensor value: row-major elements in double precision (i1 elements are 0.0 or 1.0).
struct Tensor {
  TensorType type;
  std::vector<double> data;

  static Tensor zeros(TensorType t);
  static Tensor scalar(double v) { return {TensorType::f32({}), {v}}; }
  static Tensor f32(Shape shape, std::vector<double> values);  // values.size() must match the shape
  double at(std::initializer_list<int64_t> index) const;        // element by multi-index
};

// Evaluates `f` on arguments given in parameter order (random parameters included: the caller draws them).
// Throws std::invalid_argument if an argument's type differs from its parameter's.
std::vector<Tensor> evaluate(const Function &f, std::span<const Tensor> args);

}  // namespace gantry::ir
