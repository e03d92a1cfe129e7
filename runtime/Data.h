// The data and noise samplers of a lowered program (module attributes data.*, noise.*), drawing from the
// counter-based streams of runtime/Random.h: a batch is a function of (seed, step, stream) alone.
//   bimodal1d(left, right, std)   two equal 1-D Gaussians
//   ring(modes, radius, std)      Gaussians at angles 2πk/modes on a circle of the radius
//   grid(k, spacing, std)         k × k Gaussians at (i - (k-1)/2)·spacing, (j - (k-1)/2)·spacing
//   spiral(turns, std)            t ~ U[0,1): radius 0.5 + 2.5t at angle 2π·turns·t, plus N(0, std²) noise
//   swissroll(std)                t ~ U[0,1), θ = 1.5π(1 + 2t): (θ cos θ, θ sin θ) / 5, plus noise
//   normal(dim, mean, std)
//   csv(path), npy(path)          rows drawn uniformly with replacement (standardised per column if asked);
//                                 every tenth row (of 20 or more) is held out of training for evaluation
// The mixtures also give their modes and their std, for the mode-collapse metrics (runtime/Metrics.h).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ir/Module.h"
#include "runtime/Random.h"

namespace gantry::runtime {

class Dataset {
 public:
  virtual ~Dataset() = default;
  int64_t dim() const { return dim_; }
  // `out` holds rows * dim values, row-major.
  virtual void sample(const RandomKey &key, std::span<float> out) const = 0;
  // Rows training never sees, for two-sample distances: fresh draws for a distribution, held-out rows for a file.
  virtual void sampleHeldOut(const RandomKey &key, std::span<float> out) const { sample(key, out); }
  // The mixture's modes (empty for datasets without modes) and the std of each mode.
  const std::vector<std::vector<double>> &modes() const { return modes_; }
  double modeStd() const { return modeStd_; }

 protected:
  int64_t dim_ = 0;
  std::vector<std::vector<double>> modes_;
  double modeStd_ = 0;
};

// Throws ir::IrError (bad attributes) or FileError (a data file that cannot be used).
std::unique_ptr<Dataset> makeDataset(const ir::Module &m);

// Fills a tensor from a random parameter's distribution.
void fillFromDistribution(const ir::RandomDist &dist, const RandomKey &key, std::span<float> out);

}  // namespace gantry::runtime
