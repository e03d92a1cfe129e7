// Measures the error of the JIT's f32 transcendental functions (backend/VectorMath.cpp) against double precision:
// max error in units in the last place (of the f32 result) and max relative error over 2^20 points per range.
// The table in docs/performance.md ("Accuracy") comes from this program:  build/bench/gantry-bench-accuracy
#include "backend/Jit.h"
#include "ir/Builder.h"
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

using namespace gantry;

int main() {
  struct F { ir::OpKind k; const char* name; double lo, hi; double (*ref)(double); };
  F fs[] = {{ir::OpKind::Exp,"exp",-87,88,[](double x){return std::exp(x);}},
            {ir::OpKind::Log,"log",1e-30,1e30,[](double x){return std::log(x);}},
            {ir::OpKind::Tanh,"tanh",-10,10,[](double x){return std::tanh(x);}},
            {ir::OpKind::Sigmoid,"sigmoid",-80,80,[](double x){return 1/(1+std::exp(-x));}},
            {ir::OpKind::Softplus,"softplus",-80,80,[](double x){return std::max(x,0.0)+std::log1p(std::exp(-std::abs(x)));}},
            {ir::OpKind::Expm1,"expm1",-20,20,[](double x){return std::expm1(x);}},
            {ir::OpKind::Log1p,"log1p",-0.999,1e6,[](double x){return std::log1p(x);}}};
  const int n = 1 << 20;
  for (auto& fn : fs) {
    ir::Function f; f.name = fn.name; ir::Builder b(f);
    auto x = b.param("x", ir::TensorType::f32({n}), ir::ParamRole::Input);
    b.result("y", b.unary(fn.k, x));
    auto c = backend::compile(f);
    std::vector<float> in(n), out(n);
    bool logscale = fn.name == std::string("log") || fn.name == std::string("log1p");
    for (int i = 0; i < n; ++i) {
      double t = (i + 0.5) / n;
      in[i] = logscale && fn.lo > 0 ? (float)std::exp(std::log(fn.lo) + t * (std::log(fn.hi) - std::log(fn.lo))) : (float)(fn.lo + t * (fn.hi - fn.lo));
      if (fn.name == std::string("log1p")) in[i] = (float)(t < 0.5 ? -0.999 + 2*t*1.998 : std::exp(std::log(1.0) + (t-0.5)*2*std::log(1e6)));
    }
    float* bufs[] = {in.data(), out.data()};
    c->run(bufs);
    double maxulp = 0, maxrel = 0;
    for (int i = 0; i < n; ++i) {
      double r = fn.ref((double)in[i]);
      float rf = (float)r;
      double ulp = std::abs(std::nextafter(rf, INFINITY) - rf);
      if (ulp == 0 || !std::isfinite(r)) continue;
      maxulp = std::max(maxulp, std::abs(out[i] - r) / ulp);
      if (std::abs(r) > 1e-30) maxrel = std::max(maxrel, std::abs(out[i] - r) / std::abs(r));
    }
    std::printf("%-9s [%g, %g]: max %.2f ulp, max rel %.2e\n", fn.name, fn.lo, fn.hi, maxulp, maxrel);
  }
}
