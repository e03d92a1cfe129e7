#include "passes/Cse.h"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>

#include "passes/Rewriter.h"

namespace gantry::passes {
namespace {

bool commutes(ir::OpKind k) {
  return k == ir::OpKind::Add || k == ir::OpKind::Mul || k == ir::OpKind::Max || k == ir::OpKind::Min;
}

// A canonical text for an op of the new function: kind, operand ids (sorted for commutative ops, so x + y and
// y + x meet), every attribute, result type.
std::string keyOf(const ir::Function &f, const ir::Op &op) {
  std::string key = ir::opName(op.kind);
  std::vector<uint32_t> ids;
  for (ir::Value v : op.operands) ids.push_back(v.id);
  if (commutes(op.kind)) std::sort(ids.begin(), ids.end());
  for (uint32_t id : ids) key += fmt::format(" %{}", id);
  for (const auto &[name, value] : op.attrs.entries()) key += fmt::format(" {}={}", name, ir::attrValueStr(value));
  return key + " : " + f.type(op.result).str();
}

}  // namespace

bool eliminateCommonSubexpressions(ir::Module &m) {
  bool changed = false;
  for (ir::Function &f : m.functions) {
    Rewriter rw(f);
    std::unordered_map<std::string, ir::Value> seen;
    for (const ir::Op &op : f.ops) {
      ir::Value v = rw.copy(op);
      const ir::Function &now = rw.function();
      auto [it, fresh] = seen.insert({keyOf(now, now.ops.back()), v});
      if (!fresh) {
        rw.set(op.result, it->second);
        changed = true;
      }
    }
    f = rw.finish();
  }
  return changed;
}

}  // namespace gantry::passes
