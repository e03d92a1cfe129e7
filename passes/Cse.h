// cse: common-subexpression elimination.
//
// Two ops are the same computation when they have the same kind, the same operands (after earlier merges; in any
// order for add, mul, max and min, which commute exactly in IEEE arithmetic), the
// same attributes and the same result type; the later one is replaced by the earlier. Ops are pure and every
// random draw is a parameter, so merging never changes what a function computes. Constants with equal values
// merge too (NaN constants included: they compute the same NaN).
// Preconditions: the module verifies. Postconditions: it verifies, computes the same results, and no two ops
// of a function are the same computation. Returns whether any op was merged (the merged ops stay, unused, for
// dce to remove).
#pragma once

#include "ir/Module.h"

namespace gantry::passes {

bool eliminateCommonSubexpressions(ir::Module &m);

}  // namespace gantry::passes
