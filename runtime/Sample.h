// `gantry sample`: draws from a trained generator. Compiles the program's G alone (no training step), loads
// G's parameters from a checkpoint written by `gantry run`, and runs G on fresh noise until N samples are drawn.
// The noise comes from the checkpoint's seed (or the one given) in a stream domain no training or evaluation
// draw uses, so samples are reproducible and independent of the training batches.
#pragma once

#include <cstdint>
#include <optional>
#include <functional>
#include <string>
#include <vector>

#include "backend/Jit.h"
#include "ir/Module.h"

namespace gantry::runtime {

struct SampleOptions {
  std::string checkpoint;        // a run folder holding checkpoint.npz, or the .npz itself
  int64_t count = 2500;
  std::string output;            // .npy or .csv
  std::optional<uint64_t> seed;  // default: the checkpoint's
};

// Runs a compiled G on noise from the streams (seed, domain, call 0, 1, ...) until `count` rows are drawn, and
// returns them row-major. `parameter(name)` gives each of G's weights (the trainer's live buffers, or a
// checkpoint's arrays). G must take exactly one random parameter.
using ParameterLookup = std::function<const std::vector<float> &(const std::string &name)>;

// The buffers to run a compiled function on: a copy of every parameter from `parameter(name)` (a copy: the
// function may use its inputs as scratch), except those of role `free`, which start as zeros for the caller
// to fill (`freeSlot` is the last of them); then one buffer per result. `pointers` has them in that order.
struct CallBuffers {
  std::vector<std::vector<float>> store;
  std::vector<float *> pointers;
  size_t freeSlot = 0;
  size_t results = 0;
  std::vector<float> &result(size_t j) { return store[store.size() - results + j]; }
};
CallBuffers bindByName(const ir::Function &f, const ParameterLookup &parameter, std::optional<ir::ParamRole> free = std::nullopt);

std::vector<float> drawFromGenerator(backend::CompiledFunction &generator, const ParameterLookup &parameter, uint64_t seed,
                                     uint64_t domain, int64_t count);

// Writes the samples (N rows of G's width) atomically; throws FileError for a missing or foreign checkpoint.
void sample(const ir::Module &lowered, const SampleOptions &options);

}  // namespace gantry::runtime
