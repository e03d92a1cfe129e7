// Reverse-mode autodiff: a rule per op, each emitting ordinary ops.
//
// The algorithm:
//   1. Forward over the ops: a value is *active* if it is a wrt value or the f32 result of an op with an active
//      differentiable operand (every operand, except those of constant, stop_gradient, sign and compare, and the
//      condition of select).
//   2. Backward from the loss: a value is *needed* if the loss depends on it through differentiable operands.
//   3. The ops whose result is both active and needed lie on a path from some wrt value to the loss. Walk them in
//      reverse; each rule reads the cotangent of the op's result and adds a cotangent to every active operand
//      (with `add` when a value has several uses). Nothing is emitted for an operand that is not active, so a
//      constant factor or an input's branch costs no ops.
//   4. The gradient of wrt[i] is its accumulated cotangent, or a zero constant if none was ever produced.
// A cotangent is std::optional: absent means a symbolic zero, never a zero tensor.
#include "passes/Autodiff.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

namespace gantry::passes {

using ir::Builder;
using ir::OpKind;
using ir::Value;

namespace {

using Ints = std::vector<int64_t>;

// Whether autodiff looks through operand `i` of `kind`. These ops are constants as far as the gradient goes, so
// ops downstream of them are not active unless something else makes them so.
bool isDifferentiableOperand(OpKind kind, size_t i) {
  switch (kind) {
    case OpKind::Constant:
    case OpKind::StopGradient:
    case OpKind::Sign:
    case OpKind::Compare: return false;
    case OpKind::Select: return i != 0;
    default: return true;
  }
}

// The dimensions 0..rank-1 not in `dims` (both sorted): the reduced axes of a broadcast, the kept ones of a reduce.
Ints complement(int64_t rank, const Ints &dims) {
  Ints rest;
  for (int64_t d = 0; d < rank; ++d)
    if (!std::binary_search(dims.begin(), dims.end(), d)) rest.push_back(d);
  return rest;
}

// The small vocabulary the rules are written in, on top of the Builder.
struct Emitter {
  Builder &b;

  const ir::Shape &shape(Value v) const { return b.type(v).shape; }
  // A constant with `like`'s shape: splats are how scalars meet tensors, since binary ops need equal shapes.
  Value full(double c, Value like) { return b.constant(c, ir::TensorType::f32(shape(like))); }
  Value scale(Value x, double c) { return b.mul(x, full(c, x)); }
  Value neg(Value x) { return b.unary(OpKind::Neg, x); }
  Value square(Value x) { return b.unary(OpKind::Square, x); }
  Value slice(Value x, Ints start, Ints limit) {
    return b.create(OpKind::Slice, {x}, {{"start", std::move(start)}, {"limit", std::move(limit)}});
  }
  Value pad(Value x, Ints low, Ints high) {
    return b.create(OpKind::Pad, {x}, {{"low", std::move(low)}, {"high", std::move(high)}});
  }
  // Undoes a reduction over `axes` of a value shaped like `like`: repeats x along the reduced axes.
  Value unreduce(Value x, Value like, const Ints &axes) {
    return b.broadcast(x, shape(like), complement(static_cast<int64_t>(shape(like).size()), axes));
  }
};

// The state of the sweep: which values are active, and the cotangent accumulated for each original value.
class Sweep {
 public:
  Sweep(Builder &b, Value loss, std::span<const Value> wrt);

  bool active(Value v) const { return active_[v.id]; }
  bool onPath(Value v) const { return active_[v.id] && needed_[v.id]; }
  const std::optional<Value> &cotangent(Value v) const { return cotangent_[v.id]; }
  void accumulate(Value v, Value g) {
    std::optional<Value> &ct = cotangent_[v.id];
    ct = ct ? b_.add(*ct, g) : g;
  }

