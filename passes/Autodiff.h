// Reverse-mode automatic differentiation as an IR-to-IR transform.
//
// differentiate() appends to a function the ops that compute the gradient of a scalar loss with respect to some of
// the function's values. Every op kind has a rule that turns the cotangent of its result into cotangents of its
// operands using ordinary ops only (no gradient ops), so the output can itself be differentiated: a gradient
// penalty, which needs the gradient in θ of ‖∇ₓD‖, is differentiate() applied to a function that already holds
// differentiate()'s output.
//
// Preconditions:
//   - the builder's function verifies;
//   - `loss` is an f32[] value of that function, and every wrt value is an f32 value of it (a parameter or the
//     result of any op, even one defined after the loss).
// Postconditions:
//   - the function's parameters, results and existing ops are unchanged; the gradient ops are appended after
//     them, so the function still verifies and still computes what it did;
//   - the i-th returned value has wrt[i]'s type and holds d(loss)/d(wrt[i]), the total derivative through every
//     path; a wrt value the loss does not depend on gets a zero constant of its type (the only zero materialised:
//     inside the sweep an absent cotangent is a symbolic zero);
//   - rules are applied only to ops that depend on some wrt value and that the loss depends on, so an unrelated
//     branch of the function adds no ops.
// Conventions where the derivative is not defined (documented with each rule in Autodiff.cpp):
//   - stop_gradient, sign, compare and constant pass no gradient, nor does the condition of select;
//   - relu'(0) = 0 and abs'(0) = sign(0) = 0;
//   - sqrt passes a zero cotangent as zero even at 0, where its derivative is infinite (no 0 * inf = NaN);
//   - max sends the cotangent to its first operand where a >= b (ties included) and to the second elsewhere, min
//     to the first where a <= b; where an operand is NaN the comparison is false, so the second operand gets it;
//   - reduce_max splits the cotangent equally among the elements equal to the maximum;
//   - d(a^b)/db uses log(a), taken as log(1) = 0 where a == 0.
// Throws ir::IrError if `loss` or a wrt value breaks the preconditions on types.
#pragma once

#include <span>
#include <vector>

#include "ir/Builder.h"

namespace gantry::passes {

// Appends to the builder's function the ops that compute d(loss)/d(wrt[i]) for each i by reverse mode over the
// ops already in the function, and returns the gradient values (each with wrt[i]'s type). `loss` must be an f32
// scalar (f32[]). A wrt value the loss does not depend on gets a zero constant of its type.
std::vector<ir::Value> differentiate(ir::Builder &b, ir::Value loss, std::span<const ir::Value> wrt);

}  // namespace gantry::passes
