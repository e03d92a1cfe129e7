// The JIT against the double-precision interpreter: every op at sizes that exercise vector remainders (1, 7, 17,
// 129), special values (±0, ±inf, NaN, the ends of exp's range), whole example models with their first- and
// second-order gradients, and the vector registers in the emitted assembly.
//
// The interpreter is given the same f32-rounded inputs as the JIT, so differences come from f32 arithmetic
// alone. Tolerances (docs/performance.md, "Accuracy"): elementwise ops within 4e-6 relative + 1e-37 absolute
// (a few f32 ulps; exp, log and tanh are polynomial approximations); sums and products within 1e-5 of the sum of
// magnitudes of their terms; whole models within 1e-4 in norm per result.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>

#include "backend/AmxKernels.h"
#include "backend/Jit.h"
#include "backend/Target.h"
#include "backend/ThreadPool.h"
#include "frontend/Frontend.h"
#include "ir/Builder.h"
#include "ir/Parser.h"
#include "ir/Interpreter.h"
#include "passes/PassManager.h"
#include "runtime/Arguments.h"
#include "support/Files.h"

using namespace gantry;
using ir::OpKind;
using ir::TensorType;

namespace {

// Rounds every element to f32, as the JIT sees it.
ir::Tensor asF32(ir::Tensor t) {
  for (double &v : t.data) v = static_cast<float>(v);
  return t;
}

struct Run {
  std::vector<ir::Tensor> jit, ref;
};

Run runBoth(const ir::Function &f, std::vector<ir::Tensor> args, const backend::CompileOptions &options = {}) {
  for (ir::Tensor &a : args) a = asF32(std::move(a));
  std::unique_ptr<backend::CompiledFunction> c = backend::compile(f, options);
  return {c->run(args), ir::evaluate(f, args)};
}

bool closeElement(double got, double want, double rtol, double atol) {
  if (std::isnan(want)) return std::isnan(got);
  if (std::isinf(want)) return got == want;
  return std::abs(got - want) <= rtol * std::abs(want) + atol;
}

// Every element within tolerance; on failure, names the first bad element.
void checkClose(const ir::Tensor &got, const ir::Tensor &want, double rtol, double atol) {
  REQUIRE(got.data.size() == want.data.size());
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < got.data.size(); ++i)
    if (!closeElement(got.data[i], want.data[i], rtol, atol) && bad++ == 0) first = i;
  INFO("first mismatch at " << first << ": jit " << got.data[first] << ", interpreter " << want.data[first]);
  CHECK(bad == 0);
}

ir::Tensor randomTensor(const TensorType &t, std::mt19937 &rng, double lo, double hi) {
  std::uniform_real_distribution<double> u(lo, hi);
  ir::Tensor x = ir::Tensor::zeros(t);
  for (double &v : x.data) v = u(rng);
  return x;
}

// A one-op function over fresh input parameters.
ir::Function oneOp(OpKind kind, const std::vector<TensorType> &inputs, ir::Attrs attrs = {},
                   std::optional<TensorType> declared = std::nullopt) {
  ir::Function f;
  f.name = ir::opName(kind);
  ir::Builder b(f);
  std::vector<ir::Value> operands;
  for (size_t i = 0; i < inputs.size(); ++i) operands.push_back(b.param("x" + std::to_string(i), inputs[i], ir::ParamRole::Input));
  b.result("out", b.create(kind, operands, std::move(attrs), std::move(declared)));
  return f;
}

constexpr double kRtol = 4e-6, kAtol = 1e-37;
const std::vector<int64_t> kSizes = {1, 7, 17, 129};

// The domain each unary op is tested on (away from where f32 rounding of the input alone dominates).
std::pair<double, double> domainOf(OpKind k) {
  switch (k) {
    case OpKind::Log:
    case OpKind::Sqrt:
    case OpKind::Rsqrt: return {1e-3, 50.0};
    case OpKind::Log1p: return {-0.9, 20.0};
    case OpKind::Exp:
    case OpKind::Expm1: return {-20.0, 20.0};
    default: return {-8.0, 8.0};
  }
}

}  // namespace

