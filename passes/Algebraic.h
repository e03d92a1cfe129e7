// algebraic: local algebraic simplification. Each rule replaces one op by a simpler equivalent:
//   identities     x + 0, 0 + x, x - 0, x * 1, 1 * x, x / 1, x ^ 1  ->  x
//                  0 - x, x * -1, -1 * x  ->  neg x;  neg(neg x)  ->  x;  x ^ 2  ->  square x
//   shapes         transpose(transpose x) -> one transpose (or x); identity transpose, reshape, broadcast, slice,
//                  pad, one-operand concat and reductions over no axes -> x; reshape(reshape x) -> reshape x
//   broadcasts     reduce_sum(broadcast x) over exactly the added axes -> x * n; reduce_mean / reduce_max -> x;
//                  op(broadcast a, broadcast b) with equal dims -> broadcast(op(a, b)), and likewise for unary ops,
//                  so elementwise work happens on the small tensor (scalars, mostly)
//   select         select(c, a, a), select(true, a, b) -> a;  select(false, a, b) -> b
//   matmul         over a contraction of 1 (an outer product u v^T) -> mul(broadcast u, broadcast v), which fuses
//                  with its readers; with a splat side c -> the other side times c, broadcast
// "0", "1" and "true" are splat constants, possibly broadcast. Not rules, because they change values: x * 0 -> 0
// (turns NaN and inf into 0 and would hide a diverging run; `fold` computes it when x is constant) and
// x ^ 0.5 -> sqrt x (they differ at -inf and -0).
// Preconditions: the module verifies. Postconditions: it verifies and computes the same results up to rounding
// (x * n for a sum of n equal terms) and the sign of zero (x + 0 -> x keeps -0 where IEEE addition gives +0; an
// outer product's -0 stays -0 where the matmul's sum gave +0).
// Returns whether any rule fired.
#pragma once

#include "ir/Module.h"

namespace gantry::passes {

bool simplifyAlgebra(ir::Module &m);

}  // namespace gantry::passes
