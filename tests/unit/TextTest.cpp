// The IR's text form: the printer's exact output, and print(parse(print(m))) == print(m) on hand-built and
// randomly generated modules.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "ir/Builder.h"
#include "ir/Cost.h"
#include "ir/Interpreter.h"
#include "ir/Parser.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"

using namespace gantry::ir;

namespace {

TensorType f32(Shape s) { return TensorType::f32(std::move(s)); }

std::string roundTrip(const std::string &text) { return print(parseModule(text, "roundtrip.gir")); }

Module smallDiscriminatorLoss() {
  Module m;
  Function &f = m.functions.emplace_back();
  f.name = "d_loss";
  Builder b(f);
  Value x = b.param("x", f32({4, 2}), ParamRole::Input);
  Value w = b.param("w", f32({2, 3}), ParamRole::Param);
  Value mw = b.param("m_w", f32({2, 3}), ParamRole::State);
  Value u = b.param("u", f32({4, 1}), ParamRole::Random, RandomDist{RandomDist::Kind::Uniform, 0.0, 1.0});
  Value h = b.create(OpKind::Matmul, {x, w}, {}, std::nullopt, "h");
  Value a = b.unary(OpKind::Relu, h);
  Value ub = b.broadcast(b.reshape(u, {4}), {4, 3}, {0});
  Value s = b.mul(a, ub);
  Value loss = b.reduce(OpKind::ReduceMean, b.unary(OpKind::Softplus, s), {0, 1});
  Value gt = b.compare("gt", h, b.constant(0.5, f32({4, 3})));
  Value g = b.matmul(x, b.select(gt, a, s), true, false);
  b.result("loss", loss);
  b.result("grad_w", b.add(g, mw));
  return m;
}

}  // namespace

TEST_CASE("the printer's exact text for a small function", "[text]") {
  const char *expected = R"(func @d_loss(
    input %x: f32[4,2],
    param %w: f32[2,3],
    state %m_w: f32[2,3],
    random %u: f32[4,1] ~ uniform(0.0, 1.0)
) -> (loss: f32[], grad_w: f32[2,3]) {
  %h = matmul %x, %w : f32[4,3]
  %0 = relu %h : f32[4,3]
  %1 = reshape %u : f32[4]
  %2 = broadcast %1 {dims = [0]} : f32[4,3]
  %3 = mul %0, %2 : f32[4,3]
  %4 = softplus %3 : f32[4,3]
  %5 = reduce_mean %4 {axes = [0, 1]} : f32[]
  %6 = constant {value = 0.5} : f32[4,3]
  %7 = compare %h, %6 {pred = gt} : i1[4,3]
  %8 = select %7, %0, %3 : f32[4,3]
  %9 = matmul %x, %8 {transpose_a = true} : f32[2,3]
  %10 = add %9, %m_w : f32[2,3]
  return %5, %10
}
)";
  Module m = smallDiscriminatorLoss();
  REQUIRE(verify(m).empty());
  CHECK(print(m) == expected);
  CHECK(roundTrip(expected) == expected);
}

TEST_CASE("name hints print uniquely and read back unchanged", "[text]") {
  Module m;
  Function &f = m.functions.emplace_back();
  f.name = "names";
  Builder b(f);
  Value x = b.param("x", f32({2}), ParamRole::Input);
  Value h1 = b.create(OpKind::Neg, {x}, {}, std::nullopt, "h");
  Value h2 = b.create(OpKind::Neg, {h1}, {}, std::nullopt, "h");
  Value h3 = b.create(OpKind::Neg, {h2}, {}, std::nullopt, "h.1");
  Value xs = b.create(OpKind::Neg, {h3}, {}, std::nullopt, "x");     // collides with a parameter
  Value bad = b.create(OpKind::Neg, {xs}, {}, std::nullopt, "2fast");  // not an identifier: numbered
  b.result("out", bad);
  std::string text = print(m);
  CHECK(text == R"(func @names(
    input %x: f32[2]
) -> (out: f32[2]) {
  %h = neg %x : f32[2]
  %h.1 = neg %h : f32[2]
  %h.1.1 = neg %h.1 : f32[2]
  %x.1 = neg %h.1.1 : f32[2]
  %0 = neg %x.1 : f32[2]
  return %0
}
)");
  CHECK(roundTrip(text) == text);
}

