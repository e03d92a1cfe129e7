// checkpoint.npz: what a run saves and what --resume, `gantry sample` and the tests read back.
//
// The file holds one float32 array per parameter and optimizer-state array of @step, by IR name, and three
// float64 scalars: meta.step and the seed split into meta.seed_hi / meta.seed_lo (exact in a double).
// readCheckpoint checks a file against what the reader needs before anything uses it: every array present with
// its shape, every value finite, the step and seed integers in range. A bad file is a one-line FileError; the
// caller has started nothing and written nothing.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "support/Npz.h"

namespace gantry::runtime {

struct CheckpointArray {
  std::string name;             // IR name, e.g. G.l0.w or D.l0.w.m
  std::vector<int64_t> shape;   // as the model declares it
};

struct Checkpoint {
  int64_t step = 0;
  uint64_t seed = 0;
  std::map<std::string, std::vector<float>> arrays;  // the `wanted` arrays, by name
};

// Reads `path` (a .npz) and checks it holds every array in `wanted`.
Checkpoint readCheckpoint(const std::string &path, const std::vector<CheckpointArray> &wanted);

// The arrays of a run's state and its step and seed, written atomically.
void writeCheckpoint(const std::string &path, const std::map<std::string, NpyArray> &arrays, int64_t step, uint64_t seed);

}  // namespace gantry::runtime
