// Plausible arguments for evaluating a function without a trainer (`gantry ir --eval`), drawn reproducibly from a
// seed: parameter i uses the random stream i of step 0.
//   random  from its own distribution;
//   input   N(0, 1);
//   param   rank 2: LeCun normal N(0, 1/fan_in) with fan_in the first dimension (the [in, out] weight layout
//           Gantry's linear layers use); other ranks: zero (biases);
//   state   zero (optimizer state starts at zero).
#pragma once

#include <cstdint>
#include <vector>

#include "ir/Interpreter.h"
#include "ir/Module.h"

namespace gantry::runtime {

std::vector<ir::Tensor> sampleArguments(const ir::Function &f, uint64_t seed);

}  // namespace gantry::runtime