TEST_CASE("numbers keep their exact value through text", "[text]") {
  std::vector<double> values = {0.1, -0.0, 1e-30, 3.4028234663852886e38, 123456789.0, -2.5e-7,
                                INFINITY, -INFINITY, 1.0 / 3.0, 5e-324};
  Module m;
  Function &f = m.functions.emplace_back();
  f.name = "numbers";
  Builder b(f);
  b.result("c", b.constant(values, f32({static_cast<int64_t>(values.size())})));
  b.result("n", b.constant(NAN, f32({})));
  std::string text = print(m);
  CHECK(text.find("[0.1, -0.0, 1e-30, 3.4028234663852886e+38, 123456789.0, -2.5e-07, inf, -inf, "
                  "0.3333333333333333, 5e-324]") != std::string::npos);
  Module back = parseModule(text, "numbers.gir");
  std::vector<Tensor> out = evaluate(back.functions[0], {});
  for (size_t i = 0; i < values.size(); ++i) {
    CHECK(out[0].data[i] == values[i]);
    CHECK(std::signbit(out[0].data[i]) == std::signbit(values[i]));
  }
  CHECK(std::isnan(out[1].data[0]));
}

TEST_CASE("integer literals widen to float attributes; comments and dump banners are skipped", "[text]") {
  const char *text = R"(// *** IR Dump After cse ***
func @f() -> (c: f32[3], d: f32[]) {   // a trailing comment
  %c = constant {value = [1, 2, 3]} : f32[3]
  %d = constant {value = -4} : f32[]
  return %c, %d
}
// *** IR Dump After dce ***
func @g(input %x: f32[]) -> () {
  return
}
)";
  Module m = parseModule(text, "banner.gir");
  REQUIRE(m.functions.size() == 2);
  CHECK(print(m) == R"(func @f() -> (c: f32[3], d: f32[]) {
  %c = constant {value = [1.0, 2.0, 3.0]} : f32[3]
  %d = constant {value = -4.0} : f32[]
  return %c, %d
}

func @g(
    input %x: f32[]
) -> () {
  return
}
)");
}

// ---- random modules ----

namespace {

// Builds a random well-typed function from every kind of op, to exercise the printer and parser on forms no
// hand-written test thought of.
class RandomFunctionGenerator {
 public:
  explicit RandomFunctionGenerator(uint32_t seed) : rng_(seed) {}

  Function generate(int numOps) {
    Function f;
    f.name = "random_" + std::to_string(counter_++);
    Builder b(f);
    const std::vector<Shape> paramShapes = {{3, 4}, {4, 5}, {3}, {}, {2, 3, 4}, {4, 3}};
    const ParamRole roles[] = {ParamRole::Input, ParamRole::Param, ParamRole::State};
    for (size_t i = 0; i < paramShapes.size(); ++i) {
      std::string name = "p" + std::to_string(i);
      if (pick(5) == 0) {
        RandomDist d = pick(2) ? RandomDist{RandomDist::Kind::Normal, 0.0, 0.25 * (1 + pick(4))}
                               : RandomDist{RandomDist::Kind::Uniform, -1.0, 1.0};
        pool_.push_back(b.param(name, f32(paramShapes[i]), ParamRole::Random, d));
      } else {
        pool_.push_back(b.param(name, f32(paramShapes[i]), roles[pick(3)]));
      }
    }
    for (int i = 0; i < numOps; ++i) addRandomOp(b);
    int numResults = 1 + pick(3);
    for (int i = 0; i < numResults; ++i) b.result("r" + std::to_string(i), pool_[pool_.size() - 1 - pick(std::min<size_t>(pool_.size(), 4))]);
    pool_.clear();
    return f;
  }

 private:
  int pick(size_t n) { return static_cast<int>(std::uniform_int_distribution<size_t>(0, n - 1)(rng_)); }

