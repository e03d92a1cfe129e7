// Reverse-mode autodiff (passes/Autodiff.h) against central finite differences on the reference interpreter.
//
// Every rule is checked the same way: a function applies the op to inputs chosen away from kinks and domain
// edges, its output is reduced to a scalar with a fixed random weighting (so every output element matters), and
// the gradients differentiate() emits are compared, element by element, with central differences of that loss.
// Each rule is checked twice: its gradient, and the gradient of a weighted sum of its gradient, which
// differentiates the ops the rule emitted — a second derivative is only right if every rule's output is itself
// differentiable. Exact-value tests pin the conventions at ties and kinks, and structural tests check symbolic
// zeros, stop_gradient and that only ops on a path from a wrt value to the loss get rules.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "ir/Builder.h"
#include "ir/Interpreter.h"
#include "ir/Parser.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"
#include "passes/Autodiff.h"

using namespace gantry::ir;
using gantry::passes::differentiate;

namespace {

constexpr double kStep = 1e-6;       // central differences: truncation ~h², rounding ~1e-16·|loss|/h
constexpr double kTolerance = 1e-6;  // relative and absolute

using Ints = std::vector<int64_t>;
using Params = std::vector<Value>;
using Body = std::function<Value(Builder &, const Params &)>;

int64_t countOf(const Shape &s) { return std::accumulate(s.begin(), s.end(), int64_t{1}, std::multiplies<>()); }

Ints allAxes(size_t rank) {
  Ints axes(rank);
  std::iota(axes.begin(), axes.end(), 0);
  return axes;
}

// Deterministic inputs (the mapping from the generator's integers is spelled out, so it is the same everywhere).
class Random {
 public:
  explicit Random(uint32_t seed) : gen_(seed) {}
  double uniform(double lo, double hi) { return lo + (hi - lo) * (static_cast<double>(gen_()) / 4294967296.0); }
  // |x| in [0.2, 2] with a random sign: far, compared with the step, from the kinks of relu, abs and sign at 0.
  double awayFromZero() {
    double m = uniform(0.2, 2.0);
    return gen_() & 1 ? m : -m;
  }
  Tensor tensor(Shape s, double lo, double hi) {
    std::vector<double> v(countOf(s));
    for (double &x : v) x = uniform(lo, hi);
    return Tensor::f32(std::move(s), std::move(v));
  }
  Tensor awayFromZero(Shape s) {
    std::vector<double> v(countOf(s));
    for (double &x : v) x = awayFromZero();
    return Tensor::f32(std::move(s), std::move(v));
  }
  // Values at least 0.05 apart in shuffled order: no ties for reduce_max to split.
  Tensor distinct(Shape s) {
    std::vector<double> v(countOf(s));
    for (size_t i = 0; i < v.size(); ++i) v[i] = 0.1 * static_cast<double>(i) - 1.0 + uniform(0.0, 0.05);
    std::shuffle(v.begin(), v.end(), gen_);
    return Tensor::f32(std::move(s), std::move(v));
  }

