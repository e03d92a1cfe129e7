// `gantry sweep`: trains every combination of some settings over several seeds and tabulates the runs in the
// style of the mode-collapse papers (VEEGAN, PacGAN): modes captured, % high-quality samples and reverse KL as
// mean ± standard error over seeds, with steps/s and compile time. Each run is an ordinary `gantry run` in its
// own folder under the sweep's folder; the table is printed and written as sweep.csv and sweep.md.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ir/Module.h"

namespace gantry::runtime {

struct SweepAxis {
  std::string key;                  // a --set key, e.g. unroll.steps
  std::vector<std::string> values;  // e.g. 0, 5, 10
};

struct SweepOptions {
  std::vector<SweepAxis> axes;   // every combination is trained
  std::vector<uint64_t> seeds;   // each combination once per seed
  std::optional<int64_t> steps;  // default: the program's
  std::string outDir;            // default: runs/NAME-sweep-TIMESTAMP
  bool quiet = false;
};

// `compile` lowers the program with the given --set overrides (one per axis). Returns the process exit code:
// 0 when every run finished, 1 when one stopped on a non-finite value (the table marks it), 130 interrupted.
int sweep(const std::function<ir::Module(const std::vector<std::string> &overrides)> &compile, const std::string &name,
          const SweepOptions &options);

// Splits `KEY=V1,V2,...` into an axis; throws std::invalid_argument for text without `=` or with an empty value.
SweepAxis parseSweepAxis(const std::string &text);

// Mean and standard error (sample standard deviation over √n) of the finite values; error 0 below two values.
struct MeanError {
  double mean = 0, error = 0;
  size_t count = 0;
};
MeanError meanError(const std::vector<double> &values);

// "m ± se" of the values (sample standard deviation over √n); just "m" for one value; "—" for none.
std::string meanAndError(const std::vector<double> &values, int decimals);

}  // namespace gantry::runtime