TEST_CASE("every elementwise op matches the interpreter at every vector remainder", "[jit][elementwise]") {
  std::mt19937 rng(1);
  for (const ir::OpDef &def : ir::allOps()) {
    if (def.cls == ir::OpClass::Structural) continue;
    for (int64_t n : kSizes) {
      for (const ir::Shape &shape : {ir::Shape{n}, ir::Shape{3, n}}) {
        INFO(def.name << " on " << ir::shapeStr(shape));
        TensorType t = TensorType::f32(shape);
        std::vector<ir::Tensor> args;
        std::vector<TensorType> types;
        ir::Attrs attrs;
        if (def.cls == ir::OpClass::Select) {
          ir::Tensor c = ir::Tensor::zeros(TensorType::i1(shape));
          for (size_t i = 0; i < c.data.size(); ++i) c.data[i] = rng() % 2;
          args = {c, randomTensor(t, rng, -5, 5), randomTensor(t, rng, -5, 5)};
          types = {c.type, t, t};
        } else {
          auto [lo, hi] = domainOf(def.kind);
          if (def.kind == OpKind::Pow) lo = 0.1, hi = 4.0;
          for (int i = 0; i < def.minOperands; ++i) {
            args.push_back(randomTensor(t, rng, lo, hi));
            types.push_back(t);
          }
          if (def.kind == OpKind::Compare) attrs.set("pred", ir::Symbol{"lt"});
        }
        if (def.kind == OpKind::Compare) {
          for (const char *pred : {"eq", "ne", "lt", "le", "gt", "ge"}) {
            attrs.set("pred", ir::Symbol{pred});
            args[1].data[0] = args[0].data[0];  // one tie, so eq/le/ge see a true
            Run r = runBoth(oneOp(def.kind, types, attrs), args);
            checkClose(r.jit[0], r.ref[0], 0, 0);
          }
          continue;
        }
        Run r = runBoth(oneOp(def.kind, types, attrs), args);
        checkClose(r.jit[0], r.ref[0], kRtol, kAtol);
      }
    }
  }
}

TEST_CASE("special values: signed zeros, infinities, NaN and the ends of the f32 range", "[jit][elementwise]") {
  const std::vector<double> specials = {0.0, -0.0, 1.0, -1.0, 1e-30, -1e-30, 1e-8, 0.5, -0.6, 0.62, 0.63, 2.0, -3.0, 10.0,
                                        -10.0, 20.0, 80.0, 88.5, 88.8, 89.0, -87.0, -100.0, -104.0, -200.0, 1e30, -1e30,
                                        INFINITY, -INFINITY, NAN, 1e-40, 3.0e38};
  const int64_t n = static_cast<int64_t>(specials.size());
  for (OpKind k : {OpKind::Neg, OpKind::Exp, OpKind::Expm1, OpKind::Log, OpKind::Log1p, OpKind::Sqrt, OpKind::Rsqrt,
                   OpKind::Tanh, OpKind::Sigmoid, OpKind::Relu, OpKind::Abs, OpKind::Sign, OpKind::Softplus, OpKind::Square,
                   OpKind::StopGradient}) {
    INFO(ir::opName(k));
    Run r = runBoth(oneOp(k, {TensorType::f32({n})}), {ir::Tensor::f32({n}, specials)});
    // Results that overflow or underflow f32 while the double result does not are compared as f32 would round.
    ir::Tensor want = asF32(r.ref[0]);
    checkClose(r.jit[0], want, kRtol, 1e-38);
  }
  for (OpKind k : {OpKind::Max, OpKind::Min, OpKind::Add, OpKind::Mul, OpKind::Div}) {
    INFO(ir::opName(k));
    std::vector<double> b(specials.rbegin(), specials.rend());
    Run r = runBoth(oneOp(k, {TensorType::f32({n}), TensorType::f32({n})}), {ir::Tensor::f32({n}, specials), ir::Tensor::f32({n}, b)});
    checkClose(r.jit[0], asF32(r.ref[0]), kRtol, 1e-38);
  }
}