 private:
  std::mt19937 gen_;
};

struct Arg {
  Tensor value;
  bool wrt = true;  // differentiate with respect to this argument (otherwise it is a fixed input)
};
Arg fixed(Tensor t) { return {std::move(t), false}; }

// sum(out ⊙ W) with W a fixed random constant of out's shape.
Value weightedSum(Builder &b, Value out, uint32_t seed) {
  const TensorType t = b.type(out);
  Random r(seed);
  std::vector<double> w(countOf(t.shape));
  for (double &x : w) x = r.awayFromZero();
  return b.reduce(OpKind::ReduceSum, b.mul(out, b.constant(w, t)), allAxes(t.shape.size()));
}

std::vector<std::string> printedOps(const Function &f) {
  ValueNamer names(f);
  std::vector<std::string> lines;
  for (const Op &op : f.ops) lines.push_back(printOp(f, op, names));
  return lines;
}

void requireWellFormed(const Function &f) {
  std::vector<std::string> errors = verify(f);
  INFO((errors.empty() ? std::string() : errors.front()));
  REQUIRE(errors.empty());
  Module m;
  m.functions.push_back(f);
  const std::string text = print(m);
  INFO(text);
  REQUIRE(print(parseModule(text, "autodiff.gir")) == text);
}

// @f with one parameter per argument; results: the loss, then its gradient with respect to each wrt argument.
// Also checks that differentiate() left the existing ops alone and that the result verifies and round-trips.
Function buildGradient(const std::vector<Arg> &args, const Body &lossOf) {
  Function f;
  f.name = "f";
  Builder b(f);
  Params params, wrt;
  for (size_t i = 0; i < args.size(); ++i) {
    params.push_back(b.param("x" + std::to_string(i), args[i].value.type,
                             args[i].wrt ? ParamRole::Param : ParamRole::Input));
    if (args[i].wrt) wrt.push_back(params.back());
  }
  Value loss = lossOf(b, params);
  const std::vector<std::string> before = printedOps(f);
  std::vector<Value> grads = differentiate(b, loss, wrt);
  const std::vector<std::string> after = printedOps(f);
  REQUIRE(after.size() >= before.size());
  REQUIRE(std::equal(before.begin(), before.end(), after.begin()));
  REQUIRE(grads.size() == wrt.size());
  b.result("loss", loss);
  for (size_t k = 0; k < grads.size(); ++k) {
    REQUIRE(f.type(grads[k]) == f.type(wrt[k]));
    b.result("grad" + std::to_string(k), grads[k]);
  }
  requireWellFormed(f);
  return f;
}

std::vector<Tensor> valuesOf(const std::vector<Arg> &args) {
  std::vector<Tensor> values;
  for (const Arg &a : args) values.push_back(a.value);
  return values;
}

// The gradients differentiate() emits for the loss against its central differences, element by element.
void checkAgainstFiniteDifferences(const std::vector<Arg> &args, const Body &lossOf) {
  const Function f = buildGradient(args, lossOf);
  std::vector<Tensor> values = valuesOf(args);
  const std::vector<Tensor> out = evaluate(f, values);
  REQUIRE(std::isfinite(out[0].data[0]));
  auto lossAt = [&] { return evaluate(f, values)[0].data[0]; };
  size_t k = 1;
  for (size_t i = 0; i < args.size(); ++i) {
    if (!args[i].wrt) continue;
    const Tensor &grad = out[k++];
    REQUIRE(grad.type == values[i].type);
    for (size_t j = 0; j < grad.data.size(); ++j) {
      const double x = values[i].data[j];
      values[i].data[j] = x + kStep;
      const double up = lossAt();
      values[i].data[j] = x - kStep;
      const double down = lossAt();
      values[i].data[j] = x;
      const double fd = (up - down) / (2 * kStep);
      INFO("d loss / d x" << i << "[" << j << "]: autodiff " << grad.data[j] << ", finite differences " << fd);
      CHECK(grad.data[j] == Approx(fd).epsilon(kTolerance).margin(kTolerance));
    }
  }
}

// A loss whose value is a weighted sum of the gradients of `lossOf`: its gradient is a Hessian-vector product,
// computed by differentiating the ops the first differentiate() emitted.
Body gradientDotWeights(const std::vector<Arg> &args, Body lossOf) {
  return [&args, lossOf](Builder &b, const Params &xs) {
    Params wrt;
    for (size_t i = 0; i < args.size(); ++i)
      if (args[i].wrt) wrt.push_back(xs[i]);
    std::vector<Value> grads = differentiate(b, lossOf(b, xs), wrt);
    Value sum = b.constant(0.0, TensorType::f32({}));
    for (size_t k = 0; k < grads.size(); ++k) sum = b.add(sum, weightedSum(b, grads[k], 100 + k));
    return sum;
  };
}

// The rule of the op(s) in `body`, first and second order.
void checkOp(const std::vector<Arg> &args, const Body &body) {
  Body loss = [body](Builder &b, const Params &xs) { return weightedSum(b, body(b, xs), 7); };
  SECTION("first order") { checkAgainstFiniteDifferences(args, loss); }
  SECTION("second order") { checkAgainstFiniteDifferences(args, gradientDotWeights(args, loss)); }
}

Value slice(Builder &b, Value x, Ints start, Ints limit) {
  return b.create(OpKind::Slice, {x}, {{"start", std::move(start)}, {"limit", std::move(limit)}});
}

Value pad(Builder &b, Value x, Ints low, Ints high) {
  return b.create(OpKind::Pad, {x}, {{"low", std::move(low)}, {"high", std::move(high)}});
}

// A function of the given parameters, for the exact tests: build the body with `b`, then `run` names the
// results, checks the function and evaluates it.
struct Harness {
  Function f;
  Builder b{f};
  Params xs;
  explicit Harness(const std::vector<TensorType> &types) {
    f.name = "f";
    for (size_t i = 0; i < types.size(); ++i)
      xs.push_back(b.param("x" + std::to_string(i), types[i], ParamRole::Param));
  }
  std::vector<Tensor> run(const std::vector<Value> &results, const std::vector<Tensor> &args) {
    for (size_t i = 0; i < results.size(); ++i) b.result("r" + std::to_string(i), results[i]);
    requireWellFormed(f);
    return evaluate(f, args);
  }
};

const Op *definingOp(const Function &f, Value v) {
  for (const Op &op : f.ops)
    if (op.result == v) return &op;
  return nullptr;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// every rule against finite differences

TEST_CASE("unary rules", "[autodiff][unary]") {
  struct Case {
    OpKind kind;
    double lo, hi;  // lo == hi: |x| in [0.2, 2], away from the kink at 0
  };
  const std::vector<Case> cases = {
      {OpKind::Neg, -2, 2},     {OpKind::Exp, -2, 2},      {OpKind::Expm1, -2, 2},   {OpKind::Log, 0.2, 3},
      {OpKind::Log1p, -0.8, 2}, {OpKind::Sqrt, 0.2, 3},    {OpKind::Rsqrt, 0.2, 3},  {OpKind::Tanh, -2, 2},
      {OpKind::Sigmoid, -3, 3}, {OpKind::Relu, 0, 0},      {OpKind::Abs, 0, 0},      {OpKind::Softplus, -3, 3},
      {OpKind::Square, -2, 2},
  };
  for (const Case &c : cases) {
    DYNAMIC_SECTION(opName(c.kind)) {
      Random r(static_cast<uint32_t>(c.kind) + 1);
      Tensor x = c.lo == c.hi ? r.awayFromZero({2, 3}) : r.tensor({2, 3}, c.lo, c.hi);
      checkOp({{x}}, [kind = c.kind](Builder &b, const Params &xs) { return b.unary(kind, xs[0]); });
    }
  }
}

TEST_CASE("binary rules", "[autodiff][binary]") {
  Random r(11);
  const Shape s{3, 2};
  for (OpKind kind : {OpKind::Add, OpKind::Sub, OpKind::Mul}) {
    DYNAMIC_SECTION(opName(kind)) {
      checkOp({{r.tensor(s, -2, 2)}, {r.tensor(s, -2, 2)}},
              [kind](Builder &b, const Params &xs) { return b.binary(kind, xs[0], xs[1]); });
    }
  }
  SECTION("div") {
    checkOp({{r.tensor(s, -2, 2)}, {r.awayFromZero(s)}},
            [](Builder &b, const Params &xs) { return b.div(xs[0], xs[1]); });
  }
  for (OpKind kind : {OpKind::Max, OpKind::Min}) {
    DYNAMIC_SECTION(opName(kind) << " away from ties") {
      Tensor a = r.tensor(s, -2, 2), c = a;
      for (double &x : c.data) x += 0.5 * r.awayFromZero();  // 0.1 to 1 above or below a
      checkOp({{a}, {c}}, [kind](Builder &b, const Params &xs) { return b.binary(kind, xs[0], xs[1]); });
    }
  }
  SECTION("pow with respect to both operands") {
    checkOp({{r.tensor(s, 0.3, 2)}, {r.tensor(s, -1.5, 2.5)}},
            [](Builder &b, const Params &xs) { return b.binary(OpKind::Pow, xs[0], xs[1]); });
  }
  SECTION("pow with respect to the base only") {
    checkOp({{r.tensor(s, 0.3, 2)}, fixed(r.tensor(s, -1.5, 2.5))},
            [](Builder &b, const Params &xs) { return b.binary(OpKind::Pow, xs[0], xs[1]); });
  }
  SECTION("pow with respect to the exponent only") {
    checkOp({fixed(r.tensor(s, 0.3, 2)), {r.tensor(s, -1.5, 2.5)}},
            [](Builder &b, const Params &xs) { return b.binary(OpKind::Pow, xs[0], xs[1]); });
  }
}

TEST_CASE("an operand used twice accumulates both uses", "[autodiff][fan-out]") {
  Random r(12);
  Tensor x = r.tensor({4}, 0.5, 2);
  for (OpKind kind : {OpKind::Add, OpKind::Sub, OpKind::Mul, OpKind::Div, OpKind::Pow, OpKind::Max}) {
    DYNAMIC_SECTION(opName(kind) << "(x, x)") {
      checkOp({{x}}, [kind](Builder &b, const Params &xs) { return b.binary(kind, xs[0], xs[0]); });
    }
  }
  SECTION("a chain with several consumers") {
    checkOp({{x}}, [](Builder &b, const Params &xs) {
      Value y = b.unary(OpKind::Exp, xs[0]);
      return b.add(b.add(b.mul(y, y), b.div(y, xs[0])), b.unary(OpKind::Log, y));
    });
  }
}

TEST_CASE("select", "[autodiff][select]") {
  Random r(13);
  const Shape s{2, 3};
  SECTION("with a mixed constant condition") {
    Tensor cond{TensorType::i1(s), {1, 0, 0, 1, 1, 0}};
    checkOp({fixed(cond), {r.tensor(s, -2, 2)}, {r.tensor(s, -2, 2)}},
            [](Builder &b, const Params &xs) { return b.select(xs[0], xs[1], xs[2]); });
  }
  SECTION("with a condition computed from the operands") {
    Tensor a = r.tensor(s, -2, 2), c = a;
    for (double &x : c.data) x += 0.5 * r.awayFromZero();
    checkOp({{a}, {c}}, [](Builder &b, const Params &xs) {
      return b.select(b.compare("gt", xs[0], xs[1]), b.mul(xs[0], xs[0]), b.unary(OpKind::Exp, xs[1]));
    });
  }
}

TEST_CASE("broadcast into various dims", "[autodiff][shape]") {
  struct Case {
    Shape from, to;
    Ints dims;
  };
  const std::vector<Case> cases = {
      {{}, {2, 3}, {}},           {{3}, {2, 3}, {1}},         {{2}, {2, 3}, {0}},     {{2, 3}, {2, 4, 3}, {0, 2}},
      {{3}, {2, 3, 4}, {1}},      {{2, 3}, {2, 3}, {0, 1}},   {{4}, {4, 1}, {0}},     {{3, 4}, {2, 3, 4}, {1, 2}},
  };
  Random r(14);
  for (const Case &c : cases) {
    DYNAMIC_SECTION(shapeStr(c.from) << " -> " << shapeStr(c.to) << " dims " << shapeStr(c.dims)) {
      checkOp({{r.tensor(c.from, -2, 2)}},
              [c](Builder &b, const Params &xs) { return b.unary(OpKind::Tanh, b.broadcast(xs[0], c.to, c.dims)); });
    }
  }
}

TEST_CASE("reshape and transpose", "[autodiff][shape]") {
  Random r(15);
  for (Shape to : {Shape{3, 2}, Shape{6}, Shape{1, 6, 1}}) {
    DYNAMIC_SECTION("reshape [2,3] -> " << shapeStr(to)) {
      checkOp({{r.tensor({2, 3}, -2, 2)}}, [to](Builder &b, const Params &xs) { return b.reshape(xs[0], to); });
    }
  }
  SECTION("reshape a scalar") {
    checkOp({{r.tensor({}, -2, 2)}}, [](Builder &b, const Params &xs) { return b.reshape(xs[0], {1, 1}); });
  }
  SECTION("transpose a matrix") {
    checkOp({{r.tensor({2, 3}, -2, 2)}}, [](Builder &b, const Params &xs) { return b.transpose(xs[0], {1, 0}); });
  }
  for (Ints perm : {Ints{2, 0, 1}, Ints{1, 2, 0}, Ints{0, 2, 1}, Ints{0, 1, 2}}) {
    DYNAMIC_SECTION("transpose [2,3,4] by " << shapeStr(perm)) {
      // A square after the transpose makes the result depend on where each element went.
      checkOp({{r.tensor({2, 3, 4}, -2, 2)}},
              [perm](Builder &b, const Params &xs) { return b.unary(OpKind::Square, b.transpose(xs[0], perm)); });
    }
  }
}


TEST_CASE("concat, slice and pad", "[autodiff][shape]") {
  Random r(16);
  auto concat = [](Builder &b, std::vector<Value> xs, int64_t axis) {
    return b.create(OpKind::Concat, std::move(xs), {{"axis", axis}});
  };
  SECTION("concat along axis 0") {
    checkOp({{r.tensor({1, 3}, -2, 2)}, {r.tensor({2, 3}, -2, 2)}, {r.tensor({3, 3}, -2, 2)}},
            [concat](Builder &b, const Params &xs) { return b.unary(OpKind::Square, concat(b, xs, 0)); });
  }
  SECTION("concat along axis 1") {
    checkOp({{r.tensor({2, 1}, -2, 2)}, {r.tensor({2, 4}, -2, 2)}},
            [concat](Builder &b, const Params &xs) { return b.unary(OpKind::Square, concat(b, xs, 1)); });
  }
  SECTION("concat of one operand") {
    checkOp({{r.tensor({2, 3}, -2, 2)}},
            [concat](Builder &b, const Params &xs) { return b.unary(OpKind::Square, concat(b, xs, 1)); });
  }
  SECTION("concat of the same operand twice, and of a fixed input") {
    checkOp({{r.tensor({2, 3}, -2, 2)}, fixed(r.tensor({1, 3}, -2, 2))}, [concat](Builder &b, const Params &xs) {
      return b.unary(OpKind::Square, concat(b, {xs[0], xs[1], xs[0]}, 0));
    });
  }
  struct Window {
    Ints start, limit;
  };
  for (const Window &w : {Window{{1, 0}, {3, 4}}, Window{{0, 0}, {4, 5}}, Window{{3, 2}, {4, 3}}}) {
    DYNAMIC_SECTION("slice [4,5] from " << shapeStr(w.start) << " to " << shapeStr(w.limit)) {
      checkOp({{r.tensor({4, 5}, -2, 2)}},
              [w](Builder &b, const Params &xs) { return b.unary(OpKind::Square, slice(b, xs[0], w.start, w.limit)); });
    }
  }
  for (const Window &w : {Window{{1, 0}, {0, 2}}, Window{{0, 0}, {0, 0}}, Window{{2, 1}, {1, 3}}}) {
    DYNAMIC_SECTION("pad [2,3] with low " << shapeStr(w.start) << ", high " << shapeStr(w.limit)) {
      checkOp({{r.tensor({2, 3}, -2, 2)}},
              [w](Builder &b, const Params &xs) { return b.unary(OpKind::Square, pad(b, xs[0], w.start, w.limit)); });
    }
  }
  SECTION("pad then slice a rank-3 tensor") {
    checkOp({{r.tensor({2, 3, 2}, -2, 2)}}, [](Builder &b, const Params &xs) {
      Value padded = pad(b, xs[0], {0, 1, 2}, {1, 0, 1});
      return b.unary(OpKind::Square, slice(b, padded, {0, 0, 1}, {2, 3, 4}));
    });
  }
}

TEST_CASE("matmul in all four transpose combinations", "[autodiff][matmul]") {
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      DYNAMIC_SECTION("transpose_a = " << ta << ", transpose_b = " << tb) {
        Random r(18);
        // op(a) is 2x3 and op(b) is 3x4 whatever the flags, so every size is distinct and a wrong rule mis-types.
        Tensor a = r.tensor(ta ? Shape{3, 2} : Shape{2, 3}, -2, 2);
        Tensor c = r.tensor(tb ? Shape{4, 3} : Shape{3, 4}, -2, 2);
        checkOp({{a}, {c}}, [ta, tb](Builder &b, const Params &xs) { return b.matmul(xs[0], xs[1], ta, tb); });
      }
    }
  }
  Random r(19);
  SECTION("x times its own transpose") {
    checkOp({{r.tensor({2, 3}, -2, 2)}},
            [](Builder &b, const Params &xs) { return b.matmul(xs[0], xs[0], false, true); });
  }
  SECTION("the transpose of x times x") {
    checkOp({{r.tensor({2, 3}, -2, 2)}},
            [](Builder &b, const Params &xs) { return b.matmul(xs[0], xs[0], true, false); });
  }
}

