// Builds functions op by op. Every op goes through the op table's shape rule, so a function built only with the
// Builder is well-typed by construction; a shape error here is a bug in the caller (the frontend checks user
// programs before lowering) and throws IrError naming the op and the types involved.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "ir/Module.h"

namespace gantry::ir {

class IrError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

class Builder {
 public:
  explicit Builder(Function &f) : fn_(f) {}
  Function &function() { return fn_; }
  // The reference is invalidated by the next op created (the value table grows): copy what you keep.
  const TensorType &type(Value v) const { return fn_.type(v); }

  Value param(const std::string &name, TensorType type, ParamRole role,
              std::optional<RandomDist> dist = std::nullopt);
  void result(const std::string &name, Value v);

  // The general form: any op of the table. `declared` is required for ops with an explicit result type.
  Value create(OpKind kind, std::vector<Value> operands, Attrs attrs = {},
               std::optional<TensorType> declared = std::nullopt, std::string name = {});

  // Shorthands for the common ops.
  Value constant(double value, TensorType type);
  Value constant(std::vector<double> values, TensorType type);
  Value unary(OpKind kind, Value x) { return create(kind, {x}); }
  Value binary(OpKind kind, Value a, Value b) { return create(kind, {a, b}); }
  Value add(Value a, Value b) { return binary(OpKind::Add, a, b); }
  Value sub(Value a, Value b) { return binary(OpKind::Sub, a, b); }
  Value mul(Value a, Value b) { return binary(OpKind::Mul, a, b); }
  Value div(Value a, Value b) { return binary(OpKind::Div, a, b); }
  Value compare(const std::string &pred, Value a, Value b);
  Value select(Value cond, Value a, Value b) { return create(OpKind::Select, {cond, a, b}); }
  Value broadcast(Value x, Shape shape, std::vector<int64_t> dims);
  Value reshape(Value x, Shape shape);
  Value transpose(Value x, std::vector<int64_t> perm);
  Value matmul(Value a, Value b, bool transposeA = false, bool transposeB = false);
  Value reduce(OpKind kind, Value x, std::vector<int64_t> axes);

 private:
  Function &fn_;
};

}  // namespace gantry::ir
