// The reference interpreter against hand-computed values, op by op.
//
// Every expected value below is a literal worked out by hand (or with a calculator for the transcendental ones),
// never recomputed with the formula the interpreter uses: the interpreter is the oracle for later tests, so it is
// checked here against something independent of it.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <stdexcept>
#include <vector>

#include "ir/Builder.h"
#include "ir/Interpreter.h"
#include "ir/Parser.h"
#include "support/Files.h"

using namespace gantry::ir;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

Tensor f32(Shape shape, std::vector<double> values) { return Tensor::f32(std::move(shape), std::move(values)); }

Tensor i1(Shape shape, std::vector<double> values) { return {TensorType::i1(std::move(shape)), std::move(values)}; }

// Builds @f(%x0, %x1, ...) = kind(%x0, %x1, ...) with the parameters typed like `inputs`, evaluates it on `inputs`
// and returns its one result.
Tensor evalOp(OpKind kind, const std::vector<Tensor> &inputs, Attrs attrs = {},
              std::optional<TensorType> declared = std::nullopt) {
  Function f;
  f.name = "f";
  Builder b(f);
  std::vector<Value> operands;
  for (size_t i = 0; i < inputs.size(); ++i)
    operands.push_back(b.param("x" + std::to_string(i), inputs[i].type, ParamRole::Input));
  b.result("out", b.create(kind, operands, std::move(attrs), std::move(declared)));
  std::vector<Tensor> out = evaluate(f, inputs);
  REQUIRE(out.size() == 1);
  REQUIRE(static_cast<int64_t>(out[0].data.size()) == out[0].type.numElements());
  return out[0];
}

// A unary elementwise op on a vector.
std::vector<double> unary(OpKind kind, std::vector<double> x) {
  Shape shape{static_cast<int64_t>(x.size())};
  Tensor out = evalOp(kind, {f32(shape, std::move(x))});
  REQUIRE(out.type == TensorType::f32(shape));
  return out.data;
}

// A binary elementwise op on two vectors of one length.
std::vector<double> binary(OpKind kind, std::vector<double> a, std::vector<double> b) {
  Shape shape{static_cast<int64_t>(a.size())};
  Tensor out = evalOp(kind, {f32(shape, std::move(a)), f32(shape, std::move(b))});
  REQUIRE(out.type == TensorType::f32(shape));
  return out.data;
}

