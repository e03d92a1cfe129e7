#include "ir/Verifier.h"

#include <fmt/format.h>

#include <cmath>
#include <map>
#include <set>

#include "ir/Builder.h"
#include "ir/Printer.h"

namespace gantry::ir {
namespace {

bool dimsPositive(const TensorType &t) {
  for (int64_t d : t.shape)
    if (d < 1) return false;
  return true;
}

class FunctionVerifier {
 public:
  explicit FunctionVerifier(const Function &f) : f_(f), defined_(f.values.size(), false) {}

  std::vector<std::string> run() {
    if (!isIdentifier(f_.name)) error(fmt::format("function name '{}' is not an identifier", f_.name));
    // Values referenced anywhere must exist before we name them.
    if (!allIdsInRange()) return errors_;
    ValueNamer names(f_);
    names_ = &names;
    checkParams();
    for (const Op &op : f_.ops) checkOp(op);
    checkResults();
    checkFusionGroups();
    return errors_;
  }

 private:
  void error(std::string msg) { errors_.push_back(fmt::format("@{}: {}", f_.name, msg)); }

  bool inRange(Value v) const { return v.valid() && v.id < f_.values.size(); }

  bool allIdsInRange() {
    bool ok = true;
    for (const Param &p : f_.params) ok = ok && inRange(p.value);
    for (const Op &op : f_.ops) {
      ok = ok && inRange(op.result);
      for (Value v : op.operands) ok = ok && inRange(v);
    }
    for (const Result &r : f_.results) ok = ok && inRange(r.value);
    if (!ok) error("refers to a value that does not exist");
    return ok;
  }

  void define(Value v) {
    if (defined_[v.id]) error(fmt::format("{} is defined more than once", (*names_)(v)));
    defined_[v.id] = true;
  }

  void checkParams() {
    std::set<std::string> seen;
    for (const Param &p : f_.params) {
      const std::string &name = f_.nameOf(p.value);
      const TensorType &t = f_.type(p.value);
      if (!isIdentifier(name)) error(fmt::format("parameter name '{}' is not an identifier", name));
      if (!seen.insert(name).second) error(fmt::format("parameter %{} is defined more than once", name));
      if (!dimsPositive(t)) error(fmt::format("parameter %{}: dimensions must be positive, found {}", name, t.str()));
      if ((p.role == ParamRole::Random) != p.dist.has_value())
        error(fmt::format("parameter %{}: a distribution is given exactly for random parameters", name));
      if (p.dist) {
        if (t.dtype != DType::F32) error(fmt::format("random parameter %{} must be f32, found {}", name, t.str()));
        bool valid = p.dist->kind == RandomDist::Kind::Uniform ? p.dist->a < p.dist->b : p.dist->b >= 0;
        if (!valid || !std::isfinite(p.dist->a) || !std::isfinite(p.dist->b))
          error(fmt::format("parameter %{}: invalid distribution {}", name, p.dist->str()));
      }
      define(p.value);
    }
  }

  void checkOp(const Op &op) {
    const OpDef &def = opDef(op.kind);
    std::string where = fmt::format("{} = {}", (*names_)(op.result), def.name);
    std::vector<TensorType> types;
    bool operandsOk = true;
    for (Value v : op.operands) {
      if (!defined_[v.id]) {
        error(fmt::format("{}: operand {} is used before it is defined", where, (*names_)(v)));
        operandsOk = false;
      }
      types.push_back(f_.type(v));
    }
    Attrs normalized = op.attrs;
    if (std::string err = normalizeAttrs(def, normalized); !err.empty()) {
      error(fmt::format("{}: {}", where, err));
    } else if (normalized.entries().size() != op.attrs.entries().size()) {  // a default was added
      error(fmt::format("{}: attributes are not normalized (a default is missing)", where));
    } else if (operandsOk) {
      const TensorType &declared = f_.type(op.result);
      if (!dimsPositive(declared)) {
        error(fmt::format("{}: dimensions must be positive, found {}", where, declared.str()));
      } else {
        InferResult r = inferType(def, types, op.attrs, &declared);
        if (!r.type) {
          error(fmt::format("{}: {}", where, r.error));
        } else if (*r.type != declared) {
          error(fmt::format("{}: result type is {}, but the operands give {}", where, declared.str(), r.type->str()));
        }
      }
    }
    define(op.result);
  }

