#include "passes/Algebraic.h"

#include <algorithm>
#include <numeric>
#include <optional>

#include "passes/Rewriter.h"

namespace gantry::passes {
namespace {

using ir::OpKind;
using ir::Value;

// Matmuls over a contraction of at most this many terms become sums of outer products (shortContraction).
constexpr int64_t kShortContraction = 4;

class Simplifier {
 public:
  Simplifier(const ir::Function &old, Rewriter &rw) : old_(old), rw_(rw), b_(rw.builder()) {}

  // The value that replaces `op` (whose operands are already mapped into the new function), if a rule applies.
  std::optional<Value> simplify(const ir::Op &op, const std::vector<Value> &x) {
    switch (op.kind) {
      case OpKind::Add:
        if (is(x[1], 0)) return x[0];
        if (is(x[0], 0)) return x[1];
        return elementwiseOnBroadcasts(op, x);
      case OpKind::Sub:
        if (is(x[1], 0)) return x[0];
        if (is(x[0], 0)) return b_.unary(OpKind::Neg, x[1]);
        return elementwiseOnBroadcasts(op, x);
      case OpKind::Mul:
        if (is(x[1], 1)) return x[0];
        if (is(x[0], 1)) return x[1];
        if (is(x[1], -1)) return b_.unary(OpKind::Neg, x[0]);
        if (is(x[0], -1)) return b_.unary(OpKind::Neg, x[1]);
        return elementwiseOnBroadcasts(op, x);
      case OpKind::Div:
        if (is(x[1], 1)) return x[0];
        return elementwiseOnBroadcasts(op, x);
      case OpKind::Pow:
        if (is(x[1], 1)) return x[0];
        if (is(x[1], 2)) return b_.unary(OpKind::Square, x[0]);
        return elementwiseOnBroadcasts(op, x);
      case OpKind::Max:
      case OpKind::Min:
      case OpKind::Compare:
        return elementwiseOnBroadcasts(op, x);
      case OpKind::Neg:
        if (const ir::Op *inner = def(x[0]); inner && inner->kind == OpKind::Neg) return inner->operands[0];
        return unaryOnBroadcast(op, x[0]);
      case OpKind::Select:
        if (x[1] == x[2]) return x[1];
        if (std::optional<double> c = rw_.splatValue(x[0])) return *c != 0 ? x[1] : x[2];
        return std::nullopt;
      case OpKind::Transpose: return transpose(op, x[0]);
      case OpKind::Reshape: {
        const ir::TensorType want = typeOfOld(op.result);
        if (type(x[0]) == want) return x[0];
        if (const ir::Op *inner = def(x[0]); inner && inner->kind == OpKind::Reshape) {
          Value base = inner->operands[0];
          return type(base) == want ? base : b_.reshape(base, want.shape);
        }
        return std::nullopt;
      }
      case OpKind::Broadcast:
        if (type(x[0]) == typeOfOld(op.result)) return x[0];
        return std::nullopt;
      case OpKind::ReduceSum:
      case OpKind::ReduceMean:
      case OpKind::ReduceMax: return reduce(op, x[0]);
      case OpKind::Slice:
        if (type(x[0]) == typeOfOld(op.result)) return x[0];
        return std::nullopt;
      case OpKind::Pad:
        if (type(x[0]) == typeOfOld(op.result)) return x[0];
        return std::nullopt;
      case OpKind::Concat:
        if (x.size() == 1) return x[0];
        return std::nullopt;
      case OpKind::Matmul:
        if (auto r = outerProduct(op, x)) return r;
        return shortContraction(op, x);
      default:
        if (ir::opDef(op.kind).cls == ir::OpClass::Unary && op.kind != OpKind::StopGradient) return unaryOnBroadcast(op, x[0]);
        return std::nullopt;
    }
  }

 private:
  const ir::Op *def(Value v) const { return rw_.definingOp(v); }
  ir::TensorType type(Value v) const { return rw_.function().type(v); }
  // The type of a value of the old function (the result of the op being rewritten).
  ir::TensorType typeOfOld(Value v) const { return old_.type(v); }