  Value anyValue(const Builder &b, DType dtype) {
    std::vector<Value> candidates;
    for (Value v : pool_)
      if (b.type(v).dtype == dtype) candidates.push_back(v);
    return candidates.empty() ? Value{} : candidates[pick(candidates.size())];
  }

  std::string nameHint() {
    static const char *hints[] = {"h", "x", "h.1", "t", "grad", "p0"};
    return pick(3) == 0 ? hints[pick(6)] : "";
  }

  void addRandomOp(Builder &b) {
    Value x = anyValue(b, DType::F32);
    const TensorType t = b.type(x);
    const std::string hint = nameHint();
    Value out;
    switch (pick(12)) {
      case 0: {  // any unary
        static const OpKind unary[] = {OpKind::Neg, OpKind::Exp, OpKind::Tanh, OpKind::Relu, OpKind::Softplus,
                                       OpKind::Square, OpKind::StopGradient, OpKind::Sign};
        out = b.create(unary[pick(8)], {x}, {}, std::nullopt, hint);
        break;
      }
      case 1: {  // binary with a same-shaped partner (or itself)
        static const OpKind binary[] = {OpKind::Add, OpKind::Sub, OpKind::Mul, OpKind::Div, OpKind::Max, OpKind::Min};
        Value y = x;
        for (Value v : pool_)
          if (b.type(v) == t && pick(2)) y = v;
        out = b.create(binary[pick(6)], {x, y}, {}, std::nullopt, hint);
        break;
      }
      case 2: {  // compare, then select
        static const char *preds[] = {"eq", "ne", "lt", "le", "gt", "ge"};
        Value c = b.compare(preds[pick(6)], x, b.unary(OpKind::Neg, x));
        out = b.create(OpKind::Select, {c, x, b.unary(OpKind::Abs, x)}, {}, std::nullopt, hint);
        break;
      }
      case 3: {  // broadcast into a new dimension
        Shape s = t.shape;
        int64_t pos = pick(s.size() + 1);
        s.insert(s.begin() + pos, 1 + pick(3));
        std::vector<int64_t> dims;
        for (int64_t d = 0; d < t.rank(); ++d) dims.push_back(d < pos ? d : d + 1);
        out = b.create(OpKind::Broadcast, {x}, {{"dims", dims}}, f32(s), hint);
        break;
      }
      case 4:
        out = b.create(OpKind::Reshape, {x}, {}, f32({t.numElements()}), hint);
        break;
      case 5: {
        std::vector<int64_t> perm(t.rank());
        for (size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int64_t>(i);
        std::shuffle(perm.begin(), perm.end(), rng_);
        out = b.create(OpKind::Transpose, {x}, {{"perm", perm}}, std::nullopt, hint);
        break;
      }
      case 6: {
        static const OpKind reductions[] = {OpKind::ReduceSum, OpKind::ReduceMean, OpKind::ReduceMax};
        std::vector<int64_t> axes;
        for (int64_t d = 0; d < t.rank(); ++d)
          if (pick(2)) axes.push_back(d);
        out = b.create(reductions[pick(3)], {x}, {{"axes", axes}}, std::nullopt, hint);
        break;
      }
      case 7: {  // matmul with a partner of matching contraction, under random transpose flags
        if (t.rank() != 2) return;
        bool ta = pick(2), tb = pick(2);
        int64_t k = ta ? t.shape[0] : t.shape[1];
        for (Value y : pool_) {
          const TensorType &u = b.type(y);
          if (u.dtype == DType::F32 && u.rank() == 2 && (tb ? u.shape[1] : u.shape[0]) == k) {
            out = b.create(OpKind::Matmul, {x, y}, {{"transpose_a", ta}, {"transpose_b", tb}}, std::nullopt, hint);
            break;
          }
        }
        if (!out.valid()) return;
        break;
      }
      case 8: {  // splat or dense constant of an existing shape
        std::uniform_real_distribution<double> value(-3.0, 3.0);
        if (pick(2)) {
          out = b.create(OpKind::Constant, {}, {{"value", value(rng_)}}, t, hint);
        } else {
          std::vector<double> values(t.numElements());
          for (double &v : values) v = value(rng_);
          out = b.create(OpKind::Constant, {}, {{"value", values}}, t, hint);
        }
        break;
      }
      case 9: {
        if (t.rank() == 0) return;
        int64_t axis = pick(t.rank());
        out = b.create(OpKind::Concat, {x, x, b.unary(OpKind::Exp, x)}, {{"axis", axis}}, std::nullopt, hint);
        break;
      }
      case 10: {
        std::vector<int64_t> start, limit;
        for (int64_t d : t.shape) {
          int64_t s = pick(d);
          start.push_back(s);
          limit.push_back(s + 1 + pick(d - s));
        }
        out = b.create(OpKind::Slice, {x}, {{"start", start}, {"limit", limit}}, std::nullopt, hint);
        break;
      }
      case 11: {
        std::vector<int64_t> low, high;
        for (int64_t d = 0; d < t.rank(); ++d) {
          low.push_back(pick(3));
          high.push_back(pick(3));
        }
        out = b.create(OpKind::Pad, {x}, {{"low", low}, {"high", high}}, std::nullopt, hint);
        break;
      }
    }
    // Keep tensors small so that evaluating the random functions stays cheap.
    if (b.type(out).numElements() <= 512) pool_.push_back(out);
  }

  std::mt19937 rng_;
  std::vector<Value> pool_;
  int counter_ = 0;
};

std::vector<Tensor> randomArguments(const Function &f, std::mt19937 &rng) {
  std::normal_distribution<double> normal;
  std::vector<Tensor> args;
  for (const Param &p : f.params) {
    Tensor t = Tensor::zeros(f.type(p.value));
    for (double &v : t.data) v = normal(rng);
    args.push_back(std::move(t));
  }
  return args;
}

bool sameValues(const std::vector<Tensor> &a, const std::vector<Tensor> &b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].type != b[i].type) return false;
    for (size_t j = 0; j < a[i].data.size(); ++j) {
      double x = a[i].data[j], y = b[i].data[j];
      if (!(x == y || (std::isnan(x) && std::isnan(y)))) return false;
    }
  }
  return true;
}

}  // namespace