TEST_CASE("reductions over several axes", "[autodiff][reduce]") {
  for (OpKind kind : {OpKind::ReduceSum, OpKind::ReduceMean, OpKind::ReduceMax}) {
    for (Ints axes : {Ints{}, Ints{0}, Ints{1}, Ints{2}, Ints{0, 2}, Ints{1, 2}, Ints{0, 1, 2}}) {
      DYNAMIC_SECTION(opName(kind) << " over " << shapeStr(axes)) {
        Random r(20);
        Tensor x = kind == OpKind::ReduceMax ? r.distinct({2, 3, 4}) : r.tensor({2, 3, 4}, -2, 2);
        // The square makes the second derivative depend on x.
        checkOp({{x}}, [kind, axes](Builder &b, const Params &xs) {
          return b.unary(OpKind::Square, b.reduce(kind, xs[0], axes));
        });
      }
    }
  }
}

TEST_CASE("a small discriminator loss", "[autodiff][composite]") {
  // The logistic GAN loss of a one-hidden-layer discriminator, with respect to its weights and the fake batch.
  Random r(21);
  std::vector<Arg> args = {fixed(r.tensor({4, 3}, -2, 2)), {r.tensor({4, 3}, -2, 2)}, {r.tensor({3, 2}, -1, 1)},
                           {r.tensor({2}, -0.5, 0.5)},      {r.tensor({2, 1}, -1, 1)}};
  Body loss = [](Builder &b, const Params &xs) {
    auto d = [&](Value in) {
      Value pre = b.add(b.matmul(in, xs[2]), b.broadcast(xs[3], {4, 2}, {1}));
      return b.matmul(b.unary(OpKind::Tanh, pre), xs[4]);
    };
    Value real = b.reduce(OpKind::ReduceMean, b.unary(OpKind::Softplus, b.unary(OpKind::Neg, d(xs[0]))), {0, 1});
    Value fake = b.reduce(OpKind::ReduceMean, b.unary(OpKind::Softplus, d(xs[1])), {0, 1});
    return b.add(real, fake);
  };
  SECTION("first order") { checkAgainstFiniteDifferences(args, loss); }
  SECTION("second order") { checkAgainstFiniteDifferences(args, gradientDotWeights(args, loss)); }
}