  bool is(Value v, double c) const {
    std::optional<double> s = rw_.splatValue(v);
    return s && *s == c;
  }

  // transpose(transpose(x, p), q) = transpose(x, p∘q); the identity permutation is no op.
  std::optional<Value> transpose(const ir::Op &op, Value x) {
    std::vector<int64_t> perm = op.attrs.getInts("perm");
    if (const ir::Op *inner = def(x); inner && inner->kind == OpKind::Transpose) {
      const std::vector<int64_t> &p = inner->attrs.getInts("perm");
      std::vector<int64_t> composed(perm.size());
      for (size_t i = 0; i < perm.size(); ++i) composed[i] = p[perm[i]];
      Value base = inner->operands[0];
      if (isIdentity(composed)) return base;
      return b_.transpose(base, composed);
    }
    if (isIdentity(perm)) return x;
    return std::nullopt;
  }

  static bool isIdentity(const std::vector<int64_t> &perm) {
    for (size_t i = 0; i < perm.size(); ++i)
      if (perm[i] != static_cast<int64_t>(i)) return false;
    return true;
  }

  // Reductions over no axes, and reductions of a broadcast over exactly the axes the broadcast added.
  std::optional<Value> reduce(const ir::Op &op, Value x) {
    const std::vector<int64_t> &axes = op.attrs.getInts("axes");
    if (axes.empty()) return x;
    const ir::Op *inner = def(x);
    if (!inner || inner->kind != OpKind::Broadcast) return std::nullopt;
    const std::vector<int64_t> &dims = inner->attrs.getInts("dims");
    const ir::Shape shape = type(x).shape;
    std::vector<int64_t> added;
    double count = 1;
    for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d)
      if (std::find(dims.begin(), dims.end(), d) == dims.end()) {
        added.push_back(d);
        count *= static_cast<double>(shape[d]);
      }
    if (added != axes) return std::nullopt;
    Value base = inner->operands[0];
    if (op.kind != OpKind::ReduceSum || count == 1) return base;
    return b_.mul(base, b_.constant(count, type(base)));
  }

  // A product over a contraction of 1 is an outer product, C[i,j] = u[i] v[j] with u op(A)'s only column and v
  // op(B)'s only row: mul(broadcast u, broadcast v) computes it elementwise, so it joins the group that reads C
  // (fuse) and C is never stored (the gradient entering a 1-unit D head, g w^T, is one in every backward pass
  // through D). When one side is a splat c it is the other side (times c) broadcast: a column of ones times w^T
  // (a linear loss's or a penalty's gradient entering D's head) is w along every row. Exact, each element was
  // one product, up to the sign of a zero (the matmul's sum started at +0).
  std::optional<Value> outerProduct(const ir::Op &op, const std::vector<Value> &x) {
    const bool ta = op.attrs.getBool("transpose_a");
    const ir::Shape a = type(x[0]).shape, c = typeOfOld(op.result).shape;
    if ((ta ? a[0] : a[1]) != 1) return std::nullopt;
    for (int side = 0; side < 2; ++side) {
      std::optional<double> k = rw_.splatValue(x[static_cast<size_t>(side)]);
      if (!k) continue;
      // The other side's single row (of B) or column (of A), as a vector along C's columns or rows.
      const int64_t length = c[side == 0 ? 1 : 0];
      Value vector = b_.reshape(x[side == 0 ? 1 : 0], {length});
      if (*k != 1) vector = b_.mul(vector, b_.constant(*k, ir::TensorType::f32({length})));
      return b_.broadcast(vector, c, {side == 0 ? 1 : 0});
    }
    Value rows = b_.broadcast(b_.reshape(x[0], {c[0]}), c, {0});
    Value columns = b_.broadcast(b_.reshape(x[1], {c[1]}), c, {1});
    return b_.mul(rows, columns);
  }

