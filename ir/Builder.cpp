#include "ir/Builder.h"

#include <fmt/format.h>

namespace gantry::ir {

Value Builder::param(const std::string &name, TensorType type, ParamRole role, std::optional<RandomDist> dist) {
  if ((role == ParamRole::Random) != dist.has_value())
    throw IrError(fmt::format("parameter '{}': a distribution is given exactly for random parameters", name));
  if (fn_.findParam(name)) throw IrError(fmt::format("parameter '{}' is defined twice", name));
  if (!fn_.ops.empty()) throw IrError(fmt::format("parameter '{}' added after the first op", name));
  Value v = fn_.newValue(std::move(type), name);
  fn_.params.push_back({v, role, dist});
  return v;
}

void Builder::result(const std::string &name, Value v) { fn_.results.push_back({name, v}); }

Value Builder::create(OpKind kind, std::vector<Value> operands, Attrs attrs, std::optional<TensorType> declared,
                      std::string name) {
  const OpDef &def = opDef(kind);
  if (std::string err = normalizeAttrs(def, attrs); !err.empty()) throw IrError(err);
  std::vector<TensorType> types;
  types.reserve(operands.size());
  for (Value v : operands) types.push_back(fn_.type(v));
  InferResult r = inferType(def, types, attrs, declared ? &*declared : nullptr);
  if (!r.type) throw IrError(fmt::format("{}: {}", def.name, r.error));
  Value result = fn_.newValue(*r.type, std::move(name));
  fn_.ops.push_back({kind, std::move(operands), std::move(attrs), result});
  return result;
}

Value Builder::constant(double value, TensorType type) {
  return create(OpKind::Constant, {}, {{"value", value}}, std::move(type));
}

Value Builder::constant(std::vector<double> values, TensorType type) {
  return create(OpKind::Constant, {}, {{"value", std::move(values)}}, std::move(type));
}

Value Builder::compare(const std::string &pred, Value a, Value b) {
  return create(OpKind::Compare, {a, b}, {{"pred", Symbol{pred}}});
}

Value Builder::broadcast(Value x, Shape shape, std::vector<int64_t> dims) {
  TensorType t{fn_.type(x).dtype, std::move(shape)};
  return create(OpKind::Broadcast, {x}, {{"dims", std::move(dims)}}, std::move(t));
}

Value Builder::reshape(Value x, Shape shape) {
  TensorType t{fn_.type(x).dtype, std::move(shape)};
  return create(OpKind::Reshape, {x}, {}, std::move(t));
}

Value Builder::transpose(Value x, std::vector<int64_t> perm) {
  return create(OpKind::Transpose, {x}, {{"perm", std::move(perm)}});
}

Value Builder::matmul(Value a, Value b, bool transposeA, bool transposeB) {
  return create(OpKind::Matmul, {a, b}, {{"transpose_a", transposeA}, {"transpose_b", transposeB}});
}

Value Builder::reduce(OpKind kind, Value x, std::vector<int64_t> axes) {
  return create(kind, {x}, {{"axes", std::move(axes)}});
}

}  // namespace gantry::ir