TEST_CASE("shape ops, reductions and matmul match the interpreter on odd shapes", "[jit][structural]") {
  std::mt19937 rng(2);
  auto check = [&](const ir::Function &f, double rtol, double atol) {
    INFO(f.name);
    std::vector<ir::Tensor> args;
    for (const ir::Param &p : f.params) args.push_back(randomTensor(f.type(p.value), rng, -2, 2));
    Run r = runBoth(f, args);
    checkClose(r.jit[0], r.ref[0], rtol, atol);
  };
  for (int64_t n : kSizes) {
    INFO("n = " << n);
    auto t = [](ir::Shape s) { return TensorType::f32(std::move(s)); };
    check(oneOp(OpKind::Broadcast, {t({n})}, {{"dims", std::vector<int64_t>{1}}}, t({5, n})), 0, 0);
    check(oneOp(OpKind::Broadcast, {t({n})}, {{"dims", std::vector<int64_t>{0}}}, t({n, 3})), 0, 0);
    check(oneOp(OpKind::Broadcast, {t({})}, {{"dims", std::vector<int64_t>{}}}, t({2, n})), 0, 0);
    check(oneOp(OpKind::Reshape, {t({3, n})}, {}, t({n, 3})), 0, 0);
    check(oneOp(OpKind::Transpose, {t({3, n})}, {{"perm", std::vector<int64_t>{1, 0}}}), 0, 0);
    check(oneOp(OpKind::Transpose, {t({2, n, 3})}, {{"perm", std::vector<int64_t>{2, 0, 1}}}), 0, 0);
    check(oneOp(OpKind::Concat, {t({2, n}), t({3, n})}, {{"axis", int64_t{0}}}), 0, 0);
    check(oneOp(OpKind::Concat, {t({2, n}), t({2, 5})}, {{"axis", int64_t{1}}}), 0, 0);
    check(oneOp(OpKind::Slice, {t({4, n + 2})}, {{"start", std::vector<int64_t>{1, 1}}, {"limit", std::vector<int64_t>{3, n + 1}}}), 0, 0);
    check(oneOp(OpKind::Pad, {t({2, n})}, {{"low", std::vector<int64_t>{1, 2}}, {"high", std::vector<int64_t>{0, 3}}}), 0, 0);
    check(oneOp(OpKind::Constant, {}, {{"value", 0.25}}, t({3, n})), 0, 0);
    for (OpKind k : {OpKind::ReduceSum, OpKind::ReduceMean, OpKind::ReduceMax})
      for (const std::vector<int64_t> &axes : {std::vector<int64_t>{0}, {1}, {0, 1}, {}})
        check(oneOp(k, {t({5, n})}, {{"axes", axes}}), 1e-5, 1e-5 * static_cast<double>(5 * n));
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        const int64_t m = 5, k = n + 2;
        TensorType a = ta ? t({k, m}) : t({m, k}), bt = tb ? t({n, k}) : t({k, n});
        check(oneOp(OpKind::Matmul, {a, bt}, {{"transpose_a", ta}, {"transpose_b", tb}}), 1e-5, 1e-5 * 2 * static_cast<double>(k));
      }
  }
  // Thin products (at most 4 columns, 2 rows or a contraction of 4) take their own loop nests: every shape class
  // and transpose, with contractions that do and do not fill whole vectors.
  for (int64_t k : {1, 2, 3, 4, 7, 17, 129, 512})
    for (auto [m, n] : std::vector<std::pair<int64_t, int64_t>>{{37, 1}, {37, 2}, {19, 3}, {33, 4}, {1, 40}, {2, 129}, {2, 2}, {1, 1}, {37, 40}, {64, 129}})
      for (bool ta : {false, true})
        for (bool tb : {false, true}) {
          INFO("thin m = " << m << ", n = " << n << ", k = " << k << ", ta = " << ta << ", tb = " << tb);
          auto t = [](ir::Shape s) { return TensorType::f32(std::move(s)); };
          TensorType a = ta ? t({k, m}) : t({m, k}), bt = tb ? t({n, k}) : t({k, n});
          check(oneOp(OpKind::Matmul, {a, bt}, {{"transpose_a", ta}, {"transpose_b", tb}}), 1e-5, 1e-5 * 2 * static_cast<double>(k));
        }
  // The tiled kernel (backend/EmitLLVM.cpp, matmul): row blocks and column panels that do and do not fill
  // whole tiles, contractions that fill whole transposed blocks or leave a remainder, and more than one K block
  // (the later blocks start from C's partial sums), at AVX-512's, AVX2's and SSE's vector widths. A is read
  // in place, except with rows 1024 floats apart (k = 1024) or, transposed, 512 (m = 512), where it is packed.
  // Width 0 runs twice on an AMX host: with the AMX kernels (backend/AmxKernels.h) and without.
  for (int config : {0, 1, 8, 4})
    for (int64_t k : {5, 16, 37, 64, 300, 600, 1024})
      for (auto [m, n] : std::vector<std::pair<int64_t, int64_t>>{{8, 32}, {13, 33}, {40, 17}, {64, 100}, {512, 19}})
        for (bool ta : {false, true})
          for (bool tb : {false, true}) {
            const int width = config == 1 ? 0 : config;
            INFO("tiled m = " << m << ", n = " << n << ", k = " << k << ", ta = " << ta << ", tb = " << tb << ", width = " << width
                              << (config == 1 ? " without AMX" : ""));
            auto t = [](ir::Shape s) { return TensorType::f32(std::move(s)); };
            TensorType a = ta ? t({k, m}) : t({m, k}), bt = tb ? t({n, k}) : t({k, n});
            ir::Function f = oneOp(OpKind::Matmul, {a, bt}, {{"transpose_a", ta}, {"transpose_b", tb}});
            std::vector<ir::Tensor> args;
            for (const ir::Param &p : f.params) args.push_back(randomTensor(f.type(p.value), rng, -2, 2));
            backend::CompileOptions options;
            options.vectorWidth = width;
            options.amx = config != 1;
            options.amxMinMacs = 0;  // every tiled product, however small, to reach the AMX kernels' edges
            Run r = runBoth(f, args, options);
            checkClose(r.jit[0], r.ref[0], 1e-5, 1e-5 * 2 * static_cast<double>(k));
          }
  // A dense constant that does not fill whole vectors.
  std::vector<double> values(37);
  for (size_t i = 0; i < values.size(); ++i) values[i] = 0.5 * static_cast<double>(i) - 3;
  check(oneOp(OpKind::Constant, {}, {{"value", values}}, TensorType::f32({37})), 0, 0);
}