 private:
  Builder &b_;
  std::vector<bool> active_, needed_;
  std::vector<std::optional<Value>> cotangent_;
};

Sweep::Sweep(Builder &b, Value loss, std::span<const Value> wrt)
    : b_(b),
      active_(b.function().values.size(), false),
      needed_(active_.size(), false),
      cotangent_(active_.size()) {
  const ir::Function &f = b.function();
  for (Value w : wrt) active_[w.id] = true;
  for (const ir::Op &op : f.ops) {
    if (f.type(op.result).dtype != ir::DType::F32) continue;  // i1 values carry no gradient
    for (size_t i = 0; i < op.operands.size(); ++i)
      if (isDifferentiableOperand(op.kind, i) && active_[op.operands[i].id]) active_[op.result.id] = true;
  }
  needed_[loss.id] = true;
  for (auto op = f.ops.rbegin(); op != f.ops.rend(); ++op) {
    if (!needed_[op->result.id]) continue;
    for (size_t i = 0; i < op->operands.size(); ++i)
      if (isDifferentiableOperand(op->kind, i)) needed_[op->operands[i].id] = true;
  }
}

// The rule of one op: from the cotangent `g` of op.result, accumulates the cotangent of each active operand.
// `op` is a copy: emitting ops may reallocate the function's op list. The switch has no default, so a new op kind
// does not compile (-Wswitch) until it has a rule here.
void pullBack(Emitter &e, Sweep &sweep, const ir::Op &op, Value g) {
  Builder &b = e.b;
  const Value y = op.result;
  auto x = [&](size_t i) { return op.operands[i]; };
  // `make` runs only for an operand that needs a gradient: ops are emitted for nothing else.
  auto give = [&](size_t i, auto make) {
    if (sweep.active(x(i))) sweep.accumulate(x(i), make());
  };

  switch (op.kind) {
    // No gradient flows through these (isDifferentiableOperand), so they are never on a path.
    case OpKind::Constant:
    case OpKind::StopGradient:
    case OpKind::Sign:
    case OpKind::Compare: break;

    // ---- elementwise unary: rules in terms of the result y where that is cheaper than recomputing ----
    case OpKind::Neg: give(0, [&] { return e.neg(g); }); break;
    case OpKind::Exp: give(0, [&] { return b.mul(g, y); }); break;
    case OpKind::Expm1: give(0, [&] { return b.mul(g, b.add(y, e.full(1, y))); }); break;
    case OpKind::Log: give(0, [&] { return b.div(g, x(0)); }); break;
    case OpKind::Log1p: give(0, [&] { return b.div(g, b.add(e.full(1, y), x(0))); }); break;
    // sqrt'(0) is infinite: a zero cotangent stays zero there rather than becoming 0 * inf = NaN. This is the
    // limit the chain rule takes when the function downstream is flat (Adam's step at v = 0 with m = 0, when a
    // unit's gradient is exactly zero: unrolling through it must not turn G's gradient into NaN).
    case OpKind::Sqrt:
      give(0, [&] {
        Value zero = e.full(0, y);
        Value isZero = b.compare("eq", g, zero);
        return b.select(isZero, zero, b.div(e.scale(g, 0.5), y));
      });
      break;
    // Operands that emit ops are named first: C++ leaves the order of argument evaluation unspecified (g++ and
    // clang differ), and the IR must not depend on the compiler that built Gantry.
    case OpKind::Rsqrt:
      give(0, [&] {
        Value half = e.scale(g, -0.5);
        return b.mul(half, b.mul(y, e.square(y)));
      });
      break;
    case OpKind::Tanh:
      give(0, [&] {
        Value one = e.full(1, y);
        return b.mul(g, b.sub(one, e.square(y)));
      });
      break;
    case OpKind::Sigmoid:
      give(0, [&] {
        Value gy = b.mul(g, y);
        return b.mul(gy, b.sub(e.full(1, y), y));
      });
      break;
    // relu'(0) = 0: the kink gets the subgradient that keeps dead units dead. The mask is read off the result:
    // y > 0 exactly where x > 0 (NaN and -0 included), and y is kept anyway (the next layer and its weight
    // gradient read it), so the pre-activation x need never be stored: one tensor less to write and keep per
    // layer, which matters most where a step's activations overflow L2.
    case OpKind::Relu:
      give(0, [&] {
        Value zero = e.full(0, y);
        return b.select(b.compare("gt", y, zero), g, zero);
      });
      break;
    // abs'(0) = sign(0) = 0.
    case OpKind::Abs: give(0, [&] { return b.mul(g, b.unary(OpKind::Sign, x(0))); }); break;
    case OpKind::Softplus: give(0, [&] { return b.mul(g, b.unary(OpKind::Sigmoid, x(0))); }); break;
    case OpKind::Square: give(0, [&] { return b.mul(e.scale(g, 2), x(0)); }); break;

    // ---- elementwise binary ----
    case OpKind::Add:
      give(0, [&] { return g; });
      give(1, [&] { return g; });
      break;
    case OpKind::Sub:
      give(0, [&] { return g; });
      give(1, [&] { return e.neg(g); });
      break;
    case OpKind::Mul:
      give(0, [&] { return b.mul(g, x(1)); });
      give(1, [&] { return b.mul(g, x(0)); });
      break;
    case OpKind::Div:  // d(a/b)/db = -a/b² = -y/b
      give(0, [&] { return b.div(g, x(1)); });
      give(1, [&] { return e.neg(b.div(b.mul(g, y), x(1))); });
      break;
    // Ties go to the first operand (a >= b for max, a <= b for min), so the cotangent is never split or doubled;
    // where either operand is NaN the comparison is false and the second operand gets it.
    case OpKind::Max:
    case OpKind::Min: {
      Value first = b.compare(op.kind == OpKind::Max ? "ge" : "le", x(0), x(1));
      Value zero = e.full(0, y);
      give(0, [&] { return b.select(first, g, zero); });
      give(1, [&] { return b.select(first, zero, g); });
      break;
    }
    case OpKind::Pow:
      give(0, [&] {
        Value gb = b.mul(g, x(1));
        return b.mul(gb, b.binary(OpKind::Pow, x(0), b.sub(x(1), e.full(1, y))));
      });
      // y·log(a) is 0·(-inf) = NaN at a = 0, where the limit (for b > 0) is 0: log(a) is taken as log(1) there.
      give(1, [&] {
        Value atZero = b.compare("eq", x(0), e.full(0, y));
        Value safeA = b.select(atZero, e.full(1, y), x(0));
        Value gy = b.mul(g, y);
        return b.mul(gy, b.unary(OpKind::Log, safeA));
      });
      break;

    // ---- selection: the condition is not differentiable; each branch gets g where it was chosen ----
    case OpKind::Select:
      give(1, [&] { return b.select(x(0), g, e.full(0, y)); });
      give(2, [&] { return b.select(x(0), e.full(0, y), g); });
      break;

    // ---- shape: each rule is the adjoint linear map ----
    case OpKind::Broadcast:  // sum over the repeated axes; what remains is exactly the operand's shape
      give(0, [&] {
        Ints axes = complement(static_cast<int64_t>(e.shape(y).size()), op.attrs.getInts("dims"));
        return axes.empty() ? g : b.reduce(OpKind::ReduceSum, g, axes);
      });
      break;
    case OpKind::Reshape: give(0, [&] { return b.reshape(g, e.shape(x(0))); }); break;
    case OpKind::Transpose:
      give(0, [&] {
        const Ints &perm = op.attrs.getInts("perm");
        Ints inverse(perm.size());
        for (size_t i = 0; i < perm.size(); ++i) inverse[perm[i]] = static_cast<int64_t>(i);
        return b.transpose(g, inverse);
      });
      break;
    case OpKind::Concat: {
      const auto axis = static_cast<size_t>(op.attrs.getInt("axis"));
      int64_t offset = 0;
      for (size_t i = 0; i < op.operands.size(); ++i) {
        const ir::Shape s = e.shape(x(i));  // a copy: emitting ops may reallocate the value table
        give(i, [&] {
          Ints start(s.size(), 0), limit = s;
          start[axis] = offset;
          limit[axis] = offset + s[axis];
          return e.slice(g, start, limit);
        });
        offset += s[axis];
      }
      break;
    }
    case OpKind::Slice:  // zeros where the slice dropped elements
      give(0, [&] {
        const Ints &start = op.attrs.getInts("start"), &limit = op.attrs.getInts("limit");
        const ir::Shape s = e.shape(x(0));
        Ints high(s.size());
        for (size_t d = 0; d < s.size(); ++d) high[d] = s[d] - limit[d];
        return e.pad(g, start, high);
      });
      break;
    case OpKind::Pad:  // the padding was constant: only the operand's window flows back
      give(0, [&] {
        const Ints &low = op.attrs.getInts("low");
        const ir::Shape s = e.shape(x(0));
        Ints limit(s.size());
        for (size_t d = 0; d < s.size(); ++d) limit[d] = low[d] + s[d];
        return e.slice(g, low, limit);
      });
      break;

    // ---- linear algebra ----
    // C = op(A)·op(B) gives d op(A) = G·op(B)ᵀ and d op(B) = op(A)ᵀ·G; where an operand was transposed, its
    // cotangent is the transpose of that, which the matmul flags express without a transpose op.
    case OpKind::Matmul: {
      const bool ta = op.attrs.getBool("transpose_a"), tb = op.attrs.getBool("transpose_b");
      give(0, [&] { return ta ? b.matmul(x(1), g, tb, true) : b.matmul(g, x(1), false, !tb); });
      give(1, [&] { return tb ? b.matmul(g, x(0), true, ta) : b.matmul(x(0), g, !ta, false); });
      break;
    }

    // ---- reductions: broadcast the cotangent back over the reduced axes ----
    case OpKind::ReduceSum: give(0, [&] { return e.unreduce(g, x(0), op.attrs.getInts("axes")); }); break;
    case OpKind::ReduceMean:
      give(0, [&] {
        double count = 1;
        for (int64_t a : op.attrs.getInts("axes")) count *= static_cast<double>(e.shape(x(0))[a]);
        // Scale before broadcasting: the reduced tensor is the smaller one.
        return e.unreduce(e.scale(g, 1.0 / count), x(0), op.attrs.getInts("axes"));
      });
      break;
    // The cotangent is shared equally by the elements equal to the maximum, so a tie neither loses nor doubles
    // it. A NaN maximum equals nothing, so that slice gets zero.
    case OpKind::ReduceMax:
      give(0, [&] {
        const Ints &axes = op.attrs.getInts("axes");
        Value isMax = b.compare("eq", x(0), e.unreduce(y, x(0), axes));
        Value zeros = e.full(0, x(0));
        Value ties = b.reduce(OpKind::ReduceSum, b.select(isMax, e.full(1, x(0)), zeros), axes);
        return b.select(isMax, e.unreduce(b.div(g, ties), x(0), axes), zeros);
      });
      break;
  }
}

void checkOperand(const ir::Function &f, Value v, const char *what) {
  if (!v.valid() || v.id >= f.values.size())
    throw ir::IrError(fmt::format("differentiate: {} is not a value of @{}", what, f.name));
  if (f.type(v).dtype != ir::DType::F32)
    throw ir::IrError(fmt::format("differentiate: {} must be f32, found {}", what, f.type(v).str()));
}

}  // namespace

std::vector<Value> differentiate(Builder &b, Value loss, std::span<const Value> wrt) {
  const ir::Function &f = b.function();
  checkOperand(f, loss, "the loss");
  if (f.type(loss).rank() != 0)
    throw ir::IrError(fmt::format("differentiate: the loss must be a scalar f32[], found {}", f.type(loss).str()));
  for (Value w : wrt) checkOperand(f, w, "a wrt value");

  Sweep sweep(b, loss, wrt);
  Emitter e{b};
  // Only the ops present now are walked; those appended below are the gradient's own.
  const size_t numOps = f.ops.size();
  if (sweep.onPath(loss)) sweep.accumulate(loss, b.constant(1.0, ir::TensorType::f32({})));
  for (size_t i = numOps; i-- > 0;) {
    if (!sweep.onPath(f.ops[i].result)) continue;
    const ir::Op op = f.ops[i];
    // Every op on a path receives a cotangent from the consumer that put it there; absent would mean zero.
    if (const std::optional<Value> g = sweep.cotangent(op.result)) pullBack(e, sweep, op, *g);
  }

  std::vector<Value> grads;
  grads.reserve(wrt.size());
  for (Value w : wrt) {
    const std::optional<Value> &g = sweep.cotangent(w);
    grads.push_back(g ? *g : b.constant(0.0, f.type(w)));
  }
  return grads;
}

}  // namespace gantry::passes
