// The op table. Shape rules are small functions named after what they check; the scalar semantics of the
// elementwise ops are here too, so the interpreter and (later) the backend agree on one definition, NaN
// behaviour included: relu, sign, softplus, max and min propagate NaN rather than hiding it, so a diverging
// run is noticed.
#include "ir/Ops.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace gantry::ir {
namespace {

using Ints = std::vector<int64_t>;

std::string typeList(std::span<const TensorType> ts) {
  std::string s;
  for (size_t i = 0; i < ts.size(); ++i) s += (i ? ", " : "") + ts[i].str();
  return s;
}

InferResult requireF32(const TensorType &t, const char *what) {
  if (t.dtype != DType::F32) return InferResult::fail(fmt::format("{} must be f32, found {}", what, t.str()));
  return InferResult::ok(t);
}

// ---- elementwise ----

InferResult inferUnary(const InferInput &in) { return requireF32(in.operands[0], "operand"); }

InferResult inferBinary(const InferInput &in) {
  const TensorType &a = in.operands[0], &b = in.operands[1];
  if (a.dtype != DType::F32 || b.dtype != DType::F32)
    return InferResult::fail(fmt::format("operands must be f32, found {}", typeList(in.operands)));
  if (a.shape != b.shape)
    return InferResult::fail(fmt::format("operand shapes differ: {} vs {} (broadcast explicitly)", a.str(), b.str()));
  return InferResult::ok(a);
}

InferResult inferCompare(const InferInput &in) {
  InferResult r = inferBinary(in);
  if (r.type) r.type->dtype = DType::I1;
  return r;
}

InferResult inferSelect(const InferInput &in) {
  const TensorType &c = in.operands[0], &a = in.operands[1], &b = in.operands[2];
  if (c.dtype != DType::I1) return InferResult::fail(fmt::format("condition must be i1, found {}", c.str()));
  if (a != b) return InferResult::fail(fmt::format("branch types differ: {} vs {}", a.str(), b.str()));
  if (c.shape != a.shape)
    return InferResult::fail(fmt::format("condition shape {} differs from branch shape {}", shapeStr(c.shape),
                                         shapeStr(a.shape)));
  return InferResult::ok(a);
}

// ---- ops with a declared result type ----

InferResult inferConstant(const InferInput &in) {
  const TensorType &t = *in.declared;
  const AttrValue &v = *in.attrs.find("value");
  std::vector<double> values;
  if (const auto *list = std::get_if<std::vector<double>>(&v)) {
    if (static_cast<int64_t>(list->size()) != t.numElements())
      return InferResult::fail(fmt::format("value has {} elements, type {} has {}", list->size(), t.str(),
                                           t.numElements()));
    values = *list;
  } else {
    values = {std::get<double>(v)};
  }
  if (t.dtype == DType::I1) {
    for (double x : values)
      if (x != 0.0 && x != 1.0) return InferResult::fail(fmt::format("i1 constant values must be 0 or 1, found {}", formatFloat(x)));
  }
  return InferResult::ok(t);
}

InferResult inferBroadcast(const InferInput &in) {
  const TensorType &x = in.operands[0], &t = *in.declared;
  const Ints &dims = in.attrs.getInts("dims");
  if (x.dtype != t.dtype)
    return InferResult::fail(fmt::format("result type {} has another element type than operand {}", t.str(), x.str()));
  if (static_cast<int64_t>(dims.size()) != x.rank())
    return InferResult::fail(fmt::format("dims has {} entries, operand {} has rank {}", dims.size(), x.str(), x.rank()));
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] < 0 || dims[i] >= t.rank())
      return InferResult::fail(fmt::format("dims[{}] = {} is out of range for result rank {}", i, dims[i], t.rank()));
    if (i > 0 && dims[i] <= dims[i - 1]) return InferResult::fail("dims must be strictly increasing");
    if (x.shape[i] != t.shape[dims[i]])
      return InferResult::fail(fmt::format("operand dimension {} has size {}, result dimension {} has size {}", i,
                                           x.shape[i], dims[i], t.shape[dims[i]]));
  }
  return InferResult::ok(t);
}

InferResult inferReshape(const InferInput &in) {
  const TensorType &x = in.operands[0], &t = *in.declared;
  if (x.dtype != t.dtype)
    return InferResult::fail(fmt::format("result type {} has another element type than operand {}", t.str(), x.str()));
  if (x.numElements() != t.numElements())
    return InferResult::fail(fmt::format("cannot reshape {} ({} elements) to {} ({} elements)", x.str(),
                                         x.numElements(), t.str(), t.numElements()));
  return InferResult::ok(t);
}

// ---- shape manipulation ----

