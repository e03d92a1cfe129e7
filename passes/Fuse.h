// fuse: groups runs of elementwise ops into loop nests the backend emits as one.
//
// Walking the ops in order, a group collects a contiguous run of ops over one iteration shape S: elementwise ops
// (unary, binary, compare, select) with result shape S, broadcasts to S and splat constants of shape S (read or
// written inline, never stored), and ends with at most one reduction of a shape-S value. Each group's ops get
// `fusion = N` (N counts from 0 in each function); a value used only inside its group is never stored. Runs of
// one op are left alone. Existing groups are discarded first, so the pass is idempotent.
// A value computed from broadcasts and splat constants alone (a broadcast, a splat constant, an outer product
// mul(broadcast u, broadcast v)) that ops of other groups read is cloned, with what it is computed from, into
// each of those groups (right before the group's first op), and the original dropped if nothing else reads it:
// recomputing it inline costs an op or two per element, storing it a whole tensor written and read back. A
// value computed from more than 24 ops is not copied (copies stay linear in the program's size).
// Contiguous runs are always legal (the op list is a topological order, so no path leaves a run and comes back);
// ops are not reordered to make runs longer.
// Preconditions: the module verifies. Postconditions: it verifies (ir/Verifier.h checks every group) and computes
// the same values. Returns whether any op's group changed.
#pragma once

#include "ir/Module.h"

namespace gantry::passes {

bool fuseElementwise(ir::Module &m);

}  // namespace gantry::passes
