// The threads compiled code runs on: a persistent pool with a static partition, so which thread computes which
// part of a kernel depends only on the thread count, never on scheduling. Kernels are split only along output
// elements (matmul tiles, elementwise ranges), each computed by exactly one thread in the same order as on one
// thread: results are bit-identical for every thread count.
#pragma once

#include <cstdint>

namespace gantry::backend {

// Threads used by compiled code from now on (1 = run on the calling thread). Values below 1 are an error.
void setThreads(int n);
int threads();
// The default: the machine's hardware threads.
int defaultThreads();

}  // namespace gantry::backend

extern "C" {
// Called by compiled code: runs body(begin, end, ctx) over [0, n) split into at most threads() contiguous
// ranges of whole multiples of `grain` (the last range takes the rest), and returns when all are done.
void gantry_parallel_for(void (*body)(int64_t begin, int64_t end, void *ctx), void *ctx, int64_t n, int64_t grain);
}
