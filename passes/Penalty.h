// penalty: adds the discriminator's gradient penalties (`penalty D ...`, module attributes penalty.KIND.*) to its
// loss @D.loss, as ordinary ops built with autodiff of D with respect to its input (double backprop: the
// penalty's own gradient in D's weights is then a second derivative, which the step's autodiff takes).
//   wgan_gp(lambda)    x̂ = a x + (1 - a) G(z), a ~ U[0,1) per sample;     lambda mean((‖∇x̂ D(x̂)‖ - 1)^2)
//   dragan(lambda,c,k) x_p = x + c std(x) u, u ~ U[0,1) per element; x̂ = x + a (x_p - x), a ~ U[0,1) per sample;
//                      lambda mean((‖∇x̂ D(x̂)‖ - k)^2)          (std over all elements of the batch, population)
//   r1(gamma)          gamma mean(‖∇x D(x)‖^2) on the real batch           (no 1/2: Mescheder et al.'s gamma is
//   r2(gamma)          gamma mean(‖∇ D(G(z))‖^2) on generated samples       twice Gantry's)
// The draws are new random parameters of @D.loss: `penalty.wgan_gp.a`, `penalty.dragan.u`, `penalty.dragan.a`.
// Preconditions: a lowered GAN module. Postconditions: it verifies; @D.loss returns the penalised loss; running the
// pass again changes nothing. Returns whether a penalty was added.
#pragma once

#include "ir/Module.h"

namespace gantry::passes {

bool expandPenalties(ir::Module &m);

}  // namespace gantry::passes
