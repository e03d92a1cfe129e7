// unroll: G's objective against D after K more optimizer steps of D (Metz et al. 2016, `unroll D K`).
//
// @G.loss(…, θG, θD) becomes f(θG, θD^K) with θD^0 = θD and, for k = 1..K,
//   θD^k, s^k = update(θD^{k-1}, ∇θD D.loss(x, z, θG, θD^{k-1}), s^{k-1})
// where `update` is D's own optimizer (passes/Optimizer.h) and s its state, which becomes new `state` parameters
// of @G.loss (Adam's moments and step count, SGD's momentum). Every copy of D's loss is inlined and
// differentiated with passes::differentiate, so the gradient of G's loss in θG — taken by the step — flows
// through all K updates: exact second order (the direct term plus the term through dθD^K/dθG).
// `order: first` puts stop_gradient on θD^K before G's loss uses it: only the direct term remains.
// By default all K steps use the batch and the draws of G's loss; `fresh` gives step k its own (parameters
// named `unroll.k.NAME`). Only @G.loss changes: D's real update is the step's business.
// Preconditions: a lowered GAN module; penalties already expanded (they belong to D's loss). Postconditions: it
// verifies; running the pass again changes nothing. Returns whether G's loss was unrolled.
#pragma once

#include "ir/Module.h"

namespace gantry::passes {

bool unrollDiscriminator(ir::Module &m);

}  // namespace gantry::passes
