// reassociate: lets the gradient of a column scale share a product the weight gradient next to it computes.
//
// A gradient penalty differentiates D's input gradient. If D ends in h2 -> relu -> h2 . w (w: n x 1), its input
// gradient starts from G = select(M, 1 w^T, 0), the head weights broadcast over the batch under the ReLU mask M,
// and the second-order gradients of the last hidden weight W (i x n) and of w are
//   dW += P^T G                           (U: a b x i x n product)
//   dw += colsum(select(M, P W, 0))       (Y = P W: a second b x i x n product, for a vector of n numbers)
// where P is the adjoint arriving from the layer below. Both are one product T = P^T select(M, 1, 0):
//   dW += T * broadcast(w^T)              (U[i,j] = sum_b P[b,i] M[b,j] w[j] = T[i,j] w[j])
//   dw += colsum(W * T)                   (sum_b M[b,j] sum_i P[b,i] W[i,j] = sum_i W[i,j] T[i,j])
// so Y is never computed: one of the 22 products of a WGAN-GP critic step with 512-wide layers. The pass finds
// U, Y and the column sum (a product with a column of ones, or a reduce_sum over rows) wherever P, M and the
// zero match, Y and select(M, Y, 0) have no other use, and the scale is a product of ones with w^T or a
// broadcast over rows; it emits T where the first of U and the column sum was, and rewrites both.
// The sums are the same in exact arithmetic, not in floating point (they associate differently), and only for
// finite values: the column sum never reads what the mask switches off, while T multiplies it by 0, so an
// infinite or NaN element of P in a masked-out row, or an infinite W[i,j] or w[j] over a fully masked column,
// gives NaN where the result was finite (a non-finite P already made dW NaN). Training stops at the first
// non-finite parameter anyway (runtime/Trainer). Signs of zero may differ.
// Preconditions: the module verifies (run after cse, so equal values are one value). Postconditions: it
// verifies and computes the same values up to rounding for finite inputs (above); Y and its select are dead
// (dce removes them). Returns whether anything was rewritten.
#pragma once

#include "ir/Module.h"

namespace gantry::passes {

bool reassociateColumnScales(ir::Module &m);

}  // namespace gantry::passes
