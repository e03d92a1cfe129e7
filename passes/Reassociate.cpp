#include "passes/Reassociate.h"

#include <optional>

#include "passes/Rewriter.h"

namespace gantry::passes {
namespace {

using ir::OpKind;
using ir::Value;

constexpr size_t kNone = SIZE_MAX;

// One match: op indices of U and of the column sum, and the values the rewrite needs.
struct Match {
  size_t u = kNone, colsum = kNone;
  Value p, mask, w;         // P (b x i), M, W (i x n)
  Value zeroOfS, zeroOfG;   // the zeros of the two selects (equal constants, maybe not one value)
  Value scale;              // the column scale: w (n x 1, times scaleFactor) or v (n)
  bool scaleIsColumn = false;
  double scaleFactor = 1, colsumFactor = 1;
  bool colsumIsColumn = false;  // the column sum has type n x 1 (a product with ones) rather than n
};

class Matcher {
 public:
  explicit Matcher(const ir::Function &f) : f_(f), def_(f.values.size(), kNone), uses_(f.values.size(), 0) {
    for (size_t i = 0; i < f.ops.size(); ++i) {
      def_[f.ops[i].result.id] = i;
      for (Value v : f.ops[i].operands) ++uses_[v.id];
    }
    for (const ir::Result &r : f.results) ++uses_[r.value.id];
  }

  std::vector<Match> find() {
    std::vector<Match> found;
    std::vector<bool> taken(f_.ops.size(), false);
    for (size_t c = 0; c < f_.ops.size(); ++c) {
      std::optional<Match> m = atColumnSum(c);
      if (!m) continue;
      for (size_t u = 0; u < f_.ops.size(); ++u)
        if (!taken[u] && completesWithU(u, *m)) {
          taken[u] = true;
          found.push_back(*m);
          break;
        }
    }
    return found;
  }

 private:
  const ir::Op *opOf(Value v) const { return def_[v.id] == kNone ? nullptr : &f_.ops[def_[v.id]]; }

  std::optional<double> splat(Value v) const {
    const ir::Op *op = opOf(v);
    if (!op || op->kind != OpKind::Constant) return std::nullopt;
    if (const auto *x = std::get_if<double>(&*op->attrs.find("value"))) return *x;
    return std::nullopt;
  }

  static bool plain(const ir::Op &op) { return !op.attrs.getBool("transpose_a") && !op.attrs.getBool("transpose_b"); }
  static bool transposedA(const ir::Op &op) { return op.attrs.getBool("transpose_a") && !op.attrs.getBool("transpose_b"); }

  // Op c is colsum(select(M, P W, 0)) with Y = P W and the select used nowhere else.
  std::optional<Match> atColumnSum(size_t c) const {
    const ir::Op &op = f_.ops[c];
    Match m;
    m.colsum = c;
    Value s;
    if (op.kind == OpKind::Matmul && transposedA(op)) {  // S^T ones: b x n, b x 1 -> n x 1
      std::optional<double> ones = splat(op.operands[1]);
      if (!ones || f_.type(op.operands[1]).shape[1] != 1) return std::nullopt;
      s = op.operands[0];
      m.colsumFactor = *ones;
      m.colsumIsColumn = true;
    } else if (op.kind == OpKind::ReduceSum && f_.type(op.operands[0]).rank() == 2 && op.attrs.getInts("axes") == std::vector<int64_t>{0}) {
      s = op.operands[0];
    } else {
      return std::nullopt;
    }
    const ir::Op *sel = opOf(s);
    if (!sel || sel->kind != OpKind::Select || uses_[s.id] != 1 || splat(sel->operands[2]) != 0.0) return std::nullopt;
    const ir::Op *y = opOf(sel->operands[1]);
    if (!y || y->kind != OpKind::Matmul || !plain(*y) || uses_[sel->operands[1].id] != 1) return std::nullopt;
    m.mask = sel->operands[0];
    m.zeroOfS = sel->operands[2];
    m.p = y->operands[0];
    m.w = y->operands[1];
    return m;
  }

