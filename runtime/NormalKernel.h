// The kernel of fillNormal (runtime/Random.h): 64 normals by Box-Muller from 16 consecutive Philox blocks.
//
// Written as fixed-length loops over 16 lanes that the compiler vectorizes: Philox's 32x32->64 multiplies, and
// log, sin and cos as f32 polynomials rather than libm's scalar calls (drawing G's noise was 45% of a plain
// ring8 step with those). NormalKernel.cpp is compiled on its own with -O3 -fno-math-errno (so sqrt needs no
// errno path and the loops vectorize) and -ffp-contract=off; target_clones builds it for AVX-512, AVX2 and
// baseline x86-64 and picks one when the program loads. Without contraction every clone rounds the same IEEE
// operations the same way, so a draw has the same bits on every host.
#pragma once

#include <cstdint>

#include "runtime/Random.h"

namespace gantry::runtime::detail {

constexpr int kLanes = 16;
constexpr int kNormalsPerGroup = 4 * kLanes;

// Philox4x32-10 of blocks firstBlock .. firstBlock + 15: word w of block firstBlock + l in cw[l], in 64-bit lanes.
// philoxLanes picks the AVX-512 version when the CPU has it; both are here so the tests can compare them.
void philoxLanes(const RandomKey &key, uint64_t firstBlock, uint64_t *c0, uint64_t *c1, uint64_t *c2, uint64_t *c3);
void philoxPortable(const RandomKey &key, uint64_t firstBlock, uint64_t *c0, uint64_t *c1, uint64_t *c2, uint64_t *c3);
void philoxAvx512(const RandomKey &key, uint64_t firstBlock, uint64_t *c0, uint64_t *c1, uint64_t *c2, uint64_t *c3);  // needs AVX-512F

// Elements [64 g, 64 g + 64) of the normal draw `key`, g = firstBlock / 16, scaled to (mean, std), into out[64].
void normalGroup(const RandomKey &key, uint64_t firstBlock, float mean, float std, float *out);

}  // namespace gantry::runtime::detail
