// Arithmetic cost of an IR function, counted from its ops and types: what a benchmark divides by time to get
// an achieved GFLOP/s (bench/, `gantry run`'s summary.json).
//
// The convention is the usual one for such counts: a matmul of [m, k] by [k, n] is 2·m·k·n floating-point
// operations (one multiply and one add per term); an elementwise op (unary, binary, compare, select) is one per
// result element, transcendental or not; a reduction is one per operand element; constants, stop_gradient and
// the shape ops (broadcast, reshape, transpose, concat, slice, pad) move data and count zero. The count says what
// the graph asks for, not what the backend executes (fusion and memory traffic do not change it).
#pragma once

#include <cstdint>

#include "ir/Module.h"

namespace gantry::ir {

double opFlops(const Function &f, const Op &op);
double flopCount(const Function &f);

}  // namespace gantry::ir
