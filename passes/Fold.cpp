#include "passes/Fold.h"

#include <algorithm>
#include <cmath>

#include "ir/Interpreter.h"
#include "passes/Rewriter.h"

namespace gantry::passes {
namespace {

constexpr int64_t kMaxDenseElements = 4096;

// Evaluates `op` (operands all constants of the new function) by building a one-op function around it.
ir::Tensor evaluateOp(const Rewriter &rw, const ir::Op &op, const ir::TensorType &resultType) {
  ir::Function tiny;
  tiny.name = "fold";
  ir::Builder b(tiny);
  std::vector<ir::Value> operands;
  for (ir::Value v : op.operands) {
    const ir::Op &c = *rw.definingOp(v);
    operands.push_back(b.create(ir::OpKind::Constant, {}, c.attrs, rw.function().type(v)));
  }
  std::optional<ir::TensorType> declared;
  if (ir::opDef(op.kind).explicitResultType) declared = resultType;
  b.result("out", b.create(op.kind, operands, op.attrs, declared));
  return ir::evaluate(tiny, {})[0];
}

bool allConstant(const Rewriter &rw, const std::vector<ir::Value> &operands) {
  return std::all_of(operands.begin(), operands.end(), [&](ir::Value v) {
    const ir::Op *def = rw.definingOp(v);
    return def && def->kind == ir::OpKind::Constant;
  });
}

bool allEqual(const std::vector<double> &xs) {
  return std::all_of(xs.begin(), xs.end(), [&](double x) {
    return (x == xs[0] && std::signbit(x) == std::signbit(xs[0])) || (std::isnan(x) && std::isnan(xs[0]));
  });
}

}  // namespace

bool foldConstants(ir::Module &m) {
  bool changed = false;
  for (ir::Function &f : m.functions) {
    Rewriter rw(f);
    for (const ir::Op &op : f.ops) {
      std::vector<ir::Value> operands = rw.mapOperands(op);
      const ir::TensorType type = f.type(op.result);
      if (op.kind == ir::OpKind::Constant || operands.empty() || !allConstant(rw, operands)) {
        rw.copy(op);
        continue;
      }
      ir::Op mapped = op;
      mapped.operands = operands;
      ir::Tensor value = evaluateOp(rw, mapped, type);
      ir::AttrValue attr;
      if (allEqual(value.data)) {
        attr = value.data[0];
      } else if (type.numElements() <= kMaxDenseElements) {
        attr = value.data;
      } else {
        rw.copy(op);
        continue;
      }
      rw.set(op.result, rw.builder().create(ir::OpKind::Constant, {}, {{"value", attr}}, type, f.nameOf(op.result)));
      changed = true;
    }
    f = rw.finish();
  }
  return changed;
}

}  // namespace gantry::passes
