// Native code for IR functions through LLVM 19: each function becomes one LLVM function of loop nests (one per
// op), optimised at O2 for the host CPU (AVX-512 where present) and loaded with ORC's LLJIT.
//
// The compiled function computes in f32 (i1 values are stored as 0.0f / 1.0f). It takes one buffer per
// parameter, in order, then one per result, each holding its tensor's elements in row-major order; intermediate
// values live in an arena the CompiledFunction allocates once, so a call allocates nothing. Its results agree with
// the double-precision interpreter within the tolerances in docs/performance.md ("Accuracy").
//
// This header exposes no LLVM type: LLVM headers are included in backend/*.cpp only.
#pragma once

#include <memory>
#include <stdexcept>
#include <span>
#include <string>
#include <vector>

#include "ir/Interpreter.h"
#include "ir/Module.h"

namespace gantry::backend {

class CompiledFunction {
 public:
  ~CompiledFunction();
  CompiledFunction(const CompiledFunction &) = delete;
  CompiledFunction &operator=(const CompiledFunction &) = delete;

  const ir::Function &function() const;
  double compileSeconds() const;  // emit + optimise + generate code, or load from the cache; and link
  bool fromCache() const;
  size_t arenaBytes() const;

  // Runs on raw buffers: one per parameter, then one per result, sized as their types say.
  void run(float *const *buffers);
  // Convenience for tests and tools: converts to and from the interpreter's double-precision tensors.
  std::vector<ir::Tensor> run(std::span<const ir::Tensor> args);

  struct Impl;
  explicit CompiledFunction(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

// A function whose memory (arena, parameters and results) would exceed what the machine has available; thrown by
// compile() before anything is allocated, with the sizes, so the OS never has to kill the process.
class ResourceError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bytes this process can still allocate: MemAvailable, capped by a cgroup memory limit when there is one.
size_t availableMemoryBytes();

struct CompileOptions {
  bool useCache = true;        // the on-disk cache of backend/Cache.h (`--no-cache` turns it off)
  std::string cacheDirectory;  // empty: CompileCache::defaultDirectory()
  int vectorWidth = 0;         // floats per vector: 0 for the host's widest; 8 or 4 exercise narrower hosts' code
  bool amx = true;             // matmuls on AMX tiles where the host has them (a narrower vectorWidth turns this off)
  int64_t amxMinMacs = -1;     // the smallest product on AMX, in multiply-adds; -1: CodegenTarget's default
};

// Compiles `f` (which must verify) into native code, or loads it from the compile cache.
std::unique_ptr<CompiledFunction> compile(const ir::Function &f, const CompileOptions &options = {});

// The LLVM IR of `f`, before or after the O2 pipeline; and the host assembly.
std::string llvmIr(const ir::Function &f, bool optimized, const CompileOptions &options = {});
std::string assembly(const ir::Function &f, const CompileOptions &options = {});

}  // namespace gantry::backend