TEST_CASE("random modules round-trip through text and compute the same values", "[text][random]") {
  RandomFunctionGenerator gen(20261125);
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    Module m;
    for (int i = 0; i < 1 + trial % 3; ++i) m.functions.push_back(gen.generate(5 + trial % 40));
    REQUIRE(verify(m).empty());
    std::string text = print(m);
    INFO(text);
    Module parsed = parseModule(text, "random.gir");
    REQUIRE(print(parsed) == text);
    for (size_t i = 0; i < m.functions.size(); ++i) {
      std::vector<Tensor> args = randomArguments(m.functions[i], rng);
      CHECK(sameValues(evaluate(m.functions[i], args), evaluate(parsed.functions[i], args)));
    }
  }
}

TEST_CASE("flop count: 2mkn per matmul, one per elementwise result, one per reduced element, zero for data movement", "[cost]") {
  Module m = parseModule(R"(func @f(input %x: f32[4,2], param %w: f32[3,2]) -> (loss: f32[]) {
  %h = matmul %x, %w {transpose_b = true} : f32[4,3]
  %g = matmul %x, %h {transpose_a = true} : f32[2,3]
  %r = relu %h : f32[4,3]
  %c = constant {value = 2.0} : f32[4,3]
  %d = mul %r, %c : f32[4,3]
  %p = compare %d, %h {pred = gt} : i1[4,3]
  %s = select %p, %d, %h : f32[4,3]
  %t = transpose %s {perm = [1, 0]} : f32[3,4]
  %l = reduce_sum %t {axes = [0, 1]} : f32[]
  return %l
})", "cost.gir");
  const Function &f = m.functions[0];
  // matmuls: 2*4*2*3 = 48 and 2*2*4*3 = 48; relu, mul, compare, select: 12 each; reduce_sum: 12.
  CHECK(flopCount(f) == 48 + 48 + 4 * 12 + 12);
  CHECK(opFlops(f, f.ops[7]) == 0);  // transpose
  CHECK(opFlops(f, f.ops[3]) == 0);  // constant
}
