// Copies a function's body into another function at the builder's position, its parameters replaced by given
// values: how the GAN passes apply D, D's loss and G's loss inside the functions they build. The copies are
// ordinary ops (name hints kept, fusion groups dropped), so they can be differentiated and simplified like any
// other. Returns the values of the callee's results, in order.
#pragma once

#include <span>
#include <vector>

#include "ir/Builder.h"

namespace gantry::passes {

// `args` must match the callee's parameters in number and type.
std::vector<ir::Value> inlineFunction(ir::Builder &b, const ir::Function &callee, std::span<const ir::Value> args);

}  // namespace gantry::passes