// Element by element: NaN where NaN is expected, otherwise within a relative 1e-14 (exact for expected zeros and
// infinities).
void requireClose(const std::vector<double> &got, const std::vector<double> &expected) {
  REQUIRE(got.size() == expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i << ": got " << got[i] << ", expected " << expected[i]);
    if (std::isnan(expected[i])) {
      CHECK(std::isnan(got[i]));
    } else if (std::isinf(expected[i])) {
      CHECK(got[i] == expected[i]);
    } else {
      CHECK(got[i] == Approx(expected[i]).epsilon(1e-14).margin(0));
    }
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// constants and identities

TEST_CASE("constant: splat and dense values", "[interpreter][constant]") {
  SECTION("splat fills every element") {
    Tensor out = evalOp(OpKind::Constant, {}, {{"value", 2.5}}, TensorType::f32({2, 3}));
    REQUIRE(out.type == TensorType::f32({2, 3}));
    REQUIRE(out.data == std::vector<double>{2.5, 2.5, 2.5, 2.5, 2.5, 2.5});
  }
  SECTION("scalar splat") {
    Tensor out = evalOp(OpKind::Constant, {}, {{"value", -7.0}}, TensorType::f32({}));
    REQUIRE(out.type == TensorType::f32({}));
    REQUIRE(out.data == std::vector<double>{-7.0});
  }
  SECTION("dense values are row-major") {
    Tensor out = evalOp(OpKind::Constant, {}, {{"value", std::vector<double>{1, 2, 3, 4, 5, 6}}},
                        TensorType::f32({2, 3}));
    REQUIRE(out.type == TensorType::f32({2, 3}));
    REQUIRE(out.data == std::vector<double>{1, 2, 3, 4, 5, 6});
    REQUIRE(out.at({0, 2}) == 3.0);
    REQUIRE(out.at({1, 0}) == 4.0);
  }
  SECTION("i1 dense and splat") {
    Tensor dense = evalOp(OpKind::Constant, {}, {{"value", std::vector<double>{1, 0, 1}}}, TensorType::i1({3}));
    REQUIRE(dense.type == TensorType::i1({3}));
    REQUIRE(dense.data == std::vector<double>{1, 0, 1});
    Tensor splat = evalOp(OpKind::Constant, {}, {{"value", 1.0}}, TensorType::i1({2}));
    REQUIRE(splat.data == std::vector<double>{1, 1});
  }
  SECTION("Builder::constant shorthands") {
    Function f;
    f.name = "c";
    Builder b(f);
    b.result("s", b.constant(0.5, TensorType::f32({3})));
    b.result("d", b.constant(std::vector<double>{-1, 0, 1, 2}, TensorType::f32({2, 2})));
    std::vector<Tensor> out = evaluate(f, {});
    REQUIRE(out.size() == 2);
    REQUIRE(out[0].data == std::vector<double>{0.5, 0.5, 0.5});
    REQUIRE(out[1].type == TensorType::f32({2, 2}));
    REQUIRE(out[1].data == std::vector<double>{-1, 0, 1, 2});
  }
}

TEST_CASE("stop_gradient is the identity", "[interpreter][unary]") {
  REQUIRE(unary(OpKind::StopGradient, {-1.5, 0.0, 3.25, 1e300}) == std::vector<double>{-1.5, 0.0, 3.25, 1e300});
  std::vector<double> nan = unary(OpKind::StopGradient, {kNaN});
  REQUIRE(std::isnan(nan[0]));
}

// ---------------------------------------------------------------------------------------------------------------
// elementwise unary

TEST_CASE("neg", "[interpreter][unary]") {
  std::vector<double> out = unary(OpKind::Neg, {-1.5, 0.0, 3.25, -kInf});
  REQUIRE(out == std::vector<double>{1.5, -0.0, -3.25, kInf});
  REQUIRE(std::signbit(out[1]));  // -0
}

TEST_CASE("exp", "[interpreter][unary]") {
  requireClose(unary(OpKind::Exp, {0.0, 1.0, -1.0, 2.0, -kInf, kInf}),
               {1.0, 2.718281828459045, 0.36787944117144233, 7.38905609893065, 0.0, kInf});
}

TEST_CASE("expm1 keeps precision near zero", "[interpreter][unary]") {
  requireClose(unary(OpKind::Expm1, {0.0, 1e-10, 1.0, -1.0}),
               {0.0, 1.00000000005e-10, 1.7182818284590453, -0.6321205588285577});
}

TEST_CASE("log", "[interpreter][unary]") {
  requireClose(unary(OpKind::Log, {1.0, 2.718281828459045, 0.5, 10.0, 0.0, -1.0}),
               {0.0, 1.0, -0.6931471805599453, 2.302585092994046, -kInf, kNaN});
}

TEST_CASE("log1p keeps precision near zero", "[interpreter][unary]") {
  requireClose(unary(OpKind::Log1p, {0.0, 1e-10, 1.0, -0.5, -1.0}),
               {0.0, 9.9999999995e-11, 0.6931471805599453, -0.6931471805599453, -kInf});
}

TEST_CASE("sqrt", "[interpreter][unary]") {
  requireClose(unary(OpKind::Sqrt, {0.0, 1.0, 4.0, 0.25, 2.0, -1.0}), {0.0, 1.0, 2.0, 0.5, 1.4142135623730951, kNaN});
}

TEST_CASE("rsqrt", "[interpreter][unary]") {
  requireClose(unary(OpKind::Rsqrt, {1.0, 4.0, 0.25, 2.0, 0.0}), {1.0, 0.5, 2.0, 0.7071067811865476, kInf});
}

TEST_CASE("tanh", "[interpreter][unary]") {
  requireClose(unary(OpKind::Tanh, {0.0, 0.5, -1.0, 20.0, -20.0}),
               {0.0, 0.46211715726000974, -0.7615941559557649, 1.0, -1.0});
}

TEST_CASE("sigmoid", "[interpreter][unary]") {
  requireClose(unary(OpKind::Sigmoid, {0.0, 2.0, -2.0, 40.0, -40.0}),
               {0.5, 0.8807970779778824, 0.11920292202211756, 1.0, 4.248354255291589e-18});

  SECTION("saturates without NaN at large |x|") {
    std::vector<double> out = unary(OpKind::Sigmoid, {-800.0, 800.0});
    // sigmoid(-800) is about 3.7e-348, below the smallest double: the answer is +0 (or a tiny positive number).
    REQUIRE(std::isfinite(out[0]));
    REQUIRE(out[0] >= 0.0);
    REQUIRE(out[0] < 1e-300);
    REQUIRE(out[1] == 1.0);
  }
}

TEST_CASE("relu propagates NaN", "[interpreter][unary][nan]") {
  requireClose(unary(OpKind::Relu, {-2.0, -0.0, 0.0, 3.5, kInf, -kInf, kNaN}), {0.0, 0.0, 0.0, 3.5, kInf, 0.0, kNaN});
}

TEST_CASE("abs", "[interpreter][unary]") {
  REQUIRE(unary(OpKind::Abs, {-2.5, 0.0, 3.0, -kInf}) == std::vector<double>{2.5, 0.0, 3.0, kInf});
  REQUIRE(!std::signbit(unary(OpKind::Abs, {-0.0})[0]));
}

TEST_CASE("sign propagates NaN", "[interpreter][unary][nan]") {
  requireClose(unary(OpKind::Sign, {-3.0, -0.0, 0.0, 2.5, 1e-300, -kInf, kNaN}), {-1.0, 0.0, 0.0, 1.0, 1.0, -1.0, kNaN});
}

TEST_CASE("softplus", "[interpreter][unary][nan]") {
  requireClose(unary(OpKind::Softplus, {0.0, 1.0, -1.0, 30.0, -30.0}),
               {0.6931471805599453, 1.3132616875182228, 0.3132616875182228, 30.000000000000092, 9.357622968839737e-14});

  SECTION("large |x| neither overflows nor loses the tail") {
    std::vector<double> out = unary(OpKind::Softplus, {100.0, -100.0, 1000.0, -1000.0});
    REQUIRE(out[0] == 100.0);
    REQUIRE(out[1] == Approx(3.7200759760208356e-44).epsilon(1e-14).margin(0));
    REQUIRE(out[2] == 1000.0);
    REQUIRE(out[3] >= 0.0);
    REQUIRE(out[3] < 1e-300);  // about 5e-435: +0 in double
  }
  SECTION("NaN propagates") { REQUIRE(std::isnan(unary(OpKind::Softplus, {kNaN})[0])); }
}

TEST_CASE("square", "[interpreter][unary]") {
  REQUIRE(unary(OpKind::Square, {-3.0, 0.5, 0.0, 1e200}) == std::vector<double>{9.0, 0.25, 0.0, kInf});
}

TEST_CASE("unary ops keep the operand's shape", "[interpreter][unary]") {
  Tensor out = evalOp(OpKind::Square, {f32({2, 2}, {1, -2, 3, -4})});
  REQUIRE(out.type == TensorType::f32({2, 2}));
  REQUIRE(out.data == std::vector<double>{1, 4, 9, 16});
}

// ---------------------------------------------------------------------------------------------------------------
// elementwise binary

TEST_CASE("add, sub, mul, div", "[interpreter][binary]") {
  const std::vector<double> a{6.0, -2.0, 0.5, 9.0}, b{3.0, 4.0, -0.25, 2.0};
  REQUIRE(binary(OpKind::Add, a, b) == std::vector<double>{9.0, 2.0, 0.25, 11.0});
  REQUIRE(binary(OpKind::Sub, a, b) == std::vector<double>{3.0, -6.0, 0.75, 7.0});
  REQUIRE(binary(OpKind::Mul, a, b) == std::vector<double>{18.0, -8.0, -0.125, 18.0});
  REQUIRE(binary(OpKind::Div, a, b) == std::vector<double>{2.0, -0.5, -2.0, 4.5});

  SECTION("sub and div take the operands in order") {
    REQUIRE(binary(OpKind::Sub, {1.0}, {10.0}) == std::vector<double>{-9.0});
    REQUIRE(binary(OpKind::Div, {1.0}, {8.0}) == std::vector<double>{0.125});
  }
  SECTION("division by zero follows IEEE") {
    requireClose(binary(OpKind::Div, {1.0, -1.0, 0.0}, {0.0, 0.0, 0.0}), {kInf, -kInf, kNaN});
  }
  SECTION("on a matrix") {
    Tensor out = evalOp(OpKind::Add, {f32({2, 2}, {1, 2, 3, 4}), f32({2, 2}, {10, 20, 30, 40})});
    REQUIRE(out.type == TensorType::f32({2, 2}));
    REQUIRE(out.data == std::vector<double>{11, 22, 33, 44});
  }
}

TEST_CASE("max and min propagate NaN", "[interpreter][binary][nan]") {
  const std::vector<double> a{6.0, -2.0, 0.5, 9.0, -kInf}, b{3.0, 4.0, -0.25, 2.0, -1.0};
  REQUIRE(binary(OpKind::Max, a, b) == std::vector<double>{6.0, 4.0, 0.5, 9.0, -1.0});
  REQUIRE(binary(OpKind::Min, a, b) == std::vector<double>{3.0, -2.0, -0.25, 2.0, -kInf});

  // NaN on either side, whichever side std::max/std::min would otherwise pick.
  requireClose(binary(OpKind::Max, {kNaN, 1.0, kNaN}, {1.0, kNaN, kNaN}), {kNaN, kNaN, kNaN});
  requireClose(binary(OpKind::Min, {kNaN, 1.0, kNaN}, {1.0, kNaN, kNaN}), {kNaN, kNaN, kNaN});
}

TEST_CASE("pow", "[interpreter][binary]") {
  requireClose(binary(OpKind::Pow, {2.0, 9.0, 4.0, -2.0, 0.0, 2.0, 5.0}, {10.0, 0.5, -1.0, 3.0, 0.0, 0.5, 0.0}),
               {1024.0, 3.0, 0.25, -8.0, 1.0, 1.4142135623730951, 1.0});
  // A negative base with a non-integer exponent has no real value.
  REQUIRE(std::isnan(binary(OpKind::Pow, {-8.0}, {0.5})[0]));
}

// ---------------------------------------------------------------------------------------------------------------
// comparison and selection

TEST_CASE("compare with every predicate", "[interpreter][compare]") {
  // Columns: less, equal, greater, NaN against NaN, NaN against a number.
  const Tensor a = f32({5}, {1.0, 2.0, 3.0, kNaN, kNaN});
  const Tensor b = f32({5}, {2.0, 2.0, 2.0, kNaN, 2.0});
  auto cmp = [&](const char *pred) {
    Tensor out = evalOp(OpKind::Compare, {a, b}, {{"pred", Symbol{pred}}});
    REQUIRE(out.type == TensorType::i1({5}));
    return out.data;
  };
  REQUIRE(cmp("eq") == std::vector<double>{0, 1, 0, 0, 0});
  REQUIRE(cmp("ne") == std::vector<double>{1, 0, 1, 1, 1});
  REQUIRE(cmp("lt") == std::vector<double>{1, 0, 0, 0, 0});
  REQUIRE(cmp("le") == std::vector<double>{1, 1, 0, 0, 0});
  REQUIRE(cmp("gt") == std::vector<double>{0, 0, 1, 0, 0});
  REQUIRE(cmp("ge") == std::vector<double>{0, 1, 1, 0, 0});
}

TEST_CASE("compare through Builder::compare on a matrix", "[interpreter][compare]") {
  Function f;
  f.name = "f";
  Builder b(f);
  Value x = b.param("x", TensorType::f32({2, 2}), ParamRole::Input);
  Value y = b.param("y", TensorType::f32({2, 2}), ParamRole::Input);
  b.result("gt", b.compare("gt", x, y));
  std::vector<Tensor> args{f32({2, 2}, {5, 1, -1, 0}), f32({2, 2}, {4, 1, 0, -0.0})};
  std::vector<Tensor> out = evaluate(f, args);
  REQUIRE(out[0].type == TensorType::i1({2, 2}));
  REQUIRE(out[0].data == std::vector<double>{1, 0, 0, 0});
}

TEST_CASE("select", "[interpreter][select]") {
  SECTION("f32 branches") {
    Tensor out = evalOp(OpKind::Select,
                        {i1({2, 2}, {1, 0, 0, 1}), f32({2, 2}, {1, 2, 3, 4}), f32({2, 2}, {10, 20, 30, 40})});
    REQUIRE(out.type == TensorType::f32({2, 2}));
    REQUIRE(out.data == std::vector<double>{1, 20, 30, 4});
  }
  SECTION("the branch not taken may be NaN") {
    Tensor out = evalOp(OpKind::Select, {i1({2}, {1, 0}), f32({2}, {7, kNaN}), f32({2}, {kNaN, 8})});
    REQUIRE(out.data == std::vector<double>{7, 8});
  }
  SECTION("i1 branches") {
    Tensor out = evalOp(OpKind::Select, {i1({3}, {0, 1, 0}), i1({3}, {1, 1, 1}), i1({3}, {0, 0, 1})});
    REQUIRE(out.type == TensorType::i1({3}));
    REQUIRE(out.data == std::vector<double>{0, 1, 1});
  }
  SECTION("scalar") {
    Tensor out = evalOp(OpKind::Select, {i1({}, {0}), f32({}, {1.5}), f32({}, {-1.5})});
    REQUIRE(out.data == std::vector<double>{-1.5});
  }
}

// ---------------------------------------------------------------------------------------------------------------
// shape ops

TEST_CASE("broadcast", "[interpreter][shape]") {
  auto bcast = [](const Tensor &x, Shape shape, std::vector<int64_t> dims) {
    TensorType t{x.type.dtype, shape};
    Tensor out = evalOp(OpKind::Broadcast, {x}, {{"dims", std::move(dims)}}, t);
    REQUIRE(out.type == t);
    return out.data;
  };
  SECTION("a scalar to a matrix") {
    REQUIRE(bcast(f32({}, {7}), {2, 3}, {}) == std::vector<double>{7, 7, 7, 7, 7, 7});
  }
  SECTION("a vector into dimension 1 of a matrix: it becomes every row") {
    REQUIRE(bcast(f32({3}, {1, 2, 3}), {2, 3}, {1}) == std::vector<double>{1, 2, 3, 1, 2, 3});
  }
  SECTION("a vector into dimension 0 of a matrix: it becomes every column") {
    REQUIRE(bcast(f32({2}, {1, 2}), {2, 3}, {0}) == std::vector<double>{1, 1, 1, 2, 2, 2});
  }
  SECTION("a matrix into dimensions 0 and 2 of a rank-3 tensor") {
    // out[i][j][k] = x[i][k]
    REQUIRE(bcast(f32({2, 2}, {1, 2, 3, 4}), {2, 3, 2}, {0, 2}) ==
            std::vector<double>{1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4});
  }
  SECTION("a vector into the middle of a rank-3 tensor") {
    // out[i][j][k] = x[j]
    REQUIRE(bcast(f32({2}, {5, 6}), {2, 2, 2}, {1}) == std::vector<double>{5, 5, 6, 6, 5, 5, 6, 6});
  }
  SECTION("with dims covering every dimension it is the identity") {
    REQUIRE(bcast(f32({2, 2}, {1, 2, 3, 4}), {2, 2}, {0, 1}) == std::vector<double>{1, 2, 3, 4});
  }
  SECTION("i1 operand") {
    REQUIRE(bcast(i1({2}, {1, 0}), {2, 2}, {1}) == std::vector<double>{1, 0, 1, 0});
  }
  SECTION("Builder::broadcast shorthand") {
    Function f;
    f.name = "f";
    Builder b(f);
    Value x = b.param("x", TensorType::f32({3}), ParamRole::Input);
    b.result("y", b.broadcast(x, {3, 2}, {0}));
    std::vector<Tensor> args{f32({3}, {1, 2, 3})};
    std::vector<Tensor> out = evaluate(f, args);
    REQUIRE(out[0].type == TensorType::f32({3, 2}));
    REQUIRE(out[0].data == std::vector<double>{1, 1, 2, 2, 3, 3});
  }
}

TEST_CASE("reshape keeps the row-major order", "[interpreter][shape]") {
  const Tensor x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  auto reshape = [](const Tensor &in, Shape shape) {
    Tensor out = evalOp(OpKind::Reshape, {in}, {}, TensorType::f32(shape));
    REQUIRE(out.type == TensorType::f32(shape));
    return out;
  };
  Tensor r32 = reshape(x, {3, 2});
  REQUIRE(r32.data == std::vector<double>{1, 2, 3, 4, 5, 6});
  REQUIRE(r32.at({1, 0}) == 3.0);
  REQUIRE(r32.at({2, 1}) == 6.0);
  REQUIRE(reshape(x, {6}).data == std::vector<double>{1, 2, 3, 4, 5, 6});
  REQUIRE(reshape(x, {1, 6, 1}).data == std::vector<double>{1, 2, 3, 4, 5, 6});
  REQUIRE(reshape(f32({1}, {4.5}), {}).data == std::vector<double>{4.5});
  REQUIRE(reshape(f32({}, {4.5}), {1, 1}).data == std::vector<double>{4.5});
}

TEST_CASE("transpose", "[interpreter][shape]") {
  SECTION("rank 2") {
    Tensor out = evalOp(OpKind::Transpose, {f32({2, 3}, {1, 2, 3, 4, 5, 6})}, {{"perm", std::vector<int64_t>{1, 0}}});
    REQUIRE(out.type == TensorType::f32({3, 2}));
    REQUIRE(out.data == std::vector<double>{1, 4, 2, 5, 3, 6});
  }

  // x[i][j][k] = 12 i + 4 j + k, so each element names its own position.
  const Tensor x = f32({2, 3, 4}, {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                   12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23});
  SECTION("rank 3, perm [2, 0, 1]: out[a][b][c] = x[b][c][a]") {
    Tensor out = evalOp(OpKind::Transpose, {x}, {{"perm", std::vector<int64_t>{2, 0, 1}}});
    REQUIRE(out.type == TensorType::f32({4, 2, 3}));
    REQUIRE(out.data == std::vector<double>{0, 4, 8,  12, 16, 20,   // a = 0
                                            1, 5, 9,  13, 17, 21,   // a = 1
                                            2, 6, 10, 14, 18, 22,   // a = 2
                                            3, 7, 11, 15, 19, 23});  // a = 3
    REQUIRE(out.at({3, 1, 2}) == 23.0);
    REQUIRE(out.at({1, 0, 2}) == 9.0);
  }
  SECTION("rank 3, perm [1, 2, 0]: out[a][b][c] = x[c][a][b]") {
    Tensor out = evalOp(OpKind::Transpose, {x}, {{"perm", std::vector<int64_t>{1, 2, 0}}});
    REQUIRE(out.type == TensorType::f32({3, 4, 2}));
    REQUIRE(out.data == std::vector<double>{0, 12, 1, 13, 2,  14, 3,  15,    // a = 0
                                            4, 16, 5, 17, 6,  18, 7,  19,    // a = 1
                                            8, 20, 9, 21, 10, 22, 11, 23});  // a = 2
  }
  SECTION("rank 3, perm [0, 2, 1]: out[i][k][j] = x[i][j][k]") {
    Tensor out = evalOp(OpKind::Transpose, {x}, {{"perm", std::vector<int64_t>{0, 2, 1}}});
    REQUIRE(out.type == TensorType::f32({2, 4, 3}));
    REQUIRE(out.data == std::vector<double>{0,  4,  8,  1,  5,  9,  2,  6,  10, 3,  7,  11,
                                            12, 16, 20, 13, 17, 21, 14, 18, 22, 15, 19, 23});
  }
  SECTION("identity permutation") {
    Tensor out = evalOp(OpKind::Transpose, {f32({2, 2}, {1, 2, 3, 4})}, {{"perm", std::vector<int64_t>{0, 1}}});
    REQUIRE(out.data == std::vector<double>{1, 2, 3, 4});
  }
}

TEST_CASE("concat", "[interpreter][shape]") {
  SECTION("three operands along axis 0") {
    Tensor out = evalOp(OpKind::Concat, {f32({1, 2}, {1, 2}), f32({2, 2}, {3, 4, 5, 6}), f32({1, 2}, {7, 8})},
                        {{"axis", int64_t{0}}});
    REQUIRE(out.type == TensorType::f32({4, 2}));
    REQUIRE(out.data == std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8});
  }
  SECTION("three operands along axis 1") {
    Tensor out = evalOp(OpKind::Concat,
                        {f32({2, 1}, {1, 2}), f32({2, 2}, {3, 4, 5, 6}), f32({2, 3}, {7, 8, 9, 10, 11, 12})},
                        {{"axis", int64_t{1}}});
    REQUIRE(out.type == TensorType::f32({2, 6}));
    REQUIRE(out.data == std::vector<double>{1, 3, 4, 7, 8, 9,  //
                                            2, 5, 6, 10, 11, 12});
  }
  SECTION("vectors") {
    Tensor out = evalOp(OpKind::Concat, {f32({2}, {1, 2}), f32({1}, {3}), f32({3}, {4, 5, 6})}, {{"axis", int64_t{0}}});
    REQUIRE(out.type == TensorType::f32({6}));
    REQUIRE(out.data == std::vector<double>{1, 2, 3, 4, 5, 6});
  }
  SECTION("one operand is the identity") {
    Tensor out = evalOp(OpKind::Concat, {f32({2, 2}, {1, 2, 3, 4})}, {{"axis", int64_t{1}}});
    REQUIRE(out.data == std::vector<double>{1, 2, 3, 4});
  }
  SECTION("i1 operands") {
    Tensor out = evalOp(OpKind::Concat, {i1({1}, {1}), i1({2}, {0, 1})}, {{"axis", int64_t{0}}});
    REQUIRE(out.type == TensorType::i1({3}));
    REQUIRE(out.data == std::vector<double>{1, 0, 1});
  }
}