// ---------------------------------------------------------------------------------------------------------------
// exact values and conventions

TEST_CASE("d/dx sum(x^2) = 2x exactly", "[autodiff][exact]") {
  for (bool viaMul : {false, true}) {
    DYNAMIC_SECTION((viaMul ? "mul(x, x)" : "square(x)")) {
      Harness h({TensorType::f32({3})});
      Value x = h.xs[0];
      Value sq = viaMul ? h.b.mul(x, x) : h.b.unary(OpKind::Square, x);
      std::vector<Value> g = differentiate(h.b, h.b.reduce(OpKind::ReduceSum, sq, {0}), h.xs);
      std::vector<Tensor> out = h.run(g, {Tensor::f32({3}, {1.5, -2.0, 0.25})});
      REQUIRE(out[0].data == std::vector<double>{3.0, -4.0, 0.5});
    }
  }
}

TEST_CASE("matmul gradients of a 2x2 case by hand", "[autodiff][exact][matmul]") {
  // loss = sum(C ⊙ W) with W = [[1,0],[0,2]], so the cotangent of C is W.
  const Tensor a = Tensor::f32({2, 2}, {1, 2, 3, 4}), c = Tensor::f32({2, 2}, {5, 6, 7, 8});
  auto gradients = [&](bool transposeA) {
    Harness h({a.type, c.type});
    Value prod = h.b.matmul(h.xs[0], h.xs[1], transposeA, false);
    Value w = h.b.constant(std::vector<double>{1, 0, 0, 2}, TensorType::f32({2, 2}));
    Value loss = h.b.reduce(OpKind::ReduceSum, h.b.mul(prod, w), {0, 1});
    return h.run(differentiate(h.b, loss, h.xs), {a, c});
  };
  SECTION("C = A·B: dA = W·Bᵀ, dB = Aᵀ·W") {
    std::vector<Tensor> g = gradients(false);
    REQUIRE(g[0].data == std::vector<double>{5, 7, 12, 16});
    REQUIRE(g[1].data == std::vector<double>{1, 6, 2, 8});
  }
  SECTION("C = Aᵀ·B: dA = B·Wᵀ, dB = A·W") {
    std::vector<Tensor> g = gradients(true);
    REQUIRE(g[0].data == std::vector<double>{5, 12, 7, 16});
    REQUIRE(g[1].data == std::vector<double>{1, 4, 3, 8});
  }
}

