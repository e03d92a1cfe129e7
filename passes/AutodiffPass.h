// autodiff: adds the gradients of every loss to the module, so they can be seen and simplified on their own.
//
// For each function with a result named `loss` and no `grad.*` result yet, appends one result
// `grad.<param>` = d(loss)/d(param) per trainable (`param`-role, f32) parameter, computed by passes::differentiate.
// A loss function `@NET.loss` whose network `@NET` is in the module is differentiated only with respect to that
// network's parameters (each network minimises its own loss); otherwise with respect to every trainable parameter.
// Preconditions: the module verifies. Postconditions: it verifies; existing results are unchanged; running the
// pass again changes nothing. Returns whether any gradient was added.
#pragma once

#include "ir/Module.h"

namespace gantry::passes {

bool addLossGradients(ir::Module &m);

}  // namespace gantry::passes