TEST_CASE("slice", "[interpreter][shape]") {
  // x[i][j] = 4 i + j
  const Tensor x = f32({3, 4}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  auto slice = [&](std::vector<int64_t> start, std::vector<int64_t> limit) {
    return evalOp(OpKind::Slice, {x}, {{"start", std::move(start)}, {"limit", std::move(limit)}});
  };
  SECTION("an interior block") {
    Tensor out = slice({1, 1}, {3, 3});
    REQUIRE(out.type == TensorType::f32({2, 2}));
    REQUIRE(out.data == std::vector<double>{5, 6, 9, 10});
  }
  SECTION("the last two columns") {
    Tensor out = slice({0, 2}, {3, 4});
    REQUIRE(out.type == TensorType::f32({3, 2}));
    REQUIRE(out.data == std::vector<double>{2, 3, 6, 7, 10, 11});
  }
  SECTION("one row") {
    Tensor out = slice({2, 0}, {3, 4});
    REQUIRE(out.type == TensorType::f32({1, 4}));
    REQUIRE(out.data == std::vector<double>{8, 9, 10, 11});
  }
  SECTION("one element") {
    Tensor out = slice({1, 3}, {2, 4});
    REQUIRE(out.data == std::vector<double>{7});
  }
  SECTION("everything") {
    REQUIRE(slice({0, 0}, {3, 4}).data == std::vector<double>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  }
}

TEST_CASE("pad fills with zeros", "[interpreter][shape]") {
  const Tensor x = f32({2, 2}, {1, 2, 3, 4});
  auto pad = [](const Tensor &in, std::vector<int64_t> low, std::vector<int64_t> high) {
    return evalOp(OpKind::Pad, {in}, {{"low", std::move(low)}, {"high", std::move(high)}});
  };
  SECTION("a row before, two columns after") {
    Tensor out = pad(x, {1, 0}, {0, 2});
    REQUIRE(out.type == TensorType::f32({3, 4}));
    REQUIRE(out.data == std::vector<double>{0, 0, 0, 0,  //
                                            1, 2, 0, 0,  //
                                            3, 4, 0, 0});
  }
  SECTION("a column on each side, a row after") {
    Tensor out = pad(x, {0, 1}, {1, 1});
    REQUIRE(out.type == TensorType::f32({3, 4}));
    REQUIRE(out.data == std::vector<double>{0, 1, 2, 0,  //
                                            0, 3, 4, 0,  //
                                            0, 0, 0, 0});
  }
  SECTION("a vector") {
    Tensor out = pad(f32({2}, {5, 6}), {2}, {1});
    REQUIRE(out.type == TensorType::f32({5}));
    REQUIRE(out.data == std::vector<double>{0, 0, 5, 6, 0});
  }
  SECTION("no padding is the identity") {
    REQUIRE(pad(x, {0, 0}, {0, 0}).data == std::vector<double>{1, 2, 3, 4});
  }
}

// ---------------------------------------------------------------------------------------------------------------
// linear algebra

TEST_CASE("matmul with every transpose combination", "[interpreter][matmul]") {
  // A is 2x3, B is 3x4; A B = [[10, -4, 4, 6], [22, -7, 13, 12]] by hand:
  //   row 0: [1+0+9, 0+2-6, 2+2+0, -1+4+3]     row 1: [4+0+18, 0+5-12, 8+5+0, -4+10+6]
  const Tensor A = f32({2, 3}, {1, 2, 3,  //
                                4, 5, 6});
  const Tensor At = f32({3, 2}, {1, 4,  //
                                 2, 5,  //
                                 3, 6});
  const Tensor B = f32({3, 4}, {1, 0, 2, -1,  //
                                0, 1, 1, 2,   //
                                3, -2, 0, 1});
  const Tensor Bt = f32({4, 3}, {1, 0, 3,   //
                                 0, 1, -2,  //
                                 2, 1, 0,   //
                                 -1, 2, 1});
  const std::vector<double> AB{10, -4, 4, 6,  //
                               22, -7, 13, 12};
  auto mm = [](const Tensor &a, const Tensor &b, bool ta, bool tb) {
    Tensor out = evalOp(OpKind::Matmul, {a, b}, {{"transpose_a", ta}, {"transpose_b", tb}});
    REQUIRE(out.type == TensorType::f32({2, 4}));
    return out.data;
  };
  SECTION("A B") { REQUIRE(mm(A, B, false, false) == AB); }
  SECTION("transpose_a: (At)^T B") { REQUIRE(mm(At, B, true, false) == AB); }
  SECTION("transpose_b: A (Bt)^T") { REQUIRE(mm(A, Bt, false, true) == AB); }
  SECTION("both: (At)^T (Bt)^T") { REQUIRE(mm(At, Bt, true, true) == AB); }
  SECTION("default attributes mean no transposition") {
    Tensor out = evalOp(OpKind::Matmul, {A, B});
    REQUIRE(out.data == AB);
  }
}

TEST_CASE("matmul: other shapes", "[interpreter][matmul]") {
  SECTION("A^T A for a 2x3 A is 3x3 (transpose_a on the same operand)") {
    const Tensor A = f32({2, 3}, {1, 2, 3, 4, 5, 6});
    Tensor out = evalOp(OpKind::Matmul, {A, A}, {{"transpose_a", true}});
    REQUIRE(out.type == TensorType::f32({3, 3}));
    // [1 4; 2 5; 3 6] [1 2 3; 4 5 6]
    REQUIRE(out.data == std::vector<double>{17, 22, 27,  //
                                            22, 29, 36,  //
                                            27, 36, 45});
  }
  SECTION("A A^T for a 2x3 A is 2x2 (transpose_b on the same operand)") {
    const Tensor A = f32({2, 3}, {1, 2, 3, 4, 5, 6});
    Tensor out = evalOp(OpKind::Matmul, {A, A}, {{"transpose_b", true}});
    REQUIRE(out.type == TensorType::f32({2, 2}));
    REQUIRE(out.data == std::vector<double>{14, 32, 32, 77});
  }
  SECTION("outer product: 3x1 times 1x2") {
    Tensor out = evalOp(OpKind::Matmul, {f32({3, 1}, {1, 2, 3}), f32({1, 2}, {4, 5})});
    REQUIRE(out.type == TensorType::f32({3, 2}));
    REQUIRE(out.data == std::vector<double>{4, 5, 8, 10, 12, 15});
  }
  SECTION("inner product: 1x3 times 3x1") {
    Tensor out = evalOp(OpKind::Matmul, {f32({1, 3}, {1, 2, 3}), f32({3, 1}, {4, -5, 6})});
    REQUIRE(out.type == TensorType::f32({1, 1}));
    REQUIRE(out.data == std::vector<double>{12});
  }
  SECTION("Builder::matmul shorthand") {
    Function f;
    f.name = "f";
    Builder b(f);
    Value x = b.param("x", TensorType::f32({1, 2}), ParamRole::Input);
    Value w = b.param("w", TensorType::f32({3, 2}), ParamRole::Param);
    b.result("y", b.matmul(x, w, false, true));
    std::vector<Tensor> args{f32({1, 2}, {1, -1}), f32({3, 2}, {5, 2, 0, 1, -3, -3})};
    std::vector<Tensor> out = evaluate(f, args);
    REQUIRE(out[0].type == TensorType::f32({1, 3}));
    REQUIRE(out[0].data == std::vector<double>{3, -1, 0});
  }
}

// ---------------------------------------------------------------------------------------------------------------
// reductions

namespace {
Tensor reduce(OpKind kind, const Tensor &x, std::vector<int64_t> axes) {
  return evalOp(kind, {x}, {{"axes", std::move(axes)}});
}
}  // namespace

TEST_CASE("reductions of a matrix", "[interpreter][reduce]") {
  const Tensor x = f32({2, 3}, {1, 2, 3,  //
                                4, 5, 6});
  SECTION("reduce_sum") {
    Tensor r0 = reduce(OpKind::ReduceSum, x, {0});
    REQUIRE(r0.type == TensorType::f32({3}));
    REQUIRE(r0.data == std::vector<double>{5, 7, 9});
    Tensor r1 = reduce(OpKind::ReduceSum, x, {1});
    REQUIRE(r1.type == TensorType::f32({2}));
    REQUIRE(r1.data == std::vector<double>{6, 15});
    Tensor all = reduce(OpKind::ReduceSum, x, {0, 1});
    REQUIRE(all.type == TensorType::f32({}));
    REQUIRE(all.data == std::vector<double>{21});
    Tensor none = reduce(OpKind::ReduceSum, x, {});
    REQUIRE(none.type == TensorType::f32({2, 3}));
    REQUIRE(none.data == std::vector<double>{1, 2, 3, 4, 5, 6});
  }
  SECTION("reduce_mean") {
    REQUIRE(reduce(OpKind::ReduceMean, x, {0}).data == std::vector<double>{2.5, 3.5, 4.5});
    REQUIRE(reduce(OpKind::ReduceMean, x, {1}).data == std::vector<double>{2, 5});
    Tensor all = reduce(OpKind::ReduceMean, x, {0, 1});
    REQUIRE(all.type == TensorType::f32({}));
    REQUIRE(all.data == std::vector<double>{3.5});
    Tensor none = reduce(OpKind::ReduceMean, x, {});
    REQUIRE(none.type == TensorType::f32({2, 3}));
    REQUIRE(none.data == std::vector<double>{1, 2, 3, 4, 5, 6});
  }
  SECTION("reduce_max on negative values (the start value must not leak in)") {
    const Tensor n = f32({2, 3}, {-1, -5, -3,  //
                                  -4, -2, -6});
    REQUIRE(reduce(OpKind::ReduceMax, n, {0}).data == std::vector<double>{-1, -2, -3});
    REQUIRE(reduce(OpKind::ReduceMax, n, {1}).data == std::vector<double>{-1, -2});
    Tensor all = reduce(OpKind::ReduceMax, n, {0, 1});
    REQUIRE(all.type == TensorType::f32({}));
    REQUIRE(all.data == std::vector<double>{-1});
    Tensor none = reduce(OpKind::ReduceMax, n, {});
    REQUIRE(none.type == TensorType::f32({2, 3}));
    REQUIRE(none.data == std::vector<double>{-1, -5, -3, -4, -2, -6});
    REQUIRE(reduce(OpKind::ReduceMax, f32({2}, {-kInf, -kInf}), {0}).data == std::vector<double>{-kInf});
  }
}

TEST_CASE("reductions of a rank-3 tensor over one, several and all axes", "[interpreter][reduce]") {
  // x[i][j][k] = 12 i + 4 j + k, shape [2,3,4].
  const Tensor x = f32({2, 3, 4}, {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                   12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23});
  SECTION("reduce_sum") {
    // over i: x[0][j][k] + x[1][j][k] = 2 (4 j + k) + 12
    Tensor a0 = reduce(OpKind::ReduceSum, x, {0});
    REQUIRE(a0.type == TensorType::f32({3, 4}));
    REQUIRE(a0.data == std::vector<double>{12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34});
    // over j: (12 i + k) + (12 i + 4 + k) + (12 i + 8 + k) = 36 i + 3 k + 12
    Tensor a1 = reduce(OpKind::ReduceSum, x, {1});
    REQUIRE(a1.type == TensorType::f32({2, 4}));
    REQUIRE(a1.data == std::vector<double>{12, 15, 18, 21, 48, 51, 54, 57});
    // over k: 48 i + 16 j + 6
    Tensor a2 = reduce(OpKind::ReduceSum, x, {2});
    REQUIRE(a2.type == TensorType::f32({2, 3}));
    REQUIRE(a2.data == std::vector<double>{6, 22, 38, 54, 70, 86});
    // over i and k: j = 0 is 0+1+2+3 + 12+13+14+15 = 60, and each j adds 8 * 4 = 32
    Tensor a02 = reduce(OpKind::ReduceSum, x, {0, 2});
    REQUIRE(a02.type == TensorType::f32({3}));
    REQUIRE(a02.data == std::vector<double>{60, 92, 124});
    // over j and k: 0+...+11 = 66 and 12+...+23 = 210
    Tensor a12 = reduce(OpKind::ReduceSum, x, {1, 2});
    REQUIRE(a12.type == TensorType::f32({2}));
    REQUIRE(a12.data == std::vector<double>{66, 210});
    // over i and j: k = 0 is 0+4+8+12+16+20 = 60, and each k adds 6
    Tensor a01 = reduce(OpKind::ReduceSum, x, {0, 1});
    REQUIRE(a01.type == TensorType::f32({4}));
    REQUIRE(a01.data == std::vector<double>{60, 66, 72, 78});
    // all: 0+...+23 = 276
    Tensor all = reduce(OpKind::ReduceSum, x, {0, 1, 2});
    REQUIRE(all.type == TensorType::f32({}));
    REQUIRE(all.data == std::vector<double>{276});
    Tensor none = reduce(OpKind::ReduceSum, x, {});
    REQUIRE(none.type == TensorType::f32({2, 3, 4}));
    REQUIRE(none.data == x.data);
  }
  SECTION("reduce_mean divides by the number of reduced elements") {
    REQUIRE(reduce(OpKind::ReduceMean, x, {0}).data ==
            std::vector<double>{6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17});
    REQUIRE(reduce(OpKind::ReduceMean, x, {1}).data == std::vector<double>{4, 5, 6, 7, 16, 17, 18, 19});
    REQUIRE(reduce(OpKind::ReduceMean, x, {2}).data == std::vector<double>{1.5, 5.5, 9.5, 13.5, 17.5, 21.5});
    REQUIRE(reduce(OpKind::ReduceMean, x, {0, 2}).data == std::vector<double>{7.5, 11.5, 15.5});  // / 8
    REQUIRE(reduce(OpKind::ReduceMean, x, {1, 2}).data == std::vector<double>{5.5, 17.5});        // / 12
    REQUIRE(reduce(OpKind::ReduceMean, x, {0, 1}).data == std::vector<double>{10, 11, 12, 13});   // / 6
    REQUIRE(reduce(OpKind::ReduceMean, x, {0, 1, 2}).data == std::vector<double>{11.5});          // / 24
    REQUIRE(reduce(OpKind::ReduceMean, x, {}).data == x.data);
  }
  SECTION("reduce_max") {
    REQUIRE(reduce(OpKind::ReduceMax, x, {0}).data ==
            std::vector<double>{12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23});
    REQUIRE(reduce(OpKind::ReduceMax, x, {1}).data == std::vector<double>{8, 9, 10, 11, 20, 21, 22, 23});
    REQUIRE(reduce(OpKind::ReduceMax, x, {2}).data == std::vector<double>{3, 7, 11, 15, 19, 23});
    REQUIRE(reduce(OpKind::ReduceMax, x, {0, 2}).data == std::vector<double>{15, 19, 23});
    REQUIRE(reduce(OpKind::ReduceMax, x, {1, 2}).data == std::vector<double>{11, 23});
    REQUIRE(reduce(OpKind::ReduceMax, x, {0, 1}).data == std::vector<double>{20, 21, 22, 23});
    REQUIRE(reduce(OpKind::ReduceMax, x, {0, 1, 2}).data == std::vector<double>{23});
    REQUIRE(reduce(OpKind::ReduceMax, x, {}).data == x.data);
  }
  SECTION("reduce_max where the maximum is not last") {
    // y[i][j][k] = 23 - x[i][j][k]
    const Tensor y = f32({2, 3, 4}, {23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12,
                                     11, 10, 9,  8,  7,  6,  5,  4,  3,  2,  1,  0});
    REQUIRE(reduce(OpKind::ReduceMax, y, {0, 2}).data == std::vector<double>{23, 19, 15});
    REQUIRE(reduce(OpKind::ReduceMax, y, {1}).data == std::vector<double>{23, 22, 21, 20, 11, 10, 9, 8});
  }
}

TEST_CASE("reduce_max propagates NaN", "[interpreter][reduce][nan]") {
  // A NaN first in its group and a NaN last in its group: either way the group's maximum is NaN.
  const Tensor x = f32({2, 3}, {kNaN, 1, 2,  //
                                3, 4, kNaN});
  requireClose(reduce(OpKind::ReduceMax, x, {1}).data, {kNaN, kNaN});
  requireClose(reduce(OpKind::ReduceMax, x, {0}).data, {kNaN, 4, kNaN});
  requireClose(reduce(OpKind::ReduceMax, x, {0, 1}).data, {kNaN});
  requireClose(reduce(OpKind::ReduceMax, f32({3}, {1, kNaN, 2}), {0}).data, {kNaN});
  // reduce_sum and reduce_mean propagate NaN by arithmetic.
  requireClose(reduce(OpKind::ReduceSum, x, {1}).data, {kNaN, kNaN});
  requireClose(reduce(OpKind::ReduceMean, x, {0}).data, {kNaN, 2.5, kNaN});
}

// ---------------------------------------------------------------------------------------------------------------
// whole functions and argument checking

TEST_CASE("a function of several ops binds arguments in parameter order", "[interpreter]") {
  // f(x, y) = (x - y, sum(x * y))
  Function f;
  f.name = "f";
  Builder b(f);
  Value x = b.param("x", TensorType::f32({3}), ParamRole::Input);
  Value y = b.param("y", TensorType::f32({3}), ParamRole::Param);
  b.result("diff", b.sub(x, y));
  b.result("dot", b.reduce(OpKind::ReduceSum, b.mul(x, y), {0}));
  std::vector<Tensor> args{f32({3}, {1, 2, 3}), f32({3}, {10, 20, 30})};
  std::vector<Tensor> out = evaluate(f, args);
  REQUIRE(out.size() == 2);
  REQUIRE(out[0].data == std::vector<double>{-9, -18, -27});
  REQUIRE(out[1].type == TensorType::f32({}));
  REQUIRE(out[1].data == std::vector<double>{140});
}

TEST_CASE("a parameter can be a result directly", "[interpreter]") {
  Function f;
  f.name = "f";
  Builder b(f);
  Value x = b.param("x", TensorType::f32({2}), ParamRole::State);
  b.result("x", x);
  std::vector<Tensor> args{f32({2}, {3, 4})};
  std::vector<Tensor> out = evaluate(f, args);
  REQUIRE(out.size() == 1);
  REQUIRE(out[0].data == std::vector<double>{3, 4});
}

TEST_CASE("evaluate rejects wrong arguments", "[interpreter]") {
  Function f;
  f.name = "f";
  Builder b(f);
  Value x = b.param("x", TensorType::f32({2}), ParamRole::Input);
  Value z = b.param("z", TensorType::f32({2}), ParamRole::Random, RandomDist{RandomDist::Kind::Normal, 0.0, 1.0});
  b.result("y", b.add(x, z));

  const Tensor good = f32({2}, {1, 2});
  SECTION("the right arguments work (random parameters are given by the caller)") {
    std::vector<Tensor> args{good, f32({2}, {0.5, -0.5})};
    REQUIRE(evaluate(f, args)[0].data == std::vector<double>{1.5, 1.5});
  }
  SECTION("too few arguments") {
    std::vector<Tensor> args{good};
    REQUIRE_THROWS_AS(evaluate(f, args), std::invalid_argument);
    REQUIRE_THROWS_AS(evaluate(f, {}), std::invalid_argument);
  }
  SECTION("too many arguments") {
    std::vector<Tensor> args{good, good, good};
    REQUIRE_THROWS_AS(evaluate(f, args), std::invalid_argument);
  }
  SECTION("wrong shape") {
    std::vector<Tensor> args{good, f32({3}, {1, 2, 3})};
    REQUIRE_THROWS_AS(evaluate(f, args), std::invalid_argument);
    std::vector<Tensor> args2{f32({1, 2}, {1, 2}), good};
    REQUIRE_THROWS_AS(evaluate(f, args2), std::invalid_argument);
    std::vector<Tensor> args3{f32({}, {1}), good};
    REQUIRE_THROWS_AS(evaluate(f, args3), std::invalid_argument);
  }
  SECTION("wrong element type") {
    std::vector<Tensor> args{i1({2}, {1, 0}), good};
    REQUIRE_THROWS_AS(evaluate(f, args), std::invalid_argument);
  }
  SECTION("right type but the wrong number of values") {
    std::vector<Tensor> args{good, Tensor{TensorType::f32({2}), {1, 2, 3}}};
    REQUIRE_THROWS_AS(evaluate(f, args), std::invalid_argument);
  }
}

TEST_CASE("Tensor helpers", "[interpreter]") {
  REQUIRE(Tensor::zeros(TensorType::f32({2, 2})).data == std::vector<double>{0, 0, 0, 0});
  REQUIRE(Tensor::scalar(3.5).type == TensorType::f32({}));
  REQUIRE(Tensor::scalar(3.5).data == std::vector<double>{3.5});
  REQUIRE_THROWS_AS(Tensor::f32({2, 2}, {1, 2, 3}), std::invalid_argument);
  REQUIRE(f32({2, 3}, {1, 2, 3, 4, 5, 6}).at({1, 2}) == 6.0);
}

// ---------------------------------------------------------------------------------------------------------------
// a whole function read from text: one Adam step (tests/ir/optimizer_step.gir, lr 1e-3, betas 0.5 and 0.999)

TEST_CASE("one Adam step from zero state moves each weight by lr * g / (|g| + eps)", "[interpreter][text]") {
  const char *testsDir = std::getenv("GANTRY_TESTS_DIR");
  REQUIRE(testsDir != nullptr);
  std::string path = std::string(testsDir) + "/ir/optimizer_step.gir";
  Module m = parseModule(gantry::readFile(path), path);
  const Function &f = *m.find("adam_update");
  std::vector<Tensor> args = {
      f32({3, 2}, {1, 2, 3, 4, 5, 6}),               // w
      f32({3, 2}, {0.5, -0.5, 2, -2, 1e-3, 0}),      // grad
      f32({3, 2}, {0, 0, 0, 0, 0, 0}),               // m
      f32({3, 2}, {0, 0, 0, 0, 0, 0}),               // v
      Tensor::scalar(0),                             // t
  };
  std::vector<Tensor> out = evaluate(f, args);
  // After bias correction m̂ = g and v̂ = g², so the step is 1e-3 * g / (|g| + 1e-8).
  requireClose(out[0].data, {1 - 0.001 * 0.5 / 0.50000001, 2 + 0.001 * 0.5 / 0.50000001, 3 - 0.001 * 2 / 2.00000001,
                             4 + 0.001 * 2 / 2.00000001, 5 - 0.001 * 1e-3 / 0.00100001, 6});
  requireClose(out[1].data, {0.25, -0.25, 1, -1, 5e-4, 0});                  // m = 0.5 g
  requireClose(out[2].data, {0.25e-3, 0.25e-3, 4e-3, 4e-3, 1e-9, 0});       // v = 0.001 g²
  CHECK(out[3].data == std::vector<double>{1});                             // t
}
