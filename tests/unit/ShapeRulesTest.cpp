// Shape rules of every op (through the same entry point the builder, parser and verifier use), attribute
// checking, and the verifier's messages for malformed functions built by hand.
#include <catch2/catch.hpp>

#include <set>

#include "ir/Builder.h"
#include "ir/Ops.h"
#include "ir/Verifier.h"

using namespace gantry::ir;

namespace {

TensorType f32(Shape s) { return TensorType::f32(std::move(s)); }
TensorType i1(Shape s) { return TensorType::i1(std::move(s)); }

// The result type's text, or "error: <message>".
std::string infer(OpKind kind, std::vector<TensorType> operands, Attrs attrs = {},
                  std::optional<TensorType> declared = std::nullopt) {
  const OpDef &def = opDef(kind);
  if (std::string err = normalizeAttrs(def, attrs); !err.empty()) return "error: " + err;
  InferResult r = inferType(def, operands, attrs, declared ? &*declared : nullptr);
  return r.type ? r.type->str() : "error: " + r.error;
}

}  // namespace

TEST_CASE("every op in the table has a unique name and reads back by name", "[ops]") {
  std::set<std::string> names;
  for (const OpDef &d : allOps()) {
    CHECK(names.insert(d.name).second);
    REQUIRE(opByName(d.name) == d.kind);
    CHECK(opName(d.kind) == std::string(d.name));
  }
  CHECK(names.size() == 35);
  CHECK_FALSE(opByName("matmull").has_value());
}

TEST_CASE("unary ops keep the operand's type and need f32", "[ops]") {
  for (OpKind k : {OpKind::StopGradient, OpKind::Neg, OpKind::Exp, OpKind::Expm1, OpKind::Log, OpKind::Log1p,
                   OpKind::Sqrt, OpKind::Rsqrt, OpKind::Tanh, OpKind::Sigmoid, OpKind::Relu, OpKind::Abs,
                   OpKind::Sign, OpKind::Softplus, OpKind::Square}) {
    INFO(opName(k));
    CHECK(infer(k, {f32({3, 4})}) == "f32[3,4]");
    CHECK(infer(k, {f32({})}) == "f32[]");
    CHECK(infer(k, {i1({3})}) == "error: operand must be f32, found i1[3]");
    CHECK(infer(k, {}) == "error: expected 1 operand, found 0");
    CHECK(infer(k, {f32({3}), f32({3})}) == "error: expected 1 operand, found 2");
  }
}

TEST_CASE("binary ops need two f32 operands of one shape", "[ops]") {
  for (OpKind k : {OpKind::Add, OpKind::Sub, OpKind::Mul, OpKind::Div, OpKind::Max, OpKind::Min, OpKind::Pow}) {
    INFO(opName(k));
    CHECK(infer(k, {f32({2, 5}), f32({2, 5})}) == "f32[2,5]");
    CHECK(infer(k, {f32({}), f32({})}) == "f32[]");
    CHECK(infer(k, {f32({2, 5}), f32({5})}) ==
          "error: operand shapes differ: f32[2,5] vs f32[5] (broadcast explicitly)");
    CHECK(infer(k, {f32({2}), i1({2})}) == "error: operands must be f32, found f32[2], i1[2]");
    CHECK(infer(k, {f32({2})}) == "error: expected 2 operands, found 1");
  }
}

TEST_CASE("compare gives i1 and takes one of six predicates", "[ops]") {
  for (const char *pred : {"eq", "ne", "lt", "le", "gt", "ge"})
    CHECK(infer(OpKind::Compare, {f32({4}), f32({4})}, {{"pred", Symbol{pred}}}) == "i1[4]");
  CHECK(infer(OpKind::Compare, {f32({4}), f32({4})}) == "error: missing attribute 'pred'");
  CHECK(infer(OpKind::Compare, {f32({4}), f32({4})}, {{"pred", Symbol{"gte"}}}) ==
        "error: attribute 'pred' must be one of eq, ne, lt, le, gt, ge, found 'gte'");
  CHECK(infer(OpKind::Compare, {f32({4}), f32({4})}, {{"pred", int64_t{1}}}) ==
        "error: attribute 'pred' must be symbol, found integer");
  CHECK(infer(OpKind::Compare, {f32({4}), f32({3})}, {{"pred", Symbol{"lt"}}}) ==
        "error: operand shapes differ: f32[4] vs f32[3] (broadcast explicitly)");
}

