#include "passes/Fuse.h"

#include <optional>

namespace gantry::passes {
namespace {

using ir::OpKind;

bool isReduction(OpKind k) { return k == OpKind::ReduceSum || k == OpKind::ReduceMean || k == OpKind::ReduceMax; }

bool isSplatConstant(const ir::Op &op) {
  return op.kind == OpKind::Constant && std::holds_alternative<double>(*op.attrs.find("value"));
}

// The iteration shape an op runs over if it can be in a group (its own shape), or nothing.
std::optional<ir::Shape> domainOf(const ir::Function &f, const ir::Op &op) {
  if (ir::opDef(op.kind).cls != ir::OpClass::Structural || op.kind == OpKind::Broadcast || isSplatConstant(op))
    return f.type(op.result).shape;
  return std::nullopt;
}

}  // namespace

bool fuseElementwise(ir::Module &m) {
  bool changed = false;
  for (ir::Function &f : m.functions) {
    std::vector<std::optional<int64_t>> before(f.ops.size()), after(f.ops.size());
    for (size_t i = 0; i < f.ops.size(); ++i)
      if (const ir::AttrValue *g = f.ops[i].attrs.find(ir::kFusionAttr)) before[i] = std::get<int64_t>(*g);

    int64_t next = 0;
    size_t start = 0;  // first op of the current run
    std::optional<ir::Shape> domain;
    auto close = [&](size_t end) {  // ops [start, end) form a run
      if (end - start >= 2) {
        for (size_t i = start; i < end; ++i) after[i] = next;
        ++next;
      }
    };
    for (size_t i = 0; i < f.ops.size(); ++i) {
      const ir::Op &op = f.ops[i];
      std::optional<ir::Shape> own = domainOf(f, op);
      bool joins = domain && ((own && *own == *domain) || (isReduction(op.kind) && f.type(op.operands[0]).shape == *domain));
      // A broadcast of a value computed in the run would need that value at other indices: not inline.
      if (joins && op.kind == OpKind::Broadcast)
        for (size_t k = start; k < i; ++k) joins = joins && f.ops[k].result != op.operands[0];
      if (joins) {
        if (isReduction(op.kind)) {  // a reduction ends its run
          close(i + 1);
          domain.reset();
          start = i + 1;
        }
        continue;
      }
      close(i);
      start = i;
      domain = own;
      if (!domain) start = i + 1;
    }
    if (domain) close(f.ops.size());

    for (size_t i = 0; i < f.ops.size(); ++i) {
      if (before[i] == after[i]) continue;
      changed = true;
      ir::Attrs attrs;
      for (const auto &[name, value] : f.ops[i].attrs.entries())
        if (name != ir::kFusionAttr) attrs.set(name, value);
      if (after[i]) attrs.set(ir::kFusionAttr, *after[i]);
      f.ops[i].attrs = attrs;
    }
  }
  return changed;
}

}  // namespace gantry::passes
