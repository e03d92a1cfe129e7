#include "ir/Cost.h"

namespace gantry::ir {

double opFlops(const Function &f, const Op &op) {
  const OpDef &def = opDef(op.kind);
  switch (def.cls) {
    case OpClass::Unary:
    case OpClass::Binary:
    case OpClass::Compare:
    case OpClass::Select:
      return static_cast<double>(f.type(op.result).numElements());
    case OpClass::Structural: break;
  }
  switch (op.kind) {
    case OpKind::Matmul: {
      const TensorType &a = f.type(op.operands[0]);
      const int64_t k = op.attrs.getBool("transpose_a") ? a.shape[0] : a.shape[1];
      return 2.0 * static_cast<double>(f.type(op.result).numElements()) * static_cast<double>(k);
    }
    case OpKind::ReduceSum:
    case OpKind::ReduceMean:
    case OpKind::ReduceMax:
      return static_cast<double>(f.type(op.operands[0]).numElements());
    default:
      return 0.0;
  }
}

double flopCount(const Function &f) {
  double total = 0;
  for (const Op &op : f.ops) total += opFlops(f, op);
  return total;
}

}  // namespace gantry::ir