// The AMX products (backend/AmxKernels.h) are as accurate as f32 FMAs: against exact (double) products, the error
// stays within 2^-22 of the sum of the magnitudes of the terms (one f32 FMA chain over 512 terms reaches 3.4e-7
// on the same data; the AMX kernels stay below 7e-8). Leaving out any one of the five small terms of the split
// (a1 b1, a0 b2, ...) costs about 2^-18 and fails. Every transpose,
// shapes with and without whole tiles, inputs scaled to 1e-15 and 1e15, and the 512-wide products of the
// WGAN-GP example.
TEST_CASE("AMX products are as accurate as f32 FMAs", "[jit][amx]") {
  if (!backend::amxEnabled()) {
    WARN("this CPU has no AMX, or GANTRY_AMX=0: nothing to test");
    return;
  }
  std::mt19937 rng(11);
  std::normal_distribution<double> normal;
  struct Case {
    int64_t m, k, n;
    double scale;
  };
  for (const Case &c : std::vector<Case>{{37, 45, 53, 1}, {16, 32, 32, 1}, {64, 100, 70, 1e-15}, {5, 300, 9, 1e15},
                                         {48, 1024, 40, 1}, {256, 512, 512, 1}, {512, 256, 512, 1}})
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        INFO("m = " << c.m << ", k = " << c.k << ", n = " << c.n << ", scale " << c.scale << ", ta = " << ta << ", tb = " << tb);
        auto t = [](ir::Shape s) { return TensorType::f32(std::move(s)); };
        ir::Function f = oneOp(OpKind::Matmul, {ta ? t({c.k, c.m}) : t({c.m, c.k}), tb ? t({c.n, c.k}) : t({c.k, c.n})},
                               {{"transpose_a", ta}, {"transpose_b", tb}});
        std::vector<ir::Tensor> args;
        for (const ir::Param &p : f.params) {
          ir::Tensor x = ir::Tensor::zeros(f.type(p.value));
          for (double &v : x.data) v = static_cast<float>(c.scale * normal(rng));
          args.push_back(x);
        }
        backend::CompileOptions everyProduct;
        everyProduct.amxMinMacs = 0;
        std::vector<ir::Tensor> got = backend::compile(f, everyProduct)->run(args);
        const ir::Tensor &a = args[0], &b = args[1];
        double worst = 0;
        for (int64_t i = 0; i < c.m; ++i)
          for (int64_t j = 0; j < c.n; ++j) {
            double exact = 0, magnitude = 0;
            for (int64_t p = 0; p < c.k; ++p) {
              const double term = a.data[ta ? p * c.m + i : i * c.k + p] * b.data[tb ? j * c.k + p : p * c.n + j];
              exact += term;
              magnitude += std::abs(term);
            }
            worst = std::max(worst, std::abs(got[0].data[i * c.n + j] - exact) / magnitude);
          }
        CHECK(worst <= std::ldexp(1.0, -22));
      }
  // Finite inputs near FLT_MAX (whose nearest bf16 is infinite) are split without overflow: 3.4e38 times 0 is 0,
  // FLT_MAX times a half is FLT_MAX / 2.
  auto t = [](ir::Shape s) { return TensorType::f32(std::move(s)); };
  ir::Function f = oneOp(OpKind::Matmul, {t({16, 32}), t({32, 32})});
  ir::Tensor a = ir::Tensor::zeros(f.type(f.params[0].value)), b = ir::Tensor::zeros(f.type(f.params[1].value));
  a.data[0] = 3.4e38;
  a.data[32] = std::numeric_limits<float>::max();
  for (int64_t j = 0; j < 32; ++j) b.data[j] = j == 0 ? 0.0 : 0.5;
  backend::CompileOptions everyProduct;
  everyProduct.amxMinMacs = 0;
  std::vector<ir::Tensor> got = backend::compile(f, everyProduct)->run(std::vector<ir::Tensor>{a, b});
  CHECK(got[0].data[0] == 0.0);
  CHECK(got[0].data[1] == static_cast<double>(static_cast<float>(3.4e38 * 0.5)));
  CHECK(got[0].data[32] == 0.0);
  CHECK(got[0].data[33] == static_cast<double>(std::numeric_limits<float>::max()) * 0.5);
}