TEST_CASE("reduce_max splits the cotangent among tied maxima", "[autodiff][exact][reduce]") {
  SECTION("a vector with a tie") {
    Harness h({TensorType::f32({4})});
    std::vector<Value> g = differentiate(h.b, h.b.reduce(OpKind::ReduceMax, h.xs[0], {0}), h.xs);
    REQUIRE(h.run(g, {Tensor::f32({4}, {1, 3, 3, 2})})[0].data == std::vector<double>{0, 0.5, 0.5, 0});
  }
  SECTION("rows: a three-way tie and a single maximum") {
    Harness h({TensorType::f32({2, 3})});
    Value rowMax = h.b.reduce(OpKind::ReduceMax, h.xs[0], {1});
    Value loss = h.b.reduce(OpKind::ReduceSum, h.b.mul(rowMax, h.b.constant(std::vector<double>{3, 5},
                                                                             TensorType::f32({2}))), {0});
    std::vector<Value> g = differentiate(h.b, loss, h.xs);
    REQUIRE(h.run(g, {Tensor::f32({2, 3}, {5, 5, 5, 1, 4, 2})})[0].data == std::vector<double>{1, 1, 1, 0, 5, 0});
  }
}

TEST_CASE("max and min send a tie to the first operand", "[autodiff][exact][binary]") {
  const Tensor a = Tensor::f32({3}, {1, 2, 3}), c = Tensor::f32({3}, {1, 5, 0});
  auto gradients = [&](OpKind kind) {
    Harness h({a.type, c.type});
    Value loss = h.b.reduce(OpKind::ReduceSum, h.b.binary(kind, h.xs[0], h.xs[1]), {0});
    return h.run(differentiate(h.b, loss, h.xs), {a, c});
  };
  std::vector<Tensor> mx = gradients(OpKind::Max);
  CHECK(mx[0].data == std::vector<double>{1, 0, 1});
  CHECK(mx[1].data == std::vector<double>{0, 1, 0});
  std::vector<Tensor> mn = gradients(OpKind::Min);
  CHECK(mn[0].data == std::vector<double>{1, 1, 0});
  CHECK(mn[1].data == std::vector<double>{0, 0, 1});
}

