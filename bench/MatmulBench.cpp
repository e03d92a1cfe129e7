// Matmul throughput of Gantry's JIT: GFLOP/s for square sizes 64..1024 and the MLP shapes of the examples.
// bench/matmul.sh runs it side by side with NumPy (OpenBLAS) and torch.mm and prints the ratios.
//   gantry-bench-matmul [THREADS]      (default 1)
// Output: one line per shape, `name m k n gflops`.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "backend/Jit.h"
#include "backend/ThreadPool.h"
#include "ir/Builder.h"

namespace {

double gflops(int64_t m, int64_t k, int64_t n, bool ta = false, bool tb = false) {
  gantry::ir::Function f;
  f.name = "mm";
  gantry::ir::Builder b(f);
  auto a = b.param("a", gantry::ir::TensorType::f32(ta ? gantry::ir::Shape{k, m} : gantry::ir::Shape{m, k}), gantry::ir::ParamRole::Input);
  auto w = b.param("w", gantry::ir::TensorType::f32(tb ? gantry::ir::Shape{n, k} : gantry::ir::Shape{k, n}), gantry::ir::ParamRole::Input);
  b.result("c", b.matmul(a, w, ta, tb));
  auto compiled = gantry::backend::compile(f);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  std::vector<float> A(static_cast<size_t>(m * k)), B(static_cast<size_t>(k * n)), C(static_cast<size_t>(m * n));
  for (float &v : A) v = normal(rng);
  for (float &v : B) v = normal(rng);
  float *buffers[] = {A.data(), B.data(), C.data()};
  const double flops = 2.0 * static_cast<double>(m * k * n);
  // Repeat for at least 0.2 s per measurement; report the best of 5.
  int reps = std::max<int>(1, static_cast<int>(2e8 / flops));
  double best = 0;
  for (int trial = 0; trial < 5; ++trial) {
    auto start = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) compiled->run(buffers);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, flops * reps / s / 1e9);
  }
  return best;
}

}  // namespace

int main(int argc, char **argv) {
  gantry::backend::setThreads(argc > 1 ? std::max(1, std::atoi(argv[1])) : 1);
  struct Shape {
    const char *name;
    int64_t m, k, n;
  };
  std::vector<Shape> shapes = {{"square", 64, 64, 64},     {"square", 128, 128, 128}, {"square", 256, 256, 256},
                               {"square", 512, 512, 512},  {"square", 1024, 1024, 1024},
                               {"ring8.G.l0", 512, 256, 128}, {"ring8.hidden", 512, 128, 128}, {"ring8.grad.w", 128, 512, 128},
                               {"wgan_gp.hidden", 256, 512, 512}};
  if (argc > 2 && std::string(argv[2]) == "gradients") {
    // The products the training steps are made of, with the transposes autodiff gives them (A^T for weight
    // gradients, a 1-column D head): `gantry-bench-matmul THREADS gradients`, Gantry only.
    struct Grad {
      const char *name;
      int64_t m, k, n;
      bool ta, tb;
    };
    for (const Grad &g : std::vector<Grad>{{"G.l0 weight grad (A^T)", 256, 512, 128, true, false},
                                           {"G.l1 weight grad (A^T)", 128, 512, 128, true, false},
                                           {"D head forward (n = 1)", 512, 128, 1, false, false},
                                           {"D head weight grad (A^T, n = 1)", 128, 512, 1, true, false},
                                           {"G output forward (n = 2)", 512, 128, 2, false, false},
                                           {"G output weight grad (A^T, n = 2)", 128, 512, 2, true, false},
                                           {"D input weight grad (A^T, m = 2)", 2, 512, 128, true, false},
                                           {"input grad (B^T)", 512, 128, 128, false, true},
                                           {"WGAN-GP weight grad (A^T)", 512, 256, 512, true, false},
                                           {"WGAN-GP input grad (B^T)", 256, 512, 512, false, true},
                                           {"1024 weight grad (A^T)", 1024, 1024, 1024, true, false}})
      fmt::print("{:34} {:4} {:4} {:4} {:7.1f} GFLOP/s\n", g.name, g.m, g.k, g.n, gflops(g.m, g.k, g.n, g.ta, g.tb));
    return 0;
  }
  for (const Shape &s : shapes) fmt::print("{} {} {} {} {:.1f}\n", s.name, s.m, s.k, s.n, gflops(s.m, s.k, s.n));
}