TEST_CASE("whole examples: forward passes, gradients and second-order gradients", "[jit][models]") {
  const char *testsDir = std::getenv("GANTRY_TESTS_DIR");
  REQUIRE(testsDir != nullptr);
  for (const char *name : {"ring8_unrolled", "custom_penalty_ring8", "bimodal1d"}) {
    std::string path = std::string(testsDir) + "/../examples/" + name + ".gan";
    ir::Module m = frontend::compile({path, readFile(path)}, {"train.batch=7"});
    passes::runPipeline(m, passes::parsePipeline("default"));
    for (const ir::Function &f : m.functions) {
      Run r = runBoth(f, runtime::sampleArguments(f, 5));
      for (size_t j = 0; j < r.ref.size(); ++j) {
        double diff = 0, norm = 0;
        for (size_t i = 0; i < r.ref[j].data.size(); ++i) {
          diff += (r.jit[j].data[i] - r.ref[j].data[i]) * (r.jit[j].data[i] - r.ref[j].data[i]);
          norm += r.ref[j].data[i] * r.ref[j].data[i];
        }
        INFO(name << " @" << f.name << " result " << f.results[j].name);
        CHECK(std::sqrt(diff) <= 1e-4 * std::max(1e-3, std::sqrt(norm)));
      }
    }
  }
}

TEST_CASE("the emitted code uses the host's widest vector registers", "[jit][assembly]") {
  backend::HostTarget host = backend::detectHost();
  if (!host.has("avx512f") && !host.has("avx2")) {
    WARN("host has neither AVX-512 nor AVX2: nothing to check");
    return;
  }
  const char *reg = host.has("avx512f") ? "zmm" : "ymm";
  ir::Function add = oneOp(OpKind::Add, {TensorType::f32({4096}), TensorType::f32({4096})});
  ir::Function tanh = oneOp(OpKind::Tanh, {TensorType::f32({4096})});
  ir::Function mm = oneOp(OpKind::Matmul, {TensorType::f32({128, 128}), TensorType::f32({128, 128})});
  backend::CompileOptions fma;  // the matmul's own FMA kernel, not the AMX one
  fma.amx = false;
  for (const ir::Function *f : {&add, &tanh, &mm}) {
    INFO(f->name);
    std::string text = backend::assembly(*f, fma);
    CHECK(text.find(reg) != std::string::npos);
  }
  CHECK(backend::assembly(mm, fma).find("vfmadd") != std::string::npos);
  // Where the host has AMX, a large enough tiled matmul calls the AMX kernels instead.
  backend::CompileOptions amx;
  amx.amxMinMacs = 0;
  CHECK((backend::assembly(mm, amx).find("gantry_amx_product") != std::string::npos) == backend::amxEnabled());
  CHECK(backend::assembly(mm).find("gantry_amx_product") == std::string::npos);  // 128^3 is below the default
}

