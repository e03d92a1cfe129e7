// dce: dead-code elimination.
//
// An op is dead when its result is neither a function result nor an operand of a live op (ops have no side
// effects; random draws are parameters, which are never removed). Removes every dead op.
// Preconditions: the module verifies. Postconditions: it verifies, computes the same results, and every op
// left contributes to a result. Returns whether any op was removed.
#pragma once

#include "ir/Module.h"

namespace gantry::passes {

bool eliminateDeadCode(ir::Module &m);

}  // namespace gantry::passes
