// Initial values of the trainable parameters, as each network's `init` says (module attributes init.NET):
//   he            N(0, 2 / fan_in)                       weights [in, out]: fan_in = in, fan_out = out
//   glorot        N(0, 2 / (fan_in + fan_out))
//   orthogonal    gain · an orthogonal matrix (QR of a Gaussian one, signs fixed by R's diagonal, as torch does)
//   normal(std)   N(0, std²)
// Biases start at zero. Parameter i draws from stream i of the seed's step "init", so initial values depend on
// the seed and the parameter's place alone.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "ir/Module.h"

namespace gantry::runtime {

// `name` is the IR parameter name (NET.LAYER.w or NET.LAYER.b); `out` its values, row-major [in, out] for weights.
void initialiseParameter(const ir::Module &m, const std::string &name, const ir::TensorType &type, uint64_t seed, uint32_t stream,
                         std::span<float> out);

}  // namespace gantry::runtime
