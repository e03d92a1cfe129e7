// Runs a pipeline of passes over a module, with the instrumentation LLVM users expect.
//
// A pipeline is written as a list of pass names; a parenthesised group followed by `*` repeats until none of its
// passes changes the module (at most kMaxFixedPointRounds rounds):
//   autodiff,(fold,algebraic,cse,dce,reassociate)*,fuse          (the default pipeline)
// Instrumentation: dumps after chosen passes (`// *** IR Dump After cse ***`, a comment, so every dump reads back
// with `gantry ir`), only after passes that changed something (`--print-changed`; the others get one line saying
// so), verification after every pass, a table of time and op counts per pass, and stopping after a named pass.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ir/Module.h"
#include "passes/Registry.h"

namespace gantry::passes {

constexpr int kMaxFixedPointRounds = 16;
constexpr std::string_view kDefaultPipeline = "autodiff,(fold,algebraic,cse,dce,reassociate)*,fuse";
// What `gantry run` compiles: the GAN passes, then the training step. The `cse` before `step` matters: `unroll`
// inlines D's loss K times, each with its own copy of G(z); merged, G(z) is one value whose adjoints add up
// before one backward pass through G, instead of K + 1 backward passes (ring8 K = 5: 6 -> 1 weight gradients of
// G's first layer, 252 -> 227 matmuls).
constexpr std::string_view kTrainingPipeline = "penalty,unroll,cse,step,(fold,algebraic,cse,dce,reassociate)*,fuse";
// What `gantry grad` compiles: the same objective with D's and G's losses differentiated on their own.
constexpr std::string_view kGradPipeline = "penalty,unroll,cse,autodiff,(fold,algebraic,cse,dce,reassociate)*,fuse";

struct PipelineStep {
  std::vector<const PassInfo *> passes;
  bool fixedPoint = false;  // repeat the group until nothing changes
};
using Pipeline = std::vector<PipelineStep>;

// Parses pipeline text ("default" means kDefaultPipeline). Throws std::invalid_argument naming the problem
// (an unknown pass, with the known ones; unbalanced parentheses; an empty name).
Pipeline parsePipeline(std::string_view text);
std::string pipelineStr(const Pipeline &p);

struct Instrumentation {
  std::set<std::string> printAfter;  // pass names
  bool printAfterAll = false;
  bool printChanged = false;
  bool verifyEach = false;
  bool timePasses = false;
  std::string stopAfter;  // a pass name: stop after its first run
};

struct PassStats {
  std::string name;
  int runs = 0, changed = 0;
  double seconds = 0;
  long opsDelta = 0;  // how many ops its runs added (positive) or removed (negative) in all
};

struct PipelineReport {
  std::vector<PassStats> passes;  // in order of first run
  bool stopped = false;           // stopAfter was reached
  std::string log;                // dumps and notes, in order (the CLI prints it to stderr)
  size_t opsBefore = 0, opsAfter = 0;
};

// Runs the pipeline. With verifyEach, a pass that leaves invalid IR throws ir::IrError naming the pass.
PipelineReport runPipeline(ir::Module &m, const Pipeline &pipeline, const Instrumentation &inst = {});

// The --time-passes table.
std::string timeReport(const PipelineReport &r);

size_t opCount(const ir::Module &m);

}  // namespace gantry::passes