TEST_CASE("select takes an i1 condition and two branches of one type", "[ops]") {
  CHECK(infer(OpKind::Select, {i1({2, 3}), f32({2, 3}), f32({2, 3})}) == "f32[2,3]");
  CHECK(infer(OpKind::Select, {i1({2}), i1({2}), i1({2})}) == "i1[2]");
  CHECK(infer(OpKind::Select, {f32({2}), f32({2}), f32({2})}) == "error: condition must be i1, found f32[2]");
  CHECK(infer(OpKind::Select, {i1({2}), f32({2}), f32({3})}) == "error: branch types differ: f32[2] vs f32[3]");
  CHECK(infer(OpKind::Select, {i1({3}), f32({2}), f32({2})}) ==
        "error: condition shape [3] differs from branch shape [2]");
}

TEST_CASE("constant checks its value against its declared type", "[ops]") {
  CHECK(infer(OpKind::Constant, {}, {{"value", 1.5}}, f32({2, 2})) == "f32[2,2]");
  CHECK(infer(OpKind::Constant, {}, {{"value", std::vector<double>{1, 2, 3, 4}}}, f32({2, 2})) == "f32[2,2]");
  CHECK(infer(OpKind::Constant, {}, {{"value", std::vector<double>{1, 2, 3}}}, f32({2, 2})) ==
        "error: value has 3 elements, type f32[2,2] has 4");
  CHECK(infer(OpKind::Constant, {}, {{"value", 1.0}}, i1({2})) == "i1[2]");
  CHECK(infer(OpKind::Constant, {}, {{"value", 0.5}}, i1({2})) == "error: i1 constant values must be 0 or 1, found 0.5");
  CHECK(infer(OpKind::Constant, {}, {{"value", 1.0}}) == "error: the result type must be given");
  CHECK(infer(OpKind::Constant, {}, {}, f32({})) == "error: missing attribute 'value'");
  CHECK(infer(OpKind::Constant, {}, {{"value", true}}, f32({})) == "error: attribute 'value' must be float, found bool");
  CHECK(infer(OpKind::Constant, {f32({})}, {{"value", 1.0}}, f32({})) == "error: expected 0 operands, found 1");
}

TEST_CASE("broadcast maps operand dimensions into the declared result", "[ops]") {
  CHECK(infer(OpKind::Broadcast, {f32({})}, {{"dims", std::vector<int64_t>{}}}, f32({4, 3})) == "f32[4,3]");
  CHECK(infer(OpKind::Broadcast, {f32({3})}, {{"dims", std::vector<int64_t>{1}}}, f32({4, 3})) == "f32[4,3]");
  CHECK(infer(OpKind::Broadcast, {f32({4})}, {{"dims", std::vector<int64_t>{0}}}, f32({4, 3})) == "f32[4,3]");
  CHECK(infer(OpKind::Broadcast, {f32({3})}, {{"dims", std::vector<int64_t>{0}}}, f32({4, 3})) ==
        "error: operand dimension 0 has size 3, result dimension 0 has size 4");
  CHECK(infer(OpKind::Broadcast, {f32({3})}, {{"dims", std::vector<int64_t>{2}}}, f32({4, 3})) ==
        "error: dims[0] = 2 is out of range for result rank 2");
  CHECK(infer(OpKind::Broadcast, {f32({3, 3})}, {{"dims", std::vector<int64_t>{1, 0}}}, f32({3, 3})) ==
        "error: dims must be strictly increasing");
  CHECK(infer(OpKind::Broadcast, {f32({3})}, {{"dims", std::vector<int64_t>{0, 1}}}, f32({3, 3})) ==
        "error: dims has 2 entries, operand f32[3] has rank 1");
  CHECK(infer(OpKind::Broadcast, {i1({3})}, {{"dims", std::vector<int64_t>{0}}}, f32({3, 2})) ==
        "error: result type f32[3,2] has another element type than operand i1[3]");
}

TEST_CASE("reshape keeps the element count", "[ops]") {
  CHECK(infer(OpKind::Reshape, {f32({4, 3})}, {}, f32({12})) == "f32[12]");
  CHECK(infer(OpKind::Reshape, {f32({1})}, {}, f32({})) == "f32[]");
  CHECK(infer(OpKind::Reshape, {f32({4, 3})}, {}, f32({5, 2})) ==
        "error: cannot reshape f32[4,3] (12 elements) to f32[5,2] (10 elements)");
}

TEST_CASE("transpose permutes dimensions", "[ops]") {
  CHECK(infer(OpKind::Transpose, {f32({2, 3, 4})}, {{"perm", std::vector<int64_t>{2, 0, 1}}}) == "f32[4,2,3]");
  CHECK(infer(OpKind::Transpose, {f32({2, 3})}, {{"perm", std::vector<int64_t>{1, 1}}}) ==
        "error: perm [1,1] is not a permutation of 0..1");
  CHECK(infer(OpKind::Transpose, {f32({2, 3})}, {{"perm", std::vector<int64_t>{0}}}) ==
        "error: perm has 1 entries, operand f32[2,3] has rank 2");
  CHECK(infer(OpKind::Transpose, {f32({2, 3})}) == "error: missing attribute 'perm'");
}