InferResult inferTranspose(const InferInput &in) {
  const TensorType &x = in.operands[0];
  const Ints &perm = in.attrs.getInts("perm");
  if (static_cast<int64_t>(perm.size()) != x.rank())
    return InferResult::fail(fmt::format("perm has {} entries, operand {} has rank {}", perm.size(), x.str(), x.rank()));
  std::vector<bool> seen(perm.size(), false);
  TensorType r{x.dtype, Shape(perm.size())};
  for (size_t i = 0; i < perm.size(); ++i) {
    if (perm[i] < 0 || perm[i] >= x.rank() || seen[perm[i]])
      return InferResult::fail(fmt::format("perm {} is not a permutation of 0..{}", shapeStr(perm), x.rank() - 1));
    seen[perm[i]] = true;
    r.shape[i] = x.shape[perm[i]];
  }
  return InferResult::ok(r);
}

InferResult inferConcat(const InferInput &in) {
  const TensorType &first = in.operands[0];
  int64_t axis = in.attrs.getInt("axis");
  if (axis < 0 || axis >= first.rank())
    return InferResult::fail(fmt::format("axis {} is out of range for rank {}", axis, first.rank()));
  TensorType r = first;
  for (size_t i = 1; i < in.operands.size(); ++i) {
    const TensorType &t = in.operands[i];
    bool compatible = t.dtype == first.dtype && t.rank() == first.rank();
    for (int64_t d = 0; compatible && d < t.rank(); ++d) compatible = d == axis || t.shape[d] == first.shape[d];
    if (!compatible)
      return InferResult::fail(fmt::format("operand {} has type {}, which cannot be concatenated with {} along axis {}",
                                           i, t.str(), first.str(), axis));
    r.shape[axis] += t.shape[axis];
  }
  return InferResult::ok(r);
}

InferResult inferSlice(const InferInput &in) {
  const TensorType &x = in.operands[0];
  const Ints &start = in.attrs.getInts("start"), &limit = in.attrs.getInts("limit");
  if (static_cast<int64_t>(start.size()) != x.rank() || static_cast<int64_t>(limit.size()) != x.rank())
    return InferResult::fail(fmt::format("start and limit need {} entries for operand {}", x.rank(), x.str()));
  TensorType r{x.dtype, Shape(x.shape.size())};
  for (size_t d = 0; d < x.shape.size(); ++d) {
    if (start[d] < 0 || start[d] >= limit[d] || limit[d] > x.shape[d])
      return InferResult::fail(fmt::format("dimension {}: need 0 <= start < limit <= {}, found start {}, limit {}", d,
                                           x.shape[d], start[d], limit[d]));
    r.shape[d] = limit[d] - start[d];
  }
  return InferResult::ok(r);
}

InferResult inferPad(const InferInput &in) {
  const TensorType &x = in.operands[0];
  const Ints &low = in.attrs.getInts("low"), &high = in.attrs.getInts("high");
  if (static_cast<int64_t>(low.size()) != x.rank() || static_cast<int64_t>(high.size()) != x.rank())
    return InferResult::fail(fmt::format("low and high need {} entries for operand {}", x.rank(), x.str()));
  TensorType r = x;
  for (size_t d = 0; d < x.shape.size(); ++d) {
    if (low[d] < 0 || high[d] < 0)
      return InferResult::fail(fmt::format("dimension {}: padding must be non-negative, found low {}, high {}", d,
                                           low[d], high[d]));
    r.shape[d] += low[d] + high[d];
  }
  return InferResult::ok(r);
}

// ---- linear algebra and reductions ----

InferResult inferMatmul(const InferInput &in) {
  const TensorType &a = in.operands[0], &b = in.operands[1];
  if (a.dtype != DType::F32 || b.dtype != DType::F32 || a.rank() != 2 || b.rank() != 2)
    return InferResult::fail(fmt::format("operands must be rank-2 f32, found {}", typeList(in.operands)));
  bool ta = in.attrs.getBool("transpose_a"), tb = in.attrs.getBool("transpose_b");
  int64_t m = ta ? a.shape[1] : a.shape[0], ka = ta ? a.shape[0] : a.shape[1];
  int64_t kb = tb ? b.shape[1] : b.shape[0], n = tb ? b.shape[0] : b.shape[1];
  if (ka != kb)
    return InferResult::fail(fmt::format("contracting dimensions differ: lhs {}{} gives {}, rhs {}{} gives {}", a.str(),
                                         ta ? " (transposed)" : "", ka, b.str(), tb ? " (transposed)" : "", kb));
  return InferResult::ok(TensorType::f32({m, n}));
}