  // A product over a short contraction (2 to kShortContraction terms: a 2-D sample times the first layer's
  // weights, a gradient through G's 2-D output layer) is a sum of that many outer products, one per term, added
  // in the order of the terms as the matmul's sum runs; like one outer product it then fuses with the group
  // that reads it (the bias and ReLU after a first layer), so its result is never stored. Rounding can differ
  // in the last bits: the fused kernel contracts each product and addition into an FMA as it sees fit.
  std::optional<Value> shortContraction(const ir::Op &op, const std::vector<Value> &x) {
    const bool ta = op.attrs.getBool("transpose_a"), tb = op.attrs.getBool("transpose_b");
    const ir::Shape a = type(x[0]).shape, bShape = type(x[1]).shape, c = typeOfOld(op.result).shape;
    const int64_t k = ta ? a[0] : a[1];
    if (k < 2 || k > kShortContraction) return std::nullopt;
    // Column p of op(A) or row p of op(B), as a vector: v sliced at p along its columns (A untransposed, B
    // transposed) or along its rows.
    auto line = [&](Value v, const ir::Shape &shape, bool pIndexesColumns, int64_t p, int64_t length) {
      std::vector<int64_t> start{0, 0}, limit{shape[0], shape[1]};
      const size_t axis = pIndexesColumns ? 1 : 0;
      start[axis] = p;
      limit[axis] = p + 1;
      Value sliced = b_.create(OpKind::Slice, {v}, {{"start", start}, {"limit", limit}});
      return b_.reshape(sliced, {length});
    };
    std::optional<Value> sum;
    for (int64_t p = 0; p < k; ++p) {
      Value u = line(x[0], a, !ta, p, c[0]);
      Value v = line(x[1], bShape, tb, p, c[1]);
      // Named first: C++ leaves the order of argument evaluation unspecified, and the IR must not depend on it.
      Value rows = b_.broadcast(u, c, {0});
      Value columns = b_.broadcast(v, c, {1});
      Value term = b_.mul(rows, columns);
      sum = sum ? b_.add(*sum, term) : term;
    }
    return sum;
  }

  // op(broadcast(a, dims), broadcast(b, dims)) -> broadcast(op(a, b), dims) when a and b have one type.
  std::optional<Value> elementwiseOnBroadcasts(const ir::Op &op, const std::vector<Value> &x) {
    const ir::Op *a = def(x[0]), *c = def(x[1]);
    if (!a || !c || a->kind != OpKind::Broadcast || c->kind != OpKind::Broadcast) return std::nullopt;
    if (a->attrs.getInts("dims") != c->attrs.getInts("dims") || type(a->operands[0]) != type(c->operands[0])) return std::nullopt;
    std::vector<int64_t> dims = a->attrs.getInts("dims");
    Value small = b_.create(op.kind, {a->operands[0], c->operands[0]}, op.attrs);
    return b_.broadcast(small, typeOfOld(op.result).shape, dims);
  }

  std::optional<Value> unaryOnBroadcast(const ir::Op &op, Value x) {
    const ir::Op *a = def(x);
    if (!a || a->kind != OpKind::Broadcast) return std::nullopt;
    std::vector<int64_t> dims = a->attrs.getInts("dims");
    Value small = b_.create(op.kind, {a->operands[0]}, op.attrs);
    return b_.broadcast(small, typeOfOld(op.result).shape, dims);
  }

  const ir::Function &old_;
  Rewriter &rw_;
  ir::Builder &b_;
};

}  // namespace

bool simplifyAlgebra(ir::Module &m) {
  bool changed = false;
  for (ir::Function &f : m.functions) {
    Rewriter rw(f);
    Simplifier s(f, rw);
    for (const ir::Op &op : f.ops) {
      if (std::optional<Value> v = s.simplify(op, rw.mapOperands(op))) {
        rw.set(op.result, *v);
        changed = true;
      } else {
        rw.copy(op);
      }
    }
    f = rw.finish();
  }
  return changed;
}

}  // namespace gantry::passes
