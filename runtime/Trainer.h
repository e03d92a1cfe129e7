// The training driver behind `gantry run`: compiles the program's training step (penalty, unroll, step,
// simplification, fusion; then the JIT), initialises parameters as the program says, and for every step samples
// the batch and the draws from counter-based streams keyed by (seed, step, parameter), runs @step, and writes the
// updated parameters and optimizer state back. Every evaluation interval it draws 2,500 samples from G, measures
// mode collapse (runtime/Metrics.h), appends a line to metrics.jsonl and saves checkpoint.npz; with `terms`, it
// also measures the two parts of G's gradient (runtime/Grad.h's split).
//
// Same seed and threads: bit-identical runs. --resume continues exactly where a checkpoint stopped. A loss or
// parameter that is not finite stops the run, naming the step and the value, and the last good checkpoint stays.
// Ctrl-C saves a checkpoint and stops. Every file is written to a temporary file and renamed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <map>

#include "ir/Module.h"
#include "support/Npz.h"

namespace gantry::runtime {

// What a finished run measured, for callers that compare runs (`gantry sweep`).
struct RunSummary {
  bool hasModes = false;  // the dataset is a mixture: the mode metrics below apply
  int64_t modesCaptured = 0, modes = 0;
  double highQuality = 0, reverseKl = 0;  // reverseKl is NaN without high-quality samples
  double energyDistance = 0;              // to held-out data, for datasets without modes
  double stepsPerSecond = 0, compileSeconds = 0;
};

struct RunOptions {
  std::optional<int64_t> steps;   // default: the program's train.steps
  std::optional<uint64_t> seed;   // default: the program's train.seed
  std::string outDir;             // default: runs/NAME-TIMESTAMP
  std::string resumeDir;          // continue from DIR/checkpoint.npz
  bool quiet = false, json = false;
  bool progressBar = false;       // with quiet: still draw the progress bar on a terminal (sweeps)
  RunSummary *summary = nullptr;  // filled when the run finishes
  // At each evaluation, also split G's gradient (on the step's last batch) into its direct term and the term
  // through D's unrolled updates: norms and cosine in the log and metrics.jsonl. Shows the unrolling is live
  // (a "second-order" unroll that is really first order has a zero unrolled term). Costs a second compile.
  bool terms = false;
};

// runs/NAME-YYYYmmdd-HHMMSS: where a run writes when no folder is given.
std::string defaultRunDir(const std::string &name);

// Returns the process exit code: 0 done, 1 stopped by a non-finite value, 130 interrupted.
int train(const ir::Module &lowered, const std::string &name, const RunOptions &options);

}  // namespace gantry::runtime
