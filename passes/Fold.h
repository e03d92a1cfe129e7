// fold: constant folding.
//
// An op whose operands are all constants is evaluated at compile time with the reference interpreter (so folding
// agrees with it exactly) and replaced by a constant: a splat when every element is equal, otherwise a dense
// constant of at most 4096 elements (larger results stay as computed ops, to keep the IR readable and small).
// Values are computed in double precision; the backend rounds constants to f32 once, where unfolded code would
// round after each op — a difference within the documented interpreter/JIT tolerance.
// Preconditions: the module verifies. Postconditions: it verifies and computes the same results. Returns whether
// any op was folded (the constants it used stay, possibly unused, for dce).
#pragma once

#include "ir/Module.h"

namespace gantry::passes {

bool foldConstants(ir::Module &m);

}  // namespace gantry::passes
