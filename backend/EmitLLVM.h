// Lowers one IR function to an LLVM module (internal to backend/).
//
// The module holds one function `void ENTRY(float **buffers, float *arena)`: buffers[i] is parameter i, then
// result j is buffers[params + j]; results are computed in place in their buffers, other values in the arena,
// where backend/MemoryPlan.h reuses the blocks of dead values. Each op is one loop nest over its output (elementwise
// ops a flat loop the vectorizer widens; broadcasts, transposes, slices and reductions strided nests). Matmul is
// blocked and register-tiled (BLIS-style): A and B are packed into the arena (which also absorbs the transpose
// flags), and an MR x 2 vectors block of C is accumulated in registers with vector FMAs over a K block. Fast-math flags: `contract` everywhere (FMA),
// `reassoc` only on the accumulations of reductions and matmul (so they vectorize); nothing else, so NaN and inf
// behave as in the interpreter.
#pragma once

#include <cstdint>

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include <memory>
#include <string>

#include "ir/Module.h"

namespace gantry::backend {

struct EmittedModule {
  std::unique_ptr<llvm::Module> module;
  std::string entry;
  size_t arenaFloats = 0;  // the planned arena (backend/MemoryPlan.h)
  size_t naiveFloats = 0;  // what it would be without reuse
};

// What the code is shaped for: the f32 lanes of one vector register (16 with AVX-512, 8 with AVX2, 4 otherwise).
struct CodegenTarget {
  int vectorWidth = 8;
  bool parallel = false;  // split matmul and large elementwise kernels across threads (gantry_parallel_for)
  bool amx = false;       // tiled matmuls on AMX tiles with f32 accuracy (backend/AmxKernels.h); AMX hosts only
  int64_t amxMinMacs = int64_t{1} << 25;  // ... those with at least this many multiply-adds (smaller ones measured slower)
};

EmittedModule emitFunction(const ir::Function &f, llvm::LLVMContext &ctx, const std::string &entry,
                           const CodegenTarget &target);

// The same, adding the function to an existing module (an object file holding a whole model).
struct ArenaSize {
  size_t arenaFloats = 0, naiveFloats = 0;
};
ArenaSize emitInto(llvm::Module &module, const ir::Function &f, const std::string &entry, const CodegenTarget &target);

}  // namespace gantry::backend
