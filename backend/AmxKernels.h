// Matrix products on Intel AMX tiles with f32 accuracy, called by JIT-compiled code (like gantry_parallel_for).
//
// AMX multiplies bf16 matrices (8-bit significands) into f32 accumulators at about ten times the f32 FMA rate
// of AVX-512. An f32 value splits exactly into three bf16 values, x = x0 + x1 + x2 (each the nearest bf16 to
// what is left, so |x1| <= 2^-8 |x| and |x2| <= 2^-16 |x|), so a product a b is the sum of nine bf16 products,
// each exact in f32. The kernels sum the six that matter at f32 precision: a0 b0 into one accumulator, and
// a0 b1 + a1 b0 + a0 b2 + a1 b1 + a2 b0 (at most about 2^-7 of it) into another, added at the end, so the small
// terms' roundings are that much smaller too. The three left out are at most about 2^-23 |a b| together.
// Measured on random data: the largest error relative to sum |a b| is below that of one f32 FMA chain.
//
// What differs from f32 FMAs, at the ends of the range:
// - AMX treats subnormal bf16 inputs as zero and flushes subnormal products and sums to zero. A term a b is as
//   accurate as above while |a|, |b| and |a b| are all at least 2^-110; below that its small parts vanish first
//   (relative error up to 2^-16 down to 2^-118, up to 2^-8 down to 2^-126), and a term below 2^-126, or with a
//   subnormal factor, is zero.
// - An infinite input gives NaN (inf - inf in the split) where f32 would give an infinity. (A finite input near
//   FLT_MAX is split without overflow.)
// - A result within about 2^-8 of FLT_MAX may overflow to infinity: a0 b0 can round up past it.
//
// Layout. Both operands are packed before the product, each into three planes (x0, x1, x2) of 1 KiB tiles, zero
// past the edges: A as [plane][row block of 16][k block of 32][16 rows][32 bf16], B as [plane][column block of
// 16][k block of 32][16 k pairs][16 columns][2 bf16] (the pair layout TDPBF16PS reads). Packing splits row or
// column blocks across threads, the product its 16 x 32 output tiles.
#pragma once

#include <cstdint>

namespace gantry::backend {

// Whether this machine and its OS let Gantry use AMX (asks Linux for permission to use the tile registers the
// first time; thread-safe). False on CPUs without AMX-BF16.
bool amxAvailable();
// Whether compiled code uses it: amxAvailable(), unless the environment sets GANTRY_AMX=0 (to compare, or to
// get the f32 FMA kernels' results).
bool amxEnabled();

// Sizes, in floats, of the packed operands of an m x k by k x n product.
int64_t amxPackedAFloats(int64_t m, int64_t k);
int64_t amxPackedBFloats(int64_t k, int64_t n);

}  // namespace gantry::backend

extern "C" {
// Packs row blocks [first, last) of op(A) (m x k; op(A)(i, p) = A[i*lda + p], or A[p*lda + i] when transposed).
void gantry_amx_pack_a(const float *a, int64_t lda, int64_t transposed, int64_t m, int64_t k, void *packed, int64_t first, int64_t last);
// Packs column blocks [first, last) of op(B) (k x n; op(B)(p, j) = B[p*ldb + j], or B[j*ldb + p] when transposed).
void gantry_amx_pack_b(const float *b, int64_t ldb, int64_t transposed, int64_t k, int64_t n, void *packed, int64_t first, int64_t last);
// C = op(A) op(B) for output tiles [first, last) of 16 rows x 32 columns (row-major C, m x n), tile t covering
// rows 16 (t % row blocks) and columns 32 (t / row blocks): consecutive tiles share their B tiles.
void gantry_amx_product(const void *packedA, const void *packedB, float *c, int64_t m, int64_t n, int64_t k, int64_t first, int64_t last);
}
