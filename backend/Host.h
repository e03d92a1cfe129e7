// The host's code generation setup, shared by the JIT and ahead-of-time compilation (internal to backend/).
#pragma once

#include <llvm/IR/Module.h>
#include <llvm/Target/TargetMachine.h>

#include <memory>

#include "backend/EmitLLVM.h"

namespace gantry::backend {

// A TargetMachine for this CPU and its features, at the highest optimisation level; for object files,
// position-independent with the small code model.
std::unique_ptr<llvm::TargetMachine> hostTargetMachine(bool forObjectFile);
// LLVM's O2 pipeline with loop vectorization (no SLP: see Jit.cpp), built from `tm` so the vectorizers know the vector width.
void optimizeForHost(llvm::Module &m, llvm::TargetMachine &tm);
// The vector width the emitted kernels are shaped for; `parallel` splits large kernels across threads (the JIT
// provides gantry_parallel_for; object files for embedding are single-threaded and need no runtime).
CodegenTarget hostCodegenTarget(bool parallel);

}  // namespace gantry::backend
