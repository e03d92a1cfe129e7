// The first element of a float array that is NaN or infinite: the trainer checks every result of every step
// (the updated parameters and optimizer state, 3.2 M floats for the WGAN-GP toy) before it writes anything back.
//
// A scalar isfinite loop over them took 13% of a plain ring8 step and 4% of the WGAN-GP one. This scans blocks
// with a branch-free test of the exponent bits that the compiler vectorizes (FiniteScan.cpp is compiled with -O3,
// like runtime/NormalKernel.cpp), and looks for the element itself only in a block that has one.
#pragma once

#include <cstddef>

namespace gantry::runtime {

// Index of the first NaN or infinity in x[0, n), or n when every element is finite.
size_t firstNonFiniteIndex(const float *x, size_t n);

}  // namespace gantry::runtime
