// Mode-collapse metrics on generated samples of a mixture (VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al.
// 2018); docs/metrics.md has the formulas.
//   - a sample is high quality if it lies within 3 standard deviations of its nearest mode (Euclidean distance
//     at most 3σ, σ the modes' std);
//   - a mode is captured if it is the nearest mode of at least one high-quality sample;
//   - reverse KL: KL(q ‖ p) = Σ q_k log(q_k / p_k), q the distribution of high-quality samples over modes and p the
//     true, uniform one (NaN when there is no high-quality sample).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace gantry::runtime {

struct ModeMetrics {
  int64_t modesCaptured = 0;
  int64_t modes = 0;
  double highQualityFraction = 0;  // of all samples
  double reverseKl = 0;            // NaN without high-quality samples
  std::vector<int64_t> perMode;    // high-quality samples nearest each mode
};

// `samples` holds rows of `dim` values.
ModeMetrics modeMetrics(std::span<const float> samples, int64_t dim, const std::vector<std::vector<double>> &modes, double modeStd);

// The reverse KL as a person reads it: three decimals, or "—" when it is undefined (no high-quality sample).
std::string reverseKlText(double reverseKl);

// The energy distance (Székely and Rizzo 2013) between two sample sets of rows of `dim` values, for datasets
// without modes: 2·E‖X−Y‖ − E‖X−X′‖ − E‖Y−Y′‖ with every expectation the mean over all pairs (i = j included,
// the V-statistic), so it is 0 for identical sets and never negative. Quadratic in the set sizes.
double energyDistance(std::span<const float> x, std::span<const float> y, int64_t dim);

}  // namespace gantry::runtime