InferResult inferReduce(const InferInput &in) {
  const TensorType &x = in.operands[0];
  if (x.dtype != DType::F32) return InferResult::fail(fmt::format("operand must be f32, found {}", x.str()));
  const Ints &axes = in.attrs.getInts("axes");
  for (size_t i = 0; i < axes.size(); ++i) {
    if (axes[i] < 0 || axes[i] >= x.rank())
      return InferResult::fail(fmt::format("axis {} is out of range for operand {}", axes[i], x.str()));
    if (i > 0 && axes[i] <= axes[i - 1]) return InferResult::fail("axes must be strictly increasing");
  }
  TensorType r{DType::F32, {}};
  for (int64_t d = 0; d < x.rank(); ++d)
    if (!std::binary_search(axes.begin(), axes.end(), d)) r.shape.push_back(x.shape[d]);
  return InferResult::ok(r);
}

// ---- scalar semantics ----

double identity(double x) { return x; }
double neg(double x) { return -x; }
double rsqrt(double x) { return 1.0 / std::sqrt(x); }
double sigmoid(double x) { return x >= 0 ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x) / (1.0 + std::exp(x)); }
double relu(double x) { return std::isnan(x) ? x : (x > 0 ? x : 0.0); }
double sign(double x) { return std::isnan(x) ? x : static_cast<double>((x > 0) - (x < 0)); }
double softplus(double x) { return std::isnan(x) ? x : std::max(x, 0.0) + std::log1p(std::exp(-std::abs(x))); }
double square(double x) { return x * x; }
double add(double a, double b) { return a + b; }
double sub(double a, double b) { return a - b; }
double mul(double a, double b) { return a * b; }
double div(double a, double b) { return a / b; }
double maxNaN(double a, double b) { return std::isnan(a) || std::isnan(b) ? NAN : std::max(a, b); }
double minNaN(double a, double b) { return std::isnan(a) || std::isnan(b) ? NAN : std::min(a, b); }
double pow(double a, double b) { return std::pow(a, b); }

using K = AttrKind;

OpDef unaryOp(OpKind k, const char *name, double (*fn)(double)) {
  return {k, name, OpClass::Unary, 1, 1, {}, false, inferUnary, fn, nullptr};
}
OpDef binaryOp(OpKind k, const char *name, double (*fn)(double, double)) {
  return {k, name, OpClass::Binary, 2, 2, {}, false, inferBinary, nullptr, fn};
}
OpDef structural(OpKind k, const char *name, int minOps, int maxOps, std::vector<AttrSpec> attrs, bool explicitType,
                 InferResult (*infer)(const InferInput &)) {
  return {k, name, OpClass::Structural, minOps, maxOps, std::move(attrs), explicitType, infer, nullptr, nullptr};
}

std::vector<OpDef> buildTable() {
  std::vector<OpDef> t = {
      structural(OpKind::Constant, "constant", 0, 0, {{"value", {K::Float, K::Floats}, std::nullopt, {}}}, true,
                 inferConstant),
      unaryOp(OpKind::StopGradient, "stop_gradient", identity),
      unaryOp(OpKind::Neg, "neg", neg),
      unaryOp(OpKind::Exp, "exp", [](double x) { return std::exp(x); }),
      unaryOp(OpKind::Expm1, "expm1", [](double x) { return std::expm1(x); }),
      unaryOp(OpKind::Log, "log", [](double x) { return std::log(x); }),
      unaryOp(OpKind::Log1p, "log1p", [](double x) { return std::log1p(x); }),
      unaryOp(OpKind::Sqrt, "sqrt", [](double x) { return std::sqrt(x); }),
      unaryOp(OpKind::Rsqrt, "rsqrt", rsqrt),
      unaryOp(OpKind::Tanh, "tanh", [](double x) { return std::tanh(x); }),
      unaryOp(OpKind::Sigmoid, "sigmoid", sigmoid),
      unaryOp(OpKind::Relu, "relu", relu),
      unaryOp(OpKind::Abs, "abs", [](double x) { return std::abs(x); }),
      unaryOp(OpKind::Sign, "sign", sign),
      unaryOp(OpKind::Softplus, "softplus", softplus),
      unaryOp(OpKind::Square, "square", square),
      binaryOp(OpKind::Add, "add", add),
      binaryOp(OpKind::Sub, "sub", sub),
      binaryOp(OpKind::Mul, "mul", mul),
      binaryOp(OpKind::Div, "div", div),
      binaryOp(OpKind::Max, "max", maxNaN),
      binaryOp(OpKind::Min, "min", minNaN),
      binaryOp(OpKind::Pow, "pow", pow),
      {OpKind::Compare, "compare", OpClass::Compare, 2, 2,
       {{"pred", {K::Symbol}, std::nullopt, {"eq", "ne", "lt", "le", "gt", "ge"}}}, false, inferCompare},
      {OpKind::Select, "select", OpClass::Select, 3, 3, {}, false, inferSelect},
      structural(OpKind::Broadcast, "broadcast", 1, 1, {{"dims", {K::Ints}, std::nullopt, {}}}, true, inferBroadcast),
      structural(OpKind::Reshape, "reshape", 1, 1, {}, true, inferReshape),
      structural(OpKind::Transpose, "transpose", 1, 1, {{"perm", {K::Ints}, std::nullopt, {}}}, false, inferTranspose),
      structural(OpKind::Concat, "concat", 1, -1, {{"axis", {K::Int}, std::nullopt, {}}}, false, inferConcat),
      structural(OpKind::Slice, "slice", 1, 1,
                 {{"limit", {K::Ints}, std::nullopt, {}}, {"start", {K::Ints}, std::nullopt, {}}}, false, inferSlice),
      structural(OpKind::Pad, "pad", 1, 1,
                 {{"high", {K::Ints}, std::nullopt, {}}, {"low", {K::Ints}, std::nullopt, {}}}, false, inferPad),
      structural(OpKind::Matmul, "matmul", 2, 2,
                 {{"transpose_a", {K::Bool}, AttrValue{false}, {}}, {"transpose_b", {K::Bool}, AttrValue{false}, {}}},
                 false, inferMatmul),
      structural(OpKind::ReduceSum, "reduce_sum", 1, 1, {{"axes", {K::Ints}, std::nullopt, {}}}, false, inferReduce),
      structural(OpKind::ReduceMean, "reduce_mean", 1, 1, {{"axes", {K::Ints}, std::nullopt, {}}}, false, inferReduce),
      structural(OpKind::ReduceMax, "reduce_max", 1, 1, {{"axes", {K::Ints}, std::nullopt, {}}}, false, inferReduce),
  };
  // The table is indexed by OpKind: check once that the entries are in enum order.
  for (size_t i = 0; i < t.size(); ++i)
    if (static_cast<size_t>(t[i].kind) != i) throw std::logic_error(fmt::format("op table out of order at {}", t[i].name));
  return t;
}

