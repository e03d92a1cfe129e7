#include "runtime/Checkpoint.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>

namespace gantry::runtime {
namespace {

// A float64 scalar that must be an integer in [0, limit]; anything else (NaN, 1e300, -1, 2.5) is refused
// before it is converted, since converting such a double to an integer is undefined.
uint64_t integerScalar(const std::map<std::string, NpyArray> &arrays, const std::string &path, const std::string &key, double limit) {
  auto it = arrays.find(key);
  if (it == arrays.end() || it->second.wide.size() != 1 || !it->second.shape.empty())
    throw FileError(fmt::format("'{}' has no float64 scalar {} (is it a Gantry checkpoint?)", path, key));
  const double v = it->second.wide[0];
  if (!(v >= 0 && v <= limit && v == std::floor(v)))
    throw FileError(fmt::format("'{}': {} is {}, not an integer from 0 to {}", path, key, v, limit));
  return static_cast<uint64_t>(v);
}

}  // namespace

Checkpoint readCheckpoint(const std::string &path, const std::vector<CheckpointArray> &wanted) {
  std::map<std::string, NpyArray> arrays = readNpz(path);
  Checkpoint c;
  c.step = static_cast<int64_t>(integerScalar(arrays, path, "meta.step", 1e15));
  c.seed = (integerScalar(arrays, path, "meta.seed_hi", 4294967295.0) << 32) | integerScalar(arrays, path, "meta.seed_lo", 4294967295.0);
  for (const CheckpointArray &w : wanted) {
    auto it = arrays.find(w.name);
    if (it == arrays.end()) throw FileError(fmt::format("'{}' has no array '{}': it is from another model", path, w.name));
    if (it->second.shape != w.shape)
      throw FileError(fmt::format("array '{}' in '{}' has shape [{}], expected [{}]", w.name, path, fmt::join(it->second.shape, ", "),
                                  fmt::join(w.shape, ", ")));
    for (float v : it->second.data)
      if (!std::isfinite(v)) throw FileError(fmt::format("array '{}' in '{}' holds {}: not a state to continue from", w.name, path, v));
    c.arrays[w.name] = std::move(it->second.data);
  }
  return c;
}

void writeCheckpoint(const std::string &path, const std::map<std::string, NpyArray> &arrays, int64_t step, uint64_t seed) {
  std::map<std::string, NpyArray> all = arrays;
  all["meta.step"] = {{}, {static_cast<float>(step)}, {static_cast<double>(step)}};
  all["meta.seed_hi"] = {{}, {0}, {static_cast<double>(seed >> 32)}};
  all["meta.seed_lo"] = {{}, {0}, {static_cast<double>(seed & 0xffffffffu)}};
  writeNpzAtomically(path, all);
}

}  // namespace gantry::runtime
