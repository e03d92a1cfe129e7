"""NumPy (OpenBLAS) and torch.mm float32 matmul throughput for the shapes gantry-bench-matmul prints.

Reads gantry's lines `name m k n gflops` on stdin and prints a table with both references and the ratios.
Run through bench/matmul.sh, which sets up threads and installs what is missing.
"""
import sys
import time

import numpy as np

THREADS = int(sys.argv[1]) if len(sys.argv) > 1 else 1

try:
    import torch
    torch.set_num_threads(THREADS)
except ImportError:  # torch is optional: the table then has NumPy only
    torch = None


def best_gflops(fn, flops):
    reps = max(1, int(2e8 / flops))
    best = 0.0
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(reps):
            fn()
        best = max(best, flops * reps / (time.perf_counter() - start) / 1e9)
    return best


print(f"{THREADS} thread{'s' if THREADS > 1 else ''}:")
print(f"{'shape':<16} {'m':>5} {'k':>5} {'n':>5} {'gantry':>8} {'numpy':>8} {'torch':>8} {'vs numpy':>9} {'vs torch':>9}")
for line in sys.stdin:
    name, m, k, n, gantry = line.split()
    m, k, n, gantry = int(m), int(k), int(n), float(gantry)
    a = np.random.randn(m, k).astype(np.float32)
    b = np.random.randn(k, n).astype(np.float32)
    flops = 2.0 * m * k * n
    npy = best_gflops(lambda: a @ b, flops)
    if torch is not None:
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        tor = best_gflops(lambda: torch.mm(ta, tb), flops)
        tor_s, ratio_t = f"{tor:8.1f}", f"{gantry / tor:9.2f}"
    else:
        tor_s, ratio_t = f"{'-':>8}", f"{'-':>9}"
    print(f"{name:<16} {m:>5} {k:>5} {n:>5} {gantry:8.1f} {npy:8.1f} {tor_s} {gantry / npy:9.2f} {ratio_t}")
