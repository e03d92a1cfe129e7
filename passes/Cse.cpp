#include "passes/Cse.h"

#include <fmt/format.h>

#include <unordered_map>

#include "passes/Rewriter.h"

namespace gantry::passes {
namespace {

// A canonical text for an op of the new function: kind, operand ids, every attribute, result type.
std::string keyOf(const ir::Function &f, const ir::Op &op) {
  std::string key = ir::opName(op.kind);
  for (ir::Value v : op.operands) key += fmt::format(" %{}", v.id);
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
