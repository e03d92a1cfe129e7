// Ahead-of-time compilation: a whole module as one object file plus a C header, so a trained generator can be
// embedded in a C or C++ program without LLVM (link the object with -lm).
//
// Each function becomes `void PREFIX_NAME(float **buffers, float *arena)` (dots in NAME become underscores), with
// the same calling convention as the JIT: buffers[i] is parameter i, then the results, each row-major f32; the
// arena is the caller's, PREFIX_NAME_ARENA_FLOATS floats, 64-byte aligned, reused across calls. The header lists
// every buffer's name, role and shape. The code is compiled for this machine's CPU (named in the header).
#pragma once

#include <string>

#include "ir/Module.h"

namespace gantry::backend {

struct AotOutput {
  std::string object;  // the object file's bytes
  std::string header;  // the C header's text
};

// `prefix` must be a C identifier; `source` names what was compiled, for the header's comment.
AotOutput compileAheadOfTime(const ir::Module &m, const std::string &prefix, const std::string &source);

}  // namespace gantry::backend
