// Checks that a function or module is well formed:
//   1. names: function, parameter and result names are identifiers, each unique in its scope;
//   2. parameters: a distribution exactly on random parameters (f32, with low < high or std >= 0), positive dims;
//   3. SSA: every op result is defined once, and every operand and result refers to a value defined before;
//   4. ops: attributes are exactly those the op table declares, of the declared kinds, and the op's result type
//      is what its shape rule infers.
// Messages name values as the printer shows them: `@f: %3 = matmul: contracting dimensions differ: ...`.
#pragma once

#include <string>
#include <vector>

#include "ir/Module.h"

namespace gantry::ir {

std::vector<std::string> verify(const Function &f);
std::vector<std::string> verify(const Module &m);

// Throws IrError listing every problem found (passes call this with --verify-each).
void verifyOrThrow(const Module &m);

}  // namespace gantry::ir
