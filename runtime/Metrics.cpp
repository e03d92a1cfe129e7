#include "runtime/Metrics.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>

namespace gantry::runtime {

std::string reverseKlText(double reverseKl) { return std::isfinite(reverseKl) ? fmt::format("{:.3f}", reverseKl) : "—"; }

ModeMetrics modeMetrics(std::span<const float> samples, int64_t dim, const std::vector<std::vector<double>> &modes, double modeStd) {
  ModeMetrics m;
  m.modes = static_cast<int64_t>(modes.size());
  m.perMode.assign(modes.size(), 0);
  const size_t n = samples.size() / static_cast<size_t>(dim);
  int64_t good = 0;
  for (size_t r = 0; r < n; ++r) {
    double best = std::numeric_limits<double>::infinity();
    size_t nearest = 0;
    for (size_t k = 0; k < modes.size(); ++k) {
      double d2 = 0;
      for (int64_t d = 0; d < dim; ++d) {
        double diff = samples[r * static_cast<size_t>(dim) + static_cast<size_t>(d)] - modes[k][static_cast<size_t>(d)];
        d2 += diff * diff;
      }
      if (d2 < best) {
        best = d2;
        nearest = k;
      }
    }
    if (std::sqrt(best) <= 3 * modeStd) {  // NaN samples are never high quality
      ++m.perMode[nearest];
      ++good;
    }
  }
  for (int64_t c : m.perMode) m.modesCaptured += c > 0;
  m.highQualityFraction = n ? static_cast<double>(good) / static_cast<double>(n) : 0.0;
  if (good == 0) {
    m.reverseKl = std::numeric_limits<double>::quiet_NaN();
  } else {
    const double p = 1.0 / static_cast<double>(modes.size());
    for (int64_t c : m.perMode)
      if (c > 0) {
        double q = static_cast<double>(c) / static_cast<double>(good);
        m.reverseKl += q * std::log(q / p);
      }
  }
  return m;
}

namespace {

// The mean Euclidean distance over all pairs of rows of a and b.
double meanDistance(std::span<const float> a, std::span<const float> b, size_t dim) {
  const size_t na = a.size() / dim, nb = b.size() / dim;
  double total = 0;
  for (size_t i = 0; i < na; ++i) {
    double row = 0;
    for (size_t j = 0; j < nb; ++j) {
      double ss = 0;
      for (size_t d = 0; d < dim; ++d) {
        double diff = static_cast<double>(a[i * dim + d]) - static_cast<double>(b[j * dim + d]);
        ss += diff * diff;
      }
      row += std::sqrt(ss);
    }
    total += row;
  }
  return total / static_cast<double>(na * nb);
}

}  // namespace

double energyDistance(std::span<const float> x, std::span<const float> y, int64_t dim) {
  const size_t width = static_cast<size_t>(dim);
  if (x.size() < width || y.size() < width) return NAN;
  return 2 * meanDistance(x, y, width) - meanDistance(x, x, width) - meanDistance(y, y, width);
}

}  // namespace gantry::runtime
