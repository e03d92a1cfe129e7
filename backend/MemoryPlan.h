// Where each value of a function lives while the compiled function runs: memory planning over the op order.
//
// The function runs as a sequence of steps: one op, or one fusion group (ops sharing `fusion = N`, emitted as
// one loop nest). Then:
//   1. A value lives from its step to the step of its last use (to the end, if it is a result). A value used only
//      inside its fusion group lives in registers and gets no memory at all.
//   2. A function result is written straight into the caller's result buffer (the first time it is returned;
//      a value returned twice, or a parameter returned, is copied).
//   3. Every other value, and each matmul's packing buffers (live during the matmul; a packed B that later
//      matmuls of the same B operand read too, until the last of them), gets a block of one arena: blocks of
//      dead values are reused, best fit first, and an elementwise step whose input dies there and has the size
//      of an output writes that output over it (in place: optimizer updates, activation chains). An input a
//      group also broadcasts is never overwritten in place (it is read at other indices).
// Offsets are in floats and multiples of 16 (64 bytes). The arena's size is the peak of live bytes the greedy
// assignment reaches; `naiveFloats` (every value its own block) is reported beside it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ir/Module.h"

namespace gantry::backend {

struct Storage {
  enum class Kind { Param, Result, Arena, None } kind = Kind::None;
  size_t index = 0;   // Param: parameter index; Result: result index; Arena: offset in floats
};

// A step: ops [begin, end) of the function, one op or one fusion group.
struct Step {
  size_t begin = 0, end = 0;
  bool fused() const { return end - begin > 1; }
};
std::vector<Step> stepsOf(const ir::Function &f);

struct MemoryPlan {
  std::vector<Storage> storage;        // by value id (op results and parameters)
  std::vector<size_t> packA, packB;    // by op index: arena offsets of a matmul's packing buffers
  std::vector<bool> copyResult;        // by result index: whether the result must be copied at the end
  size_t arenaFloats = 0;
  size_t naiveFloats = 0;
};

// The packing buffers op i needs (zero for ops other than matmul). A matmul whose B operand an earlier matmul
// has packed already reads that op's buffer: bFloats = 0 and bFrom = the packing op, whose buffer then lives
// until the last op that reads it.
struct PackRequest {
  size_t aFloats = 0, bFloats = 0;
  size_t bFrom = SIZE_MAX;  // SIZE_MAX: packs its own B (if bFloats > 0)
};
MemoryPlan planMemory(const ir::Function &f, const std::vector<PackRequest> &packs);

}  // namespace gantry::backend