TEST_CASE("concat joins along one axis", "[ops]") {
  CHECK(infer(OpKind::Concat, {f32({2, 3}), f32({5, 3}), f32({1, 3})}, {{"axis", int64_t{0}}}) == "f32[8,3]");
  CHECK(infer(OpKind::Concat, {f32({2, 3}), f32({2, 1})}, {{"axis", int64_t{1}}}) == "f32[2,4]");
  CHECK(infer(OpKind::Concat, {f32({2, 3}), f32({2, 1})}, {{"axis", int64_t{0}}}) ==
        "error: operand 1 has type f32[2,1], which cannot be concatenated with f32[2,3] along axis 0");
  CHECK(infer(OpKind::Concat, {f32({2, 3})}, {{"axis", int64_t{2}}}) == "error: axis 2 is out of range for rank 2");
  CHECK(infer(OpKind::Concat, {}, {{"axis", int64_t{0}}}) == "error: expected at least 1 operands, found 0");
}

TEST_CASE("slice and pad", "[ops]") {
  Attrs slice{{"start", std::vector<int64_t>{1, 0}}, {"limit", std::vector<int64_t>{3, 2}}};
  CHECK(infer(OpKind::Slice, {f32({4, 2})}, slice) == "f32[2,2]");
  CHECK(infer(OpKind::Slice, {f32({2, 2})}, slice) ==
        "error: dimension 0: need 0 <= start < limit <= 2, found start 1, limit 3");
  CHECK(infer(OpKind::Slice, {f32({4})}, slice) == "error: start and limit need 1 entries for operand f32[4]");
  Attrs pad{{"low", std::vector<int64_t>{1, 0}}, {"high", std::vector<int64_t>{0, 2}}};
  CHECK(infer(OpKind::Pad, {f32({4, 2})}, pad) == "f32[5,4]");
  CHECK(infer(OpKind::Pad, {f32({4, 2})}, {{"low", std::vector<int64_t>{-1, 0}}, {"high", std::vector<int64_t>{0, 0}}}) ==
        "error: dimension 0: padding must be non-negative, found low -1, high 0");
}

TEST_CASE("matmul contracts according to its transpose flags", "[ops]") {
  CHECK(infer(OpKind::Matmul, {f32({4, 3}), f32({3, 5})}) == "f32[4,5]");
  CHECK(infer(OpKind::Matmul, {f32({3, 4}), f32({3, 5})}, {{"transpose_a", true}}) == "f32[4,5]");
  CHECK(infer(OpKind::Matmul, {f32({4, 3}), f32({5, 3})}, {{"transpose_b", true}}) == "f32[4,5]");
  CHECK(infer(OpKind::Matmul, {f32({3, 4}), f32({5, 3})}, {{"transpose_a", true}, {"transpose_b", true}}) == "f32[4,5]");
  CHECK(infer(OpKind::Matmul, {f32({4, 3}), f32({4, 5})}) ==
        "error: contracting dimensions differ: lhs f32[4,3] gives 3, rhs f32[4,5] gives 4");
  CHECK(infer(OpKind::Matmul, {f32({4, 3}), f32({3, 3})}, {{"transpose_a", true}}) ==
        "error: contracting dimensions differ: lhs f32[4,3] (transposed) gives 4, rhs f32[3,3] gives 3");
  CHECK(infer(OpKind::Matmul, {f32({4, 3}), f32({3, 4})}, {{"transpose_b", true}}) ==
        "error: contracting dimensions differ: lhs f32[4,3] gives 3, rhs f32[3,4] (transposed) gives 4");
  CHECK(infer(OpKind::Matmul, {f32({4}), f32({4, 3})}) == "error: operands must be rank-2 f32, found f32[4], f32[4,3]");
  CHECK(infer(OpKind::Matmul, {f32({4, 3}), f32({3, 5})}, {{"transpose_c", true}}) ==
        "error: unknown attribute 'transpose_c'");
}

TEST_CASE("reductions drop the reduced axes", "[ops]") {
  for (OpKind k : {OpKind::ReduceSum, OpKind::ReduceMean, OpKind::ReduceMax}) {
    INFO(opName(k));
    CHECK(infer(k, {f32({2, 3, 4})}, {{"axes", std::vector<int64_t>{1}}}) == "f32[2,4]");
    CHECK(infer(k, {f32({2, 3, 4})}, {{"axes", std::vector<int64_t>{0, 2}}}) == "f32[3]");
    CHECK(infer(k, {f32({2, 3})}, {{"axes", std::vector<int64_t>{0, 1}}}) == "f32[]");
    CHECK(infer(k, {f32({2, 3})}, {{"axes", std::vector<int64_t>{}}}) == "f32[2,3]");
    CHECK(infer(k, {f32({2, 3})}, {{"axes", std::vector<int64_t>{1, 0}}}) == "error: axes must be strictly increasing");
    CHECK(infer(k, {f32({2, 3})}, {{"axes", std::vector<int64_t>{2}}}) == "error: axis 2 is out of range for operand f32[2,3]");
    CHECK(infer(k, {i1({2})}, {{"axes", std::vector<int64_t>{0}}}) == "error: operand must be f32, found i1[2]");
  }
}

