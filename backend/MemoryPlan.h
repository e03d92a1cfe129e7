// Where each value of a function lives while the compiled function runs: memory planning over the op order.
//
//   1. A value an op defines lives from that op to its last use (to the end, if it is a result).
//   2. A function result is written straight into the caller's result buffer (the first time it is returned;
//      a value returned twice, or a parameter returned, is copied).
//   3. Every other value, and each matmul's packing buffers (live only during the matmul), gets a block of one
//      arena: blocks of dead values are reused, best fit first, and an elementwise op whose operand dies at that
//      op and has the same size writes its result over it (in place: optimizer updates, activation chains).
// Offsets are in floats and multiples of 16 (64 bytes). The arena's size is the peak of live bytes the greedy
// assignment reaches; `naiveFloats` (every value its own block) is reported beside it.
#pragma once

#include <cstdint>
#include <vector>

#include "ir/Module.h"

namespace gantry::backend {

struct Storage {
  enum class Kind { Param, Result, Arena } kind = Kind::Arena;
  size_t index = 0;   // Param: parameter index; Result: result index; Arena: offset in floats
};

struct MemoryPlan {
  std::vector<Storage> storage;        // by value id (op results and parameters)
  std::vector<size_t> packA, packB;    // by op index: arena offsets of a matmul's packing buffers
  std::vector<bool> copyResult;        // by result index: whether the result must be copied at the end
  size_t arenaFloats = 0;
  size_t naiveFloats = 0;
};

// `packFloats(op)` gives the two packing buffer sizes a matmul op needs (zero for other ops).
MemoryPlan planMemory(const ir::Function &f, const std::vector<std::pair<size_t, size_t>> &packFloats);

}  // namespace gantry::backend
