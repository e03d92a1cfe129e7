// step: builds @step, one whole training step of the GAN as one function — what the runtime calls and the
// backend compiles into one native function:
//   for c in 0 .. n_critic-1:  θD, sD = updateD(θD, ∇θD D.loss(batch c, θG, θD), sD)
//   θG, sG = updateG(θG, ∇θG G.loss(batch G, θG, θD, sD), sG)           (G sees D after its update(s); an unrolled
//                                                                        G.loss also takes D's optimizer state)
// Parameters: the batches (with n_critic = 1, D and G share `x`, `z` and the draws; otherwise critic step c reads
// `critic.c.NAME` and G's step the plain names), G's and D's parameters, both optimizers' state (passes/Optimizer.h).
// Results: `loss.D` (the last critic step's loss), `loss.G`, then every parameter and state tensor updated, each
// under its parameter's name — the runtime writes them back by name.
// Once built and differentiated, @step's stop_gradients are replaced by their operands (nothing differentiates
// @step again; in the compiled step each was a copy).
// Preconditions: a lowered GAN module, penalties and unrolling expanded. Postconditions: it verifies; @step has no
// stop_gradient; the other functions are unchanged; running the pass again changes nothing. Returns whether @step
// was built.
#pragma once

#include "ir/Module.h"

namespace gantry::passes {

bool buildTrainingStep(ir::Module &m);

}  // namespace gantry::passes