  // Op u is P^T select(M, scale, 0) with P and M those of the match; fills in the scale.
  bool completesWithU(size_t u, Match &m) const {
    const ir::Op &op = f_.ops[u];
    if (op.kind != OpKind::Matmul || !transposedA(op) || op.operands[0] != m.p) return false;
    const ir::Op *g = opOf(op.operands[1]);
    if (!g || g->kind != OpKind::Select || g->operands[0] != m.mask || splat(g->operands[2]) != 0.0) return false;
    const ir::Op *bc = opOf(g->operands[1]);
    if (!bc) return false;
    if (bc->kind == OpKind::Matmul && !bc->attrs.getBool("transpose_a") && bc->attrs.getBool("transpose_b")) {
      // ones (b x 1) times w^T (w: n x 1): every row is c w^T.
      std::optional<double> ones = splat(bc->operands[0]);
      if (!ones || f_.type(bc->operands[0]).shape[1] != 1) return false;
      m.scale = bc->operands[1];
      m.scaleIsColumn = true;
      m.scaleFactor = *ones;
    } else if (bc->kind == OpKind::Broadcast && bc->attrs.getInts("dims") == std::vector<int64_t>{1}) {
      m.scale = bc->operands[0];
    } else {
      return false;
    }
    m.zeroOfG = g->operands[2];
    m.u = u;
    return true;
  }

  const ir::Function &f_;
  std::vector<size_t> def_;
  std::vector<int> uses_;
};

}  // namespace

bool reassociateColumnScales(ir::Module &m) {
  bool changed = false;
  for (ir::Function &f : m.functions) {
    std::vector<Match> matches = Matcher(f).find();
    if (matches.empty()) continue;
    Rewriter rw(f);
    ir::Builder &b = rw.builder();
    std::vector<std::optional<Value>> shared(matches.size());  // T, once emitted
    // T, emitted where the first of U and the column sum was: with operands that site has already seen (its
    // own select's zero; the other select's may come later).
    auto productOf = [&](size_t k, Value zero) {
      if (!shared[k]) {
        const Match &mt = matches[k];
        Value one = b.constant(1.0, ir::TensorType::f32(f.type(zero).shape));
        Value maskValue = b.select(rw.map(mt.mask), one, rw.map(zero));
        shared[k] = b.create(OpKind::Matmul, {rw.map(mt.p), maskValue}, {{"transpose_a", true}});
      }
      return *shared[k];
    };
    // Which match, if any, rewrites each op, as its U or as its column sum.
    std::vector<size_t> asU(f.ops.size(), kNone), asColsum(f.ops.size(), kNone);
    for (size_t k = 0; k < matches.size(); ++k) {
      asU[matches[k].u] = k;
      asColsum[matches[k].colsum] = k;
    }
    for (size_t i = 0; i < f.ops.size(); ++i) {
      const ir::Op &op = f.ops[i];
      if (const size_t k = asU[i]; k != kNone) {
        const Match &mt = matches[k];
        Value t = productOf(k, mt.zeroOfG);
        const ir::Shape tShape = b.type(t).shape;
        const int64_t n = tShape[1];
        Value v = mt.scaleIsColumn ? b.reshape(rw.map(mt.scale), {n}) : rw.map(mt.scale);
        if (mt.scaleFactor != 1) v = b.mul(v, b.constant(mt.scaleFactor, ir::TensorType::f32({n})));
        rw.set(op.result, b.mul(t, b.broadcast(v, tShape, {1})));
      } else if (const size_t c = asColsum[i]; c != kNone) {
        const Match &mt = matches[c];
        Value t = productOf(c, mt.zeroOfS);
        const int64_t n = b.type(t).shape[1];
        Value sums = b.reduce(OpKind::ReduceSum, b.mul(rw.map(mt.w), t), {0});
        if (mt.colsumFactor != 1) sums = b.mul(sums, b.constant(mt.colsumFactor, ir::TensorType::f32({n})));
        rw.set(op.result, mt.colsumIsColumn ? b.reshape(sums, {n, 1}) : sums);
      } else {
        rw.copy(op);
      }
    }
    f = rw.finish();
    changed = true;
  }
  return changed;
}

}  // namespace gantry::passes