TEST_CASE("kinks and domain edges", "[autodiff][exact][unary]") {
  auto gradient = [](OpKind kind, Tensor x) {
    Harness h({x.type});
    std::vector<Value> g = differentiate(h.b, h.b.reduce(OpKind::ReduceSum, h.b.unary(kind, h.xs[0]), {0}), h.xs);
    return h.run(g, {x})[0].data;
  };
  CHECK(gradient(OpKind::Relu, Tensor::f32({4}, {-1, 0, -0.0, 2})) == std::vector<double>{0, 0, 0, 1});
  CHECK(gradient(OpKind::Abs, Tensor::f32({3}, {-1, 0, 2})) == std::vector<double>{-1, 0, 1});
  CHECK(gradient(OpKind::Sqrt, Tensor::f32({2}, {4, 0.25})) == std::vector<double>{0.25, 1});
  CHECK(gradient(OpKind::Log, Tensor::f32({2}, {4, 0.25})) == std::vector<double>{0.25, 4});

  SECTION("reduce_mean gives 1/count") {
    Harness h({TensorType::f32({2, 4})});
    std::vector<Value> g = differentiate(h.b, h.b.reduce(OpKind::ReduceMean, h.xs[0], {0, 1}), h.xs);
    REQUIRE(h.run(g, {Tensor::f32({2, 4}, {1, 2, 3, 4, 5, 6, 7, 8})})[0].data == std::vector<double>(8, 0.125));
  }
  SECTION("pow: d/db at a = 0 is 0, not NaN") {
    Harness h({TensorType::f32({2}), TensorType::f32({2})});
    Value loss = h.b.reduce(OpKind::ReduceSum, h.b.binary(OpKind::Pow, h.xs[0], h.xs[1]), {0});
    std::vector<Tensor> g = h.run(differentiate(h.b, loss, h.xs), {Tensor::f32({2}, {0, 2}), Tensor::f32({2}, {2, 3})});
    CHECK(g[0].data == std::vector<double>{0, 12});  // b·a^(b-1)
    CHECK(g[1].data[0] == 0.0);
    CHECK(g[1].data[1] == Approx(8 * std::log(2.0)).epsilon(1e-15));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// symbolic zeros and non-differentiable ops

TEST_CASE("a wrt value the loss does not depend on gets a zero constant", "[autodiff][zeros]") {
  Harness h({TensorType::f32({3}), TensorType::f32({2, 2})});
  Value loss = h.b.reduce(OpKind::ReduceSum, h.b.unary(OpKind::Square, h.xs[0]), {0});
  std::vector<Value> g = differentiate(h.b, loss, h.xs);
  const Op *zero = definingOp(h.f, g[1]);
  REQUIRE(zero);
  REQUIRE(zero->kind == OpKind::Constant);
  REQUIRE(zero->attrs.getFloat("value") == 0.0);
  REQUIRE(h.f.type(g[1]) == TensorType::f32({2, 2}));
  std::vector<Tensor> out = h.run(g, {Tensor::f32({3}, {1, 2, 3}), Tensor::f32({2, 2}, {1, 2, 3, 4})});
  REQUIRE(out[1].data == std::vector<double>(4, 0.0));
  REQUIRE(out[0].data == std::vector<double>{2, 4, 6});
}

TEST_CASE("only ops on a path from a wrt value to the loss get rules", "[autodiff][zeros]") {
  // loss = sum(x ⊙ w), with respect to x only: the seed, its broadcast back over the sum, and g ⊙ w. Nothing for
  // w, whose cotangent nobody asked for.
  auto build = [](Harness &h, bool unrelatedBranch, bool sideResult) {
    Value loss = h.b.reduce(OpKind::ReduceSum, h.b.mul(h.xs[0], h.xs[1]), {0});
    if (unrelatedBranch)  // depends on w and c, not on x
      loss = h.b.add(loss, h.b.reduce(OpKind::ReduceSum, h.b.unary(OpKind::Exp, h.b.mul(h.xs[1], h.xs[2])), {0}));
    if (sideResult)  // depends on x, but the loss does not depend on it
      h.b.result("side", h.b.unary(OpKind::Log, h.b.unary(OpKind::Exp, h.xs[0])));
    size_t before = h.f.ops.size();
    differentiate(h.b, loss, std::vector<Value>{h.xs[0]});
    return h.f.ops.size() - before;
  };
  const std::vector<TensorType> types(3, TensorType::f32({3}));
  Harness plain(types), branch(types), side(types);
  const size_t emitted = build(plain, false, false);
  REQUIRE(emitted == 3);
  CHECK(plain.f.ops[plain.f.ops.size() - 3].kind == OpKind::Constant);
  CHECK(plain.f.ops[plain.f.ops.size() - 2].kind == OpKind::Broadcast);
  CHECK(plain.f.ops[plain.f.ops.size() - 1].kind == OpKind::Mul);
  CHECK(build(branch, true, false) == emitted);
  CHECK(build(side, false, true) == emitted);

  SECTION("a loss that depends on no wrt value costs one zero constant") {
    Harness h(types);
    Value loss = h.b.reduce(OpKind::ReduceSum, h.b.unary(OpKind::Exp, h.xs[1]), {0});
    size_t before = h.f.ops.size();
    differentiate(h.b, loss, std::vector<Value>{h.xs[0]});
    CHECK(h.f.ops.size() == before + 1);
  }
  SECTION("pow with a fixed exponent emits no log") {
    Harness h(types);
    Value loss = h.b.reduce(OpKind::ReduceSum, h.b.binary(OpKind::Pow, h.xs[0], h.xs[1]), {0});
    size_t before = h.f.ops.size();
    differentiate(h.b, loss, std::vector<Value>{h.xs[0]});
    for (size_t i = before; i < h.f.ops.size(); ++i) CHECK(h.f.ops[i].kind != OpKind::Log);
  }
}

TEST_CASE("stop_gradient, sign and compare pass no gradient", "[autodiff][zeros]") {
  const Tensor x = Tensor::f32({3}, {1.5, -2, 0.5});
  auto gradientOf = [&](auto lossOf, bool expectZeroConstant) {
    Harness h({x.type});
    Value loss = lossOf(h.b, h.xs[0]);
    const size_t before = h.f.ops.size();
    std::vector<Value> g = differentiate(h.b, loss, h.xs);
    if (expectZeroConstant) {  // no rule ran: the only op emitted is the zero
      CHECK(h.f.ops.size() == before + 1);
      CHECK(definingOp(h.f, g[0])->kind == OpKind::Constant);
    }
    return h.run(g, {x})[0].data;
  };
  auto sum = [](Builder &b, Value v) { return b.reduce(OpKind::ReduceSum, v, {0}); };
  SECTION("sum(x ⊙ stop_gradient(x)) differentiates only the first factor: x, not 2x") {
    CHECK(gradientOf([&](Builder &b, Value v) { return sum(b, b.mul(v, b.unary(OpKind::StopGradient, v))); },
                     false) == x.data);
  }
  SECTION("sum(stop_gradient(x)²)") {
    CHECK(gradientOf([&](Builder &b, Value v) {
            return sum(b, b.unary(OpKind::Square, b.unary(OpKind::StopGradient, v)));
          }, true) == std::vector<double>(3, 0.0));
  }
  SECTION("sum(sign(x))") {
    CHECK(gradientOf([&](Builder &b, Value v) { return sum(b, b.unary(OpKind::Sign, v)); }, true) ==
          std::vector<double>(3, 0.0));
  }
  SECTION("a select between constants on compare(x, 0)") {
    CHECK(gradientOf([&](Builder &b, Value v) {
            Value zero = b.constant(0.0, TensorType::f32({3}));
            return sum(b, b.select(b.compare("gt", v, zero), b.constant(1.0, TensorType::f32({3})),
                                   b.constant(2.0, TensorType::f32({3}))));
          }, true) == std::vector<double>(3, 0.0));
  }
  SECTION("sum(x ⊙ sign(x)) = sum|x| gets sign(x) from the x factor alone") {
    CHECK(gradientOf([&](Builder &b, Value v) { return sum(b, b.mul(v, b.unary(OpKind::Sign, v))); }, false) ==
          std::vector<double>{1, -1, 1});
  }
}

TEST_CASE("the gradient with respect to an intermediate value", "[autodiff][zeros]") {
  // h = exp(x), loss = sum(h²): d/dh = 2h, and d/dx = 2h·h through h.
  Harness h({TensorType::f32({2})});
  Value e = h.b.unary(OpKind::Exp, h.xs[0]);
  Value loss = h.b.reduce(OpKind::ReduceSum, h.b.mul(e, e), {0});
  std::vector<Value> g = differentiate(h.b, loss, std::vector<Value>{e, h.xs[0], loss});
  std::vector<Tensor> out = h.run(g, {Tensor::f32({2}, {0.5, -1})});
  for (size_t i = 0; i < 2; ++i) {
    const double ex = std::exp(i == 0 ? 0.5 : -1.0);
    CHECK(out[0].data[i] == Approx(2 * ex).epsilon(1e-14));
    CHECK(out[1].data[i] == Approx(2 * ex * ex).epsilon(1e-14));
  }
  CHECK(out[2].data == std::vector<double>{1.0});  // d loss / d loss
}

TEST_CASE("differentiate rejects a loss or wrt value of the wrong type", "[autodiff][errors]") {
  Harness h({TensorType::f32({3}), TensorType::f32({})});
  Value flags = h.b.compare("gt", h.xs[0], h.xs[0]);
  Value scalar = h.b.reduce(OpKind::ReduceSum, h.xs[0], {0});
  REQUIRE_THROWS_AS(differentiate(h.b, h.xs[0], h.xs), IrError);                         // not a scalar
  REQUIRE_THROWS_AS(differentiate(h.b, scalar, std::vector<Value>{flags}), IrError);     // an i1 wrt value
  REQUIRE_THROWS_AS(differentiate(h.b, Value{}, h.xs), IrError);                         // no value at all
  REQUIRE_NOTHROW(differentiate(h.b, h.xs[1], h.xs));                                    // a parameter as the loss
}

// ---------------------------------------------------------------------------------------------------------------
// second order: differentiate() applied to its own output

TEST_CASE("d²/dx² of tanh(x)³", "[autodiff][second-order]") {
  // f = t³ with t = tanh x: f' = 3t²(1 - t²) and f'' = 6t(1 - t²)(1 - 2t²).
  SECTION("against the closed form") {
    for (double x0 : {-1.3, 0.4, 0.9}) {
      Harness h({TensorType::f32({})});
      Value t = h.b.unary(OpKind::Tanh, h.xs[0]);
      Value f = h.b.mul(t, h.b.mul(t, t));
      Value d1 = differentiate(h.b, f, h.xs)[0];
      Value d2 = differentiate(h.b, d1, h.xs)[0];
      std::vector<Tensor> out = h.run({d1, d2}, {Tensor::scalar(x0)});
      const double tt = std::tanh(x0);
      CHECK(out[0].data[0] == Approx(3 * tt * tt * (1 - tt * tt)).epsilon(1e-13));
      CHECK(out[1].data[0] == Approx(6 * tt * (1 - tt * tt) * (1 - 2 * tt * tt)).epsilon(1e-13));
    }
  }
  SECTION("on a vector, against finite differences of the first gradient") {
    Random r(30);
    std::vector<Arg> args = {{r.tensor({5}, -2, 2)}};
    Body sumOfCubes = [](Builder &b, const Params &xs) {
      Value t = b.unary(OpKind::Tanh, xs[0]);
      return b.reduce(OpKind::ReduceSum, b.mul(t, b.mul(t, t)), {0});
    };
    checkAgainstFiniteDifferences(args, gradientDotWeights(args, sumOfCubes));
  }
  SECTION("third order: the gradient of d²/dx² sigmoid(x)") {
    checkAgainstFiniteDifferences({{Tensor::scalar(0.7)}}, [](Builder &b, const Params &xs) {
      Value d1 = differentiate(b, b.unary(OpKind::Sigmoid, xs[0]), xs)[0];
      return differentiate(b, d1, xs)[0];
    });
  }
}

TEST_CASE("Hessian-vector product of a two-layer MLP", "[autodiff][second-order]") {
  // loss(θ) = mean((tanh(x·W1 + b1)·W2 - t)²); H·v is the gradient of ⟨∇loss, v⟩, checked against
  // (∇loss(θ + εv) - ∇loss(θ - εv)) / 2ε.
  Random r(31);
  const Tensor x = r.tensor({4, 3}, -2, 2), t = r.tensor({4, 1}, -1, 1);
  const std::vector<Tensor> theta = {r.tensor({3, 5}, -1, 1), r.tensor({5}, -0.5, 0.5), r.tensor({5, 1}, -1, 1)};
  const std::vector<Tensor> v = {r.tensor({3, 5}, -1, 1), r.tensor({5}, -1, 1), r.tensor({5, 1}, -1, 1)};

  Harness h({x.type, t.type, theta[0].type, theta[1].type, theta[2].type});
  Builder &b = h.b;
  const std::vector<Value> params(h.xs.begin() + 2, h.xs.end());
  Value hidden = b.unary(OpKind::Tanh, b.add(b.matmul(h.xs[0], params[0]), b.broadcast(params[1], {4, 5}, {1})));
  Value err = b.sub(b.matmul(hidden, params[2]), h.xs[1]);
  Value loss = b.reduce(OpKind::ReduceMean, b.unary(OpKind::Square, err), {0, 1});
  std::vector<Value> grads = differentiate(b, loss, params);
  Value gv = b.constant(0.0, TensorType::f32({}));
  for (size_t k = 0; k < 3; ++k)
    gv = b.add(gv, b.reduce(OpKind::ReduceSum, b.mul(grads[k], b.constant(v[k].data, v[k].type)),
                            allAxes(v[k].type.shape.size())));
  std::vector<Value> hv = differentiate(b, gv, params);
  std::vector<Value> results = grads;
  results.insert(results.end(), hv.begin(), hv.end());

  auto argsAt = [&](double step) {
    std::vector<Tensor> args = {x, t};
    for (size_t k = 0; k < 3; ++k) {
      Tensor p = theta[k];
      for (size_t j = 0; j < p.data.size(); ++j) p.data[j] += step * v[k].data[j];
      args.push_back(p);
    }
    return args;
  };
  const std::vector<Tensor> at = h.run(results, argsAt(0));
  const std::vector<Tensor> up = evaluate(h.f, argsAt(kStep)), down = evaluate(h.f, argsAt(-kStep));
  for (size_t k = 0; k < 3; ++k) {
    for (size_t j = 0; j < at[3 + k].data.size(); ++j) {
      const double fd = (up[k].data[j] - down[k].data[j]) / (2 * kStep);
      INFO("(H·v) of parameter " << k << " [" << j << "]: autodiff " << at[3 + k].data[j] << ", fd " << fd);
      CHECK(at[3 + k].data[j] == Approx(fd).epsilon(kTolerance).margin(kTolerance));
    }
  }
}

TEST_CASE("gradient penalty: the gradient in θ of (‖∇ₓD‖ - 1)²", "[autodiff][second-order]") {
  // D(x) = tanh(x·W1 + b1)·w2 per row of x (or softplus in the hidden layer); the penalty is
  // P(θ) = mean over rows of (‖∇ₓ sum D‖₂ - 1)², as in WGAN-GP. ∇θ P differentiates the ops of ∇ₓ.
  for (OpKind activation : {OpKind::Tanh, OpKind::Softplus}) {
    DYNAMIC_SECTION("hidden activation " << opName(activation)) {
      Random r(32);
      std::vector<Arg> args = {fixed(r.tensor({4, 3}, -2, 2)), {r.tensor({3, 5}, -1, 1)},
                               {r.tensor({5}, -0.5, 0.5)},     {r.tensor({5, 1}, -1, 1)}};
      checkAgainstFiniteDifferences(args, [activation](Builder &b, const Params &xs) {
        const Value x = xs[0], w1 = xs[1], b1 = xs[2], w2 = xs[3];
        Value hidden = b.unary(activation, b.add(b.matmul(x, w1), b.broadcast(b1, {4, 5}, {1})));
        Value sumD = b.reduce(OpKind::ReduceSum, b.matmul(hidden, w2), {0, 1});
        Value dx = differentiate(b, sumD, std::vector<Value>{x})[0];
        Value norm = b.unary(OpKind::Sqrt, b.reduce(OpKind::ReduceSum, b.unary(OpKind::Square, dx), {1}));
        Value gap = b.sub(norm, b.constant(1.0, TensorType::f32({4})));
        return b.reduce(OpKind::ReduceMean, b.unary(OpKind::Square, gap), {0});
      });
    }
  }
}
