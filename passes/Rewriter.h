// Rebuilds a function op by op, which is how the simplification passes change IR: each op of the old function is
// either copied (with its operands mapped to the new function's values) or replaced by a value the pass chooses,
// and the results follow the mapping. The new function keeps the parameters, their order and every name hint.
#pragma once

#include <optional>
#include <vector>

#include "ir/Builder.h"

namespace gantry::passes {

class Rewriter {
 public:
  explicit Rewriter(const ir::Function &old);

  ir::Builder &builder() { return builder_; }
  const ir::Function &function() const { return fn_; }

  ir::Value map(ir::Value old) const { return map_.at(old.id); }
  std::vector<ir::Value> mapOperands(const ir::Op &op) const;
  void set(ir::Value old, ir::Value now) { map_.at(old.id) = now; }
  // Copies `op` into the new function with mapped operands, and maps its result to the copy.
  ir::Value copy(const ir::Op &op);

  // The op of the new function that defines `v`, or null for a parameter.
  const ir::Op *definingOp(ir::Value v) const;
  // The single value of a constant that is the same everywhere: a splat constant, a dense constant whose
  // elements are all equal, or a broadcast of one. Empty otherwise.
  std::optional<double> splatValue(ir::Value v) const;

  // The rebuilt function (results mapped). The Rewriter is spent afterwards.
  ir::Function finish();

 private:
  const ir::Function &old_;
  ir::Function fn_;
  ir::Builder builder_;
  std::vector<ir::Value> map_;  // old value id -> new value
};

}  // namespace gantry::passes
