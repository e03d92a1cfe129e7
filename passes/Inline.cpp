#include "passes/Inline.h"

#include <fmt/format.h>

namespace gantry::passes {

std::vector<ir::Value> inlineFunction(ir::Builder &b, const ir::Function &callee, std::span<const ir::Value> args) {
  if (args.size() != callee.params.size())
    throw ir::IrError(fmt::format("inlining @{}: {} arguments for {} parameters", callee.name, args.size(), callee.params.size()));
  std::vector<ir::Value> map(callee.values.size());
  for (size_t i = 0; i < args.size(); ++i) {
    const ir::TensorType &want = callee.type(callee.params[i].value);
    if (b.type(args[i]) != want)
      throw ir::IrError(fmt::format("inlining @{}: argument {} is {}, parameter %{} is {}", callee.name, i, b.type(args[i]).str(),
                                    callee.nameOf(callee.params[i].value), want.str()));
    map[callee.params[i].value.id] = args[i];
  }
  for (const ir::Op &op : callee.ops) {
    std::vector<ir::Value> operands;
    for (ir::Value v : op.operands) operands.push_back(map[v.id]);
    ir::Attrs attrs;
    for (const auto &[name, value] : op.attrs.entries())
      if (name != ir::kFusionAttr) attrs.set(name, value);
    std::optional<ir::TensorType> declared;
    if (ir::opDef(op.kind).explicitResultType) declared = callee.type(op.result);
    map[op.result.id] = b.create(op.kind, operands, attrs, declared, callee.nameOf(op.result));
  }
  std::vector<ir::Value> results;
  for (const ir::Result &r : callee.results) results.push_back(map[r.value.id]);
  return results;
}

}  // namespace gantry::passes