TEST_CASE("the compile cache: hit on the same code, miss on any change, survives damage", "[jit][cache]") {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("gantry-cache-test-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  backend::CompileOptions options{true, dir.string()};
  ir::Function tanh = oneOp(OpKind::Tanh, {TensorType::f32({33})});
  ir::Tensor x = ir::Tensor::f32({33}, std::vector<double>(33, 0.3));

  auto cold = backend::compile(tanh, options);
  CHECK_FALSE(cold->fromCache());
  auto warm = backend::compile(tanh, options);
  CHECK(warm->fromCache());
  CHECK(warm->run(std::vector<ir::Tensor>{x})[0].data == cold->run(std::vector<ir::Tensor>{x})[0].data);

  // Another function, or the same one with a different shape, misses.
  CHECK_FALSE(backend::compile(oneOp(OpKind::Sigmoid, {TensorType::f32({33})}), options)->fromCache());
  CHECK_FALSE(backend::compile(oneOp(OpKind::Tanh, {TensorType::f32({34})}), options)->fromCache());

  // Whether the code uses AMX is part of the key: a product compiled for AMX is not what a run with AMX off
  // loads (where there is no AMX, both compile the same code and share the entry).
  ir::Function mm = oneOp(OpKind::Matmul, {TensorType::f32({32, 32}), TensorType::f32({32, 32})});
  backend::CompileOptions amxOn = options, amxOff = options;
  amxOn.amxMinMacs = amxOff.amxMinMacs = 0;
  amxOff.amx = false;
  CHECK_FALSE(backend::compile(mm, amxOn)->fromCache());
  CHECK(backend::compile(mm, amxOn)->fromCache());
  CHECK(backend::compile(mm, amxOff)->fromCache() == !backend::amxEnabled());

  // A damaged entry is ignored and rewritten.
  for (const auto &entry : fs::directory_iterator(dir)) {
    std::ofstream damage(entry.path(), std::ios::binary | std::ios::trunc);
    damage << "gantry-cache 1\n5\nhello";
  }
  auto recompiled = backend::compile(tanh, options);
  CHECK_FALSE(recompiled->fromCache());
  CHECK(recompiled->run(std::vector<ir::Tensor>{x})[0].data == cold->run(std::vector<ir::Tensor>{x})[0].data);
  CHECK(backend::compile(tanh, options)->fromCache());

  // --no-cache never reads it.
  CHECK_FALSE(backend::compile(tanh, backend::CompileOptions{false, dir.string()})->fromCache());
  fs::remove_all(dir);
}

TEST_CASE("results are bit-identical for every thread count", "[jit][threads]") {
  const char *testsDir = std::getenv("GANTRY_TESTS_DIR");
  REQUIRE(testsDir != nullptr);
  std::string path = std::string(testsDir) + "/../examples/custom_penalty_ring8.gan";
  // A batch large enough that matmuls and elementwise loops are split.
  ir::Module m = frontend::compile({path, readFile(path)}, {"train.batch=2048"});
  passes::runPipeline(m, passes::parsePipeline("default"));
  const ir::Function &f = *m.find("D.loss");
  std::vector<ir::Tensor> args = runtime::sampleArguments(f, 9);
  auto compiled = backend::compile(f);
  std::vector<std::vector<ir::Tensor>> runs;
  for (int threads : {1, 2, 3, 1}) {
    backend::setThreads(threads);
    runs.push_back(compiled->run(args));
  }
  backend::setThreads(backend::defaultThreads());
  for (size_t r = 1; r < runs.size(); ++r)
    for (size_t j = 0; j < runs[0].size(); ++j) {
      INFO("run " << r << ", result " << f.results[j].name);
      CHECK(runs[r][j].data == runs[0][j].data);
    }
  CHECK_THROWS_AS(backend::setThreads(0), std::invalid_argument);
}

TEST_CASE("matmuls of one B operand share its packed copy", "[jit][matmul]") {
  // w is B of four tiled matmuls (two as it is, two transposed) with other matmuls, whose packing buffers come
  // and go, and elementwise values in between: the first of each kind packs, the others read its copy, which
  // must survive until the last of them. The large shapes split packing and tiles across threads.
  std::mt19937 rng(4);
  for (auto [m, k, n] : std::vector<std::array<int64_t, 3>>{{40, 64, 33}, {300, 512, 520}}) {
    INFO("m = " << m << ", k = " << k << ", n = " << n);
    const std::string text = fmt::format(R"(func @shared(input %a1: f32[{0},{1}], input %a2: f32[13,{1}], input %a3: f32[20,{2}], input %w: f32[{1},{2}]) -> (c1: f32[{0},{2}], c2: f32[13,{2}], c3: f32[20,{1}], c4: f32[{0},{1}], e: f32[{0},{2}]) {{
  %c1 = matmul %a1, %w : f32[{0},{2}]
  %e = exp %c1 : f32[{0},{2}]
  %g = matmul %a1, %a1 {{transpose_b = true}} : f32[{0},{0}]
  %c3 = matmul %a3, %w {{transpose_b = true}} : f32[20,{1}]
  %c2 = matmul %a2, %w : f32[13,{2}]
  %h = matmul %g, %a1 : f32[{0},{1}]
  %t = tanh %h : f32[{0},{1}]
  %d = matmul %c1, %w {{transpose_b = true}} : f32[{0},{1}]
  %c4 = add %t, %d : f32[{0},{1}]
  return %c1, %c2, %c3, %c4, %e
}}
)", m, k, n);
    ir::Module mod = ir::parseModule(text, "shared.gir");
    const ir::Function &f = mod.functions[0];
    std::vector<ir::Tensor> args;
    for (const ir::Param &p : f.params) args.push_back(randomTensor(f.type(p.value), rng, -1, 1));
    for (int threads : {1, 2}) {
      backend::setThreads(threads);
      Run r = runBoth(f, args);
      for (size_t j = 0; j < r.ref.size(); ++j) {
        INFO("result " << f.results[j].name << ", threads " << threads);
        checkClose(r.jit[j], r.ref[j], 1e-4, 1e-5 * static_cast<double>(m * k));
      }
    }
    backend::setThreads(backend::defaultThreads());
  }
}