  void checkResults() {
    std::set<std::string> seen;
    for (const Result &r : f_.results) {
      if (!isIdentifier(r.name)) error(fmt::format("result name '{}' is not an identifier", r.name));
      if (!seen.insert(r.name).second) error(fmt::format("result '{}' is returned more than once", r.name));
      if (!defined_[r.value.id]) error(fmt::format("result '{}' refers to an undefined value", r.name));
    }
  }

  // A fusion group is a contiguous run of ops over one iteration shape S: elementwise ops with result shape S,
  // broadcasts to S of values from outside the group, splat constants of shape S, and at most one reduction of a
  // shape-S value, last.
  void checkFusionGroups() {
    std::map<int64_t, size_t> lastSeen;  // group -> index of its last op so far
    for (size_t i = 0; i < f_.ops.size(); ++i) {
      const Op &op = f_.ops[i];
      const AttrValue *g = op.attrs.find(kFusionAttr);
      if (!g || !std::holds_alternative<int64_t>(*g)) continue;
      int64_t group = std::get<int64_t>(*g);
      std::string where = fmt::format("{} = {}", (*names_)(op.result), opName(op.kind));
      auto it = lastSeen.find(group);
      if (it != lastSeen.end() && it->second + 1 != i) {
        error(fmt::format("{}: fusion group {} is not a contiguous run of ops", where, group));
        continue;
      }
      const size_t first = it == lastSeen.end() ? i : groupStart_[group];
      if (it == lastSeen.end()) groupStart_[group] = i;
      lastSeen[group] = i;
      const Op &head = f_.ops[first];
      const bool headReduces = isReduction(head.kind);
      const Shape domain = headReduces ? f_.type(head.operands[0]).shape : f_.type(head.result).shape;
      const OpClass cls = opDef(op.kind).cls;
      bool fits = false;
      bool splat = op.kind == OpKind::Constant && std::holds_alternative<double>(*op.attrs.find("value"));
      if (cls != OpClass::Structural || op.kind == OpKind::Broadcast || splat) fits = f_.type(op.result).shape == domain;
      if (isReduction(op.kind)) fits = f_.type(op.operands[0]).shape == domain;
      if (!fits) {
        error(fmt::format("{}: cannot join fusion group {} (its ops run over {})", where, group, shapeStr(domain)));
        continue;
      }
      if (i != first && isReduction(f_.ops[i - 1].kind) && inGroup(f_.ops[i - 1], group))
        error(fmt::format("{}: fusion group {} continues after its reduction", where, group));
      if (op.kind == OpKind::Broadcast) {
        for (size_t k = first; k < i; ++k)
          if (f_.ops[k].result == op.operands[0]) error(fmt::format("{}: broadcasts a value of its own fusion group", where));
      }
    }
  }

  static bool isReduction(OpKind k) { return k == OpKind::ReduceSum || k == OpKind::ReduceMean || k == OpKind::ReduceMax; }
  static bool inGroup(const Op &op, int64_t group) {
    const AttrValue *g = op.attrs.find(kFusionAttr);
    return g && std::holds_alternative<int64_t>(*g) && std::get<int64_t>(*g) == group;
  }

  std::map<int64_t, size_t> groupStart_;
  const Function &f_;
  const ValueNamer *names_ = nullptr;
  std::vector<bool> defined_;
  std::vector<std::string> errors_;
};

}  // namespace

std::vector<std::string> verify(const Function &f) { return FunctionVerifier(f).run(); }

std::vector<std::string> verify(const Module &m) {
  std::vector<std::string> errors;
  std::set<std::string> names;
  for (const Function &f : m.functions) {
    if (!names.insert(f.name).second) errors.push_back(fmt::format("function @{} is defined more than once", f.name));
    for (std::string &e : verify(f)) errors.push_back(std::move(e));
  }
  return errors;
}

void verifyOrThrow(const Module &m) {
  std::vector<std::string> errors = verify(m);
  if (!errors.empty()) throw IrError(fmt::format("invalid IR:\n  {}", fmt::join(errors, "\n  ")));
}

}  // namespace gantry::ir
