#include "passes/Rewriter.h"

#include <algorithm>
#include <cmath>

namespace gantry::passes {

Rewriter::Rewriter(const ir::Function &old) : old_(old), builder_(fn_), map_(old.values.size()) {
  fn_.name = old.name;
  for (const ir::Param &p : old.params) map_[p.value.id] = builder_.param(old.nameOf(p.value), old.type(p.value), p.role, p.dist);
}

std::vector<ir::Value> Rewriter::mapOperands(const ir::Op &op) const {
  std::vector<ir::Value> out;
  out.reserve(op.operands.size());
  for (ir::Value v : op.operands) out.push_back(map(v));
  return out;
}

ir::Value Rewriter::copy(const ir::Op &op) {
  const ir::OpDef &def = ir::opDef(op.kind);
  std::optional<ir::TensorType> declared;
  if (def.explicitResultType) declared = old_.type(op.result);
  // Fusion groups describe the op order `fuse` saw: a rewrite may break them, so they are dropped (`fuse` runs
  // again at the end of the pipeline).
  ir::Attrs attrs;
  for (const auto &[name, value] : op.attrs.entries())
    if (name != ir::kFusionAttr) attrs.set(name, value);
  ir::Value v = builder_.create(op.kind, mapOperands(op), attrs, declared, old_.nameOf(op.result));
  set(op.result, v);
  return v;
}

const ir::Op *Rewriter::definingOp(ir::Value v) const {
  // Ops are appended in order and each defines the next value: find by result.
  auto it = std::lower_bound(fn_.ops.begin(), fn_.ops.end(), v.id,
                             [](const ir::Op &op, uint32_t id) { return op.result.id < id; });
  return it != fn_.ops.end() && it->result == v ? &*it : nullptr;
}

std::optional<double> Rewriter::splatValue(ir::Value v) const {
  const ir::Op *op = definingOp(v);
  while (op && op->kind == ir::OpKind::Broadcast) op = definingOp(op->operands[0]);
  if (!op || op->kind != ir::OpKind::Constant) return std::nullopt;
  const ir::AttrValue &value = *op->attrs.find("value");
  if (const auto *x = std::get_if<double>(&value)) return *x;
  const auto &list = std::get<std::vector<double>>(value);
  for (double x : list)
    if (!(x == list[0]) || std::signbit(x) != std::signbit(list[0])) return std::nullopt;
  return list[0];
}

ir::Function Rewriter::finish() {
  for (const ir::Result &r : old_.results) builder_.result(r.name, map(r.value));
  return std::move(fn_);
}

}  // namespace gantry::passes