TEST_CASE("fused groups compute what their ops compute, in place and across threads", "[jit][fusion]") {
  const char *testsDir = std::getenv("GANTRY_TESTS_DIR");
  REQUIRE(testsDir != nullptr);
  std::vector<std::string> texts;
  for (const char *golden : {"fuse_mlp_layer", "fuse_reduction_closes", "fuse_breaks", "default_pipeline_mlp"})
    texts.push_back(readFile(std::string(testsDir) + "/golden/passes/" + golden + ".out"));
  // An output written over a dying input of its group, the input also read after an op that writes: the
  // backend loads every input once per element and stores outputs last. Odd sizes for vector remainders; a
  // large one so the group is split across threads.
  for (const char *shape : {"7,17", "300,257"})
    texts.push_back(fmt::format(R"(func @inplace(input %x: f32[{0}], input %y: f32[{0}]) -> (z: f32[{1}], u: f32[{0}]) {{
  %t = exp %x : f32[{0}]
  %tt = transpose %t {{perm = [1, 0]}} : f32[{1}]
  %back = transpose %tt {{perm = [1, 0]}} : f32[{0}]
  %u = neg %back {{fusion = 0}} : f32[{0}]
  %w = mul %u, %back {{fusion = 0}} : f32[{0}]
  %v = add %w, %y {{fusion = 0}} : f32[{0}]
  %s = tanh %v {{fusion = 0}} : f32[{0}]
  %z = transpose %s {{perm = [1, 0]}} : f32[{1}]
  return %z, %u
}}
)", shape, std::string(shape).substr(std::string(shape).find(',') + 1) + "," + std::string(shape).substr(0, std::string(shape).find(','))));
  std::mt19937 rng(3);
  for (const std::string &text : texts) {
    ir::Module m = ir::parseModule(text, "fused.gir");
    for (const ir::Function &f : m.functions) {
      INFO("@" << f.name);
      std::vector<ir::Tensor> args;
      for (const ir::Param &p : f.params) args.push_back(randomTensor(f.type(p.value), rng, -2, 2));
      for (int threads : {1, 2}) {
        backend::setThreads(threads);
        Run r = runBoth(f, args);
        for (size_t j = 0; j < r.ref.size(); ++j) checkClose(r.jit[j], r.ref[j], 1e-5, 1e-5);
      }
      backend::setThreads(backend::defaultThreads());
    }
  }
}

