// The op table: every IR op is defined once here — its name, operand count, attributes, shape rule and (for
// elementwise ops) its scalar semantics. The builder, verifier, printer, parser and interpreter all read this one
// table, so adding an op is one entry in ir/Ops.cpp plus its tests. docs/ir.md documents every op.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ir/Attributes.h"
#include "ir/Types.h"

namespace gantry::ir {

// X(enumerator, text name)
#define GANTRY_IR_OPS(X)                                                                         \
  /* constants and identities */                                                                 \
  X(Constant, "constant") X(StopGradient, "stop_gradient")                                       \
  /* elementwise unary */                                                                        \
  X(Neg, "neg") X(Exp, "exp") X(Expm1, "expm1") X(Log, "log") X(Log1p, "log1p") X(Sqrt, "sqrt")  \
  X(Rsqrt, "rsqrt") X(Tanh, "tanh") X(Sigmoid, "sigmoid") X(Relu, "relu") X(Abs, "abs")          \
  X(Sign, "sign") X(Softplus, "softplus") X(Square, "square")                                    \
  /* elementwise binary */                                                                       \
  X(Add, "add") X(Sub, "sub") X(Mul, "mul") X(Div, "div") X(Max, "max") X(Min, "min")            \
  X(Pow, "pow")                                                                                  \
  /* comparison and selection */                                                                 \
  X(Compare, "compare") X(Select, "select")                                                      \
  /* shape */                                                                                    \
  X(Broadcast, "broadcast") X(Reshape, "reshape") X(Transpose, "transpose") X(Concat, "concat")  \
  X(Slice, "slice") X(Pad, "pad")                                                                \
  /* linear algebra and reductions */                                                            \
  X(Matmul, "matmul") X(ReduceSum, "reduce_sum") X(ReduceMean, "reduce_mean")                    \
  X(ReduceMax, "reduce_max")

enum class OpKind : uint16_t {
#define GANTRY_X(e, n) e,
  GANTRY_IR_OPS(GANTRY_X)
#undef GANTRY_X
};

enum class OpClass : uint8_t {
  Unary,     // f32 -> f32 elementwise, semantics in OpDef::unary
  Binary,    // (f32, f32) -> f32 elementwise on equal shapes, semantics in OpDef::binary
  Compare,   // (f32, f32) -> i1 elementwise
  Select,    // (i1, T, T) -> T elementwise
  Structural,  // everything else: semantics in the interpreter
};

struct AttrSpec {
  const char *name;
  std::vector<AttrKind> kinds;          // accepted kinds (the first is the one integer literals widen to)
  std::optional<AttrValue> defaultValue;  // absent: the attribute is required
  std::vector<const char *> symbols;    // for Symbol attributes: the accepted names
};

// What a shape rule sees. `declared` is the op's own result type for ops whose type cannot be inferred
// (constant, broadcast, reshape); for the others it is null.
struct InferInput {
  std::span<const TensorType> operands;
  const Attrs &attrs;
  const TensorType *declared;
};

// A shape rule's answer: the result type, or a message saying what is wrong (without the op's name: the caller
// adds where the op is).
struct InferResult {
  std::optional<TensorType> type;
  std::string error;

  static InferResult ok(TensorType t) { return {std::move(t), {}}; }
  static InferResult fail(std::string msg) { return {std::nullopt, std::move(msg)}; }
};

struct OpDef {
  OpKind kind;
  const char *name;
  OpClass cls;
  int minOperands;
  int maxOperands;  // -1: any number
  std::vector<AttrSpec> attrs;
  bool explicitResultType;  // the result type is part of the op (and of its text), not inferred
  InferResult (*infer)(const InferInput &);
  double (*unary)(double) = nullptr;
  double (*binary)(double, double) = nullptr;
};

const OpDef &opDef(OpKind k);
const char *opName(OpKind k);
std::optional<OpKind> opByName(std::string_view name);
std::span<const OpDef> allOps();

// The one attribute any op may carry: `fusion = N` puts the op in fusion group N of its function (set by the
// `fuse` pass, read by the backend; the verifier checks that every group can run as one loop nest).
constexpr const char *kFusionAttr = "fusion";

// Checks the attributes against the op's specs (unknown names, missing required ones, wrong kinds, unknown
// symbols) and fills in defaults. Returns an error message, or empty on success.
std::string normalizeAttrs(const OpDef &def, Attrs &attrs);

// Runs the shape rule after checking the operand count and the attributes. Attributes must be normalized.
InferResult inferType(const OpDef &def, std::span<const TensorType> operands, const Attrs &attrs,
                      const TensorType *declared);

}  // namespace gantry::ir
