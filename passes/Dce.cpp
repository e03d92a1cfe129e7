#include "passes/Dce.h"

#include "passes/Rewriter.h"

namespace gantry::passes {

bool eliminateDeadCode(ir::Module &m) {
  bool changed = false;
  for (ir::Function &f : m.functions) {
    // Liveness, walking the ops backwards from the results.
    std::vector<bool> live(f.values.size(), false);
    for (const ir::Result &r : f.results) live[r.value.id] = true;
    for (size_t i = f.ops.size(); i-- > 0;)
      if (live[f.ops[i].result.id])
        for (ir::Value v : f.ops[i].operands) live[v.id] = true;
    size_t dead = 0;
    for (const ir::Op &op : f.ops) dead += !live[op.result.id];
    if (dead == 0) continue;
    Rewriter rw(f);
    for (const ir::Op &op : f.ops)
      if (live[op.result.id]) rw.copy(op);
    f = rw.finish();
    changed = true;
  }
  return changed;
}

}  // namespace gantry::passes