const std::vector<OpDef> &table() {
  static const std::vector<OpDef> t = buildTable();
  return t;
}

}  // namespace

const OpDef &opDef(OpKind k) { return table()[static_cast<size_t>(k)]; }
const char *opName(OpKind k) { return opDef(k).name; }
std::span<const OpDef> allOps() { return table(); }

std::optional<OpKind> opByName(std::string_view name) {
  for (const OpDef &d : table())
    if (name == d.name) return d.kind;
  return std::nullopt;
}

std::string normalizeAttrs(const OpDef &def, Attrs &attrs) {
  for (const auto &[name, value] : attrs.entries()) {
    if (name == kFusionAttr) {
      if (kindOf(value) != AttrKind::Int || std::get<int64_t>(value) < 0)
        return fmt::format("attribute '{}' must be a non-negative integer", kFusionAttr);
      continue;
    }
    auto spec = std::find_if(def.attrs.begin(), def.attrs.end(), [&](const AttrSpec &s) { return name == s.name; });
    if (spec == def.attrs.end()) return fmt::format("unknown attribute '{}'", name);
    if (std::find(spec->kinds.begin(), spec->kinds.end(), kindOf(value)) == spec->kinds.end())
      return fmt::format("attribute '{}' must be {}, found {}", name, attrKindName(spec->kinds[0]),
                         attrKindName(kindOf(value)));
    if (const auto *sym = std::get_if<Symbol>(&value)) {
      bool known = std::any_of(spec->symbols.begin(), spec->symbols.end(),
                               [&](const char *s) { return sym->name == s; });
      if (!known)
        return fmt::format("attribute '{}' must be one of {}, found '{}'", name, fmt::join(spec->symbols, ", "),
                           sym->name);
    }
  }
  for (const AttrSpec &spec : def.attrs) {
    if (attrs.has(spec.name)) continue;
    if (!spec.defaultValue) return fmt::format("missing attribute '{}'", spec.name);
    attrs.set(spec.name, *spec.defaultValue);
  }
  return {};
}

InferResult inferType(const OpDef &def, std::span<const TensorType> operands, const Attrs &attrs,
                      const TensorType *declared) {
  int n = static_cast<int>(operands.size());
  if (n < def.minOperands || (def.maxOperands >= 0 && n > def.maxOperands)) {
    std::string expected = def.maxOperands < 0            ? fmt::format("at least {}", def.minOperands)
                           : def.minOperands == def.maxOperands ? fmt::format("{}", def.minOperands)
                                                                : fmt::format("{} to {}", def.minOperands, def.maxOperands);
    return InferResult::fail(fmt::format("expected {} operand{}, found {}", expected, expected == "1" ? "" : "s", n));
  }
  if (def.explicitResultType && !declared)
    return InferResult::fail("the result type must be given");
  for (const TensorType &t : operands)
    for (int64_t d : t.shape)
      if (d < 1) return InferResult::fail(fmt::format("dimensions must be positive, found {}", t.str()));
  return def.infer({operands, attrs, def.explicitResultType ? declared : nullptr});
}

}  // namespace gantry::ir
