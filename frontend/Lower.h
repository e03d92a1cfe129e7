// Lowers a checked program to an IR module (docs/language.md, "Lowering", shows an example):
//   @G(params of G, random z) -> (samples)               the generator's forward pass
//   @D(params of D, input x) -> (scores)                 the discriminator's forward pass
//   @D.loss / @G.loss(input x, random z, params of G, params of D, random draws of the objective) -> (loss)
// Networks are inlined where the objective applies them; `grad(e, v)` becomes ordinary ops through
// passes::differentiate. The GAN options the later passes expand (unroll, penalties, optimizers, n_critic) and
// what the runtime needs (data, noise, init, train) become module attributes.
//
// Precondition: `p` checked without errors. Postcondition: the module verifies.
#pragma once

#include "frontend/Check.h"
#include "ir/Module.h"

namespace gantry::frontend {

ir::Module lowerProgram(const CheckedProgram &p);

}  // namespace gantry::frontend