TEST_CASE("operand dimensions must be positive", "[ops]") {
  CHECK(infer(OpKind::Neg, {f32({0, 2})}) == "error: dimensions must be positive, found f32[0,2]");
}

TEST_CASE("the builder fills defaults and rejects ill-typed ops", "[builder]") {
  Function f;
  f.name = "f";
  Builder b(f);
  Value x = b.param("x", f32({4, 3}), ParamRole::Input);
  Value w = b.param("w", f32({3, 2}), ParamRole::Param);
  Value y = b.matmul(x, w);
  CHECK(f.type(y).str() == "f32[4,2]");
  CHECK(f.ops.back().attrs.getBool("transpose_a") == false);
  CHECK_THROWS_WITH(b.matmul(w, w), "matmul: contracting dimensions differ: lhs f32[3,2] gives 2, rhs f32[3,2] gives 3");
  CHECK_THROWS_WITH(b.param("u", f32({4}), ParamRole::Random), "parameter 'u': a distribution is given exactly for random parameters");
  CHECK(verify(f).empty());
}

// Functions assembled by hand, bypassing the builder, as a buggy pass might produce them.
TEST_CASE("the verifier names each problem and the value it is about", "[verifier]") {
  Function f;
  f.name = "f";
  Builder b(f);
  Value x = b.param("x", f32({4, 3}), ParamRole::Input);
  Value y = b.unary(OpKind::Exp, x);
  b.result("out", y);
  REQUIRE(verify(f).empty());

  SECTION("a result type that disagrees with the shape rule") {
    f.values[y.id].type = f32({4, 4});
    CHECK(verify(f) == std::vector<std::string>{"@f: %0 = exp: result type is f32[4,4], but the operands give f32[4,3]"});
  }
  SECTION("use before definition") {
    Value later = f.newValue(f32({4, 3}));
    f.ops[0].operands[0] = later;
    f.ops.push_back({OpKind::Neg, {x}, {}, later});
    CHECK(verify(f) == std::vector<std::string>{"@f: %0 = exp: operand %1 is used before it is defined"});
  }
  SECTION("a value defined twice") {
    f.ops.push_back(f.ops[0]);
    CHECK(verify(f) == std::vector<std::string>{"@f: %0 is defined more than once"});
  }
  SECTION("a dangling value id") {
    f.ops[0].operands[0] = Value{99};
    CHECK(verify(f) == std::vector<std::string>{"@f: refers to a value that does not exist"});
  }
  SECTION("a missing default attribute") {
    Value m = b.matmul(x, x, false, true);
    f.ops.back().attrs = Attrs{{"transpose_b", true}};
    (void)m;
    CHECK(verify(f) == std::vector<std::string>{"@f: %1 = matmul: attributes are not normalized (a default is missing)"});
  }
  SECTION("an unknown attribute") {
    f.ops[0].attrs.set("fast", true);
    CHECK(verify(f) == std::vector<std::string>{"@f: %0 = exp: unknown attribute 'fast'"});
  }
  SECTION("wrong operand count") {
    f.ops[0].operands.push_back(x);
    CHECK(verify(f) == std::vector<std::string>{"@f: %0 = exp: expected 1 operand, found 2"});
  }
  SECTION("duplicate and malformed names") {
    f.results.push_back({"out", y});
    f.results.push_back({"9lives", y});
    f.params.push_back(f.params[0]);
    CHECK(verify(f) == std::vector<std::string>{
                           "@f: parameter %x is defined more than once",
                           "@f: %x is defined more than once",
                           "@f: result 'out' is returned more than once",
                           "@f: result name '9lives' is not an identifier",
                       });
  }
  SECTION("a random parameter without a distribution, and a bad distribution") {
    f.params[0].role = ParamRole::Random;
    CHECK(verify(f) == std::vector<std::string>{"@f: parameter %x: a distribution is given exactly for random parameters"});
    f.params[0].dist = RandomDist{RandomDist::Kind::Uniform, 1.0, 0.0};
    CHECK(verify(f) == std::vector<std::string>{"@f: parameter %x: invalid distribution uniform(1.0, 0.0)"});
  }
  SECTION("duplicate functions in a module") {
    Module m;
    m.functions = {f, f};
    CHECK(verify(m) == std::vector<std::string>{"function @f is defined more than once"});
    CHECK_THROWS_WITH(verifyOrThrow(m), "invalid IR:\n  function @f is defined more than once");
  }
}