TEST_CASE("whole training steps: unrolled second order, penalties, n_critic", "[jit][step]") {
  const char *testsDir = std::getenv("GANTRY_TESTS_DIR");
  REQUIRE(testsDir != nullptr);
  struct Case {
    const char *example;
    std::vector<std::string> sets;
  };
  for (const Case &c : {Case{"ring8_unrolled", {"train.batch=5", "unroll.steps=2"}},
                        Case{"wgan_gp_8gaussians", {"train.batch=6", "n_critic=2"}},
                        Case{"dragan_ring8", {"train.batch=4"}}}) {
    std::string path = std::string(testsDir) + "/../examples/" + c.example + ".gan";
    ir::Module m = frontend::compile({path, readFile(path)}, c.sets);
    passes::runPipeline(m, passes::parsePipeline(passes::kTrainingPipeline));
    const ir::Function &step = *m.find("step");
    // Mid-training state: Adam's second moments well above eps^2, so each update is a smooth function of the
    // gradient (at v = 0 the first Adam step is lr * sign(g), where f32 and f64 may round a tiny g apart).
    std::vector<ir::Tensor> args = runtime::sampleArguments(step, 17);
    for (size_t i = 0; i < step.params.size(); ++i) {
      const std::string &name = step.nameOf(step.params[i].value);
      for (size_t k = 0; k < args[i].data.size(); ++k) {
        if (name.ends_with(".v")) args[i].data[k] = 1e-3;
        if (name.ends_with(".m")) args[i].data[k] = 1e-3 * std::sin(static_cast<double>(k));
        if (name.ends_with(".adam.t")) args[i].data[k] = 3;
        if (name.ends_with(".b") && step.params[i].role == ir::ParamRole::Param) args[i].data[k] = 0.1 * std::cos(static_cast<double>(k));
      }
    }
    // On an AMX host, a second time with every tiled product on AMX (these batches are far below the size
    // that takes AMX by default).
    for (bool everyProductOnAmx : {false, true}) {
      if (everyProductOnAmx && !backend::amxEnabled()) continue;
      backend::CompileOptions options;
      if (everyProductOnAmx) options.amxMinMacs = 0;
      Run r = runBoth(step, args, options);
      for (size_t j = 0; j < r.ref.size(); ++j) {
        // Compare what the step changed (θ' - θ), not θ', so an error in a small update cannot hide in a large θ.
        const std::string &name = step.results[j].name;
        std::vector<double> before(r.ref[j].data.size(), 0.0);
        for (size_t i = 0; i < step.params.size(); ++i)
          if (step.nameOf(step.params[i].value) == name) before = asF32(args[i]).data;
        double diff = 0, norm = 0, size = 0;
        for (size_t i = 0; i < r.ref[j].data.size(); ++i) {
          double want = r.ref[j].data[i] - before[i], got = r.jit[j].data[i] - before[i];
          diff += (got - want) * (got - want);
          norm += want * want;
          size += r.ref[j].data[i] * r.ref[j].data[i];
        }
        INFO(c.example << " @step result " << name << (everyProductOnAmx ? " (AMX)" : "") << ": |jit - interpreter| = " << std::sqrt(diff)
                       << ", |change| = " << std::sqrt(norm));
        CHECK(std::isfinite(norm));
        // 1e-3 of the change, plus the few f32 ulps storing θ' itself costs.
        CHECK(std::sqrt(diff) <= 1e-3 * std::sqrt(norm) + 4e-7 * std::sqrt(size) + 1e-9);
      }
    }
  }
}
