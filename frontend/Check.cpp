// The checker. Three parts, in the order a program is checked:
//   1. constants and call signatures: every builtin (data sources, layers, inits, penalties, optimizers, the
//      objective's functions) has one signature table entry; `bindCall` matches a call's arguments to it;
//   2. declarations: data, noise, networks (widths through every layer), train settings;
//   3. the objective: lets, losses (or a loss family), unroll, penalties, n_critic, with a shape for every
//      expression, computed with numpy-style broadcasting.
#include "frontend/Check.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <optional>
#include <set>

#include "frontend/Parser.h"
#include "support/DataFiles.h"

namespace gantry::frontend {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// ---- constants ----

struct Const {
  enum class Kind { Number, Bool, Symbol, String } kind = Kind::Number;
  double number = 0;
  bool isInteger = false;
  std::string text;  // Symbol or String
};

std::string constStr(const Const &c) {
  switch (c.kind) {
    case Const::Kind::Number: return c.isInteger ? fmt::format("{}", static_cast<int64_t>(c.number)) : fmt::format("{}", c.number);
    case Const::Kind::Bool: return c.number != 0 ? "true" : "false";
    case Const::Kind::Symbol: return c.text;
    case Const::Kind::String: return "\"" + c.text + "\"";
  }
  return "?";
}

// ---- signatures ----

enum class PK { Int, Float, Bool, Symbol, String, Tensor };

struct ParamSpec {
  const char *name;
  PK kind;
  std::optional<Const> def;  // absent: required
  double lo = -kInf, hi = kInf;
  bool loOpen = false, hiOpen = false;
  std::vector<const char *> symbols = {};
  bool optional = false;  // without a default: may be left out (and is then absent)
};

struct Signature {
  const char *name;
  std::vector<ParamSpec> params;
};

Const num(double v) { return {Const::Kind::Number, v, std::floor(v) == v, {}}; }
Const boolean(bool v) { return {Const::Kind::Bool, v ? 1.0 : 0.0, false, {}}; }
Const symbol(const char *s) { return {Const::Kind::Symbol, 0, false, s}; }

ParamSpec positive(const char *name, std::optional<Const> def) { return {name, PK::Float, def, 0, kInf, true, false}; }
ParamSpec nonNegative(const char *name, std::optional<Const> def) { return {name, PK::Float, def, 0, kInf, false, false}; }
ParamSpec unitInterval(const char *name, std::optional<Const> def) { return {name, PK::Float, def, 0, 1, false, true}; }
ParamSpec anyFloat(const char *name, std::optional<Const> def) { return {name, PK::Float, def}; }
ParamSpec intIn(const char *name, std::optional<Const> def, double lo, double hi) { return {name, PK::Int, def, lo, hi}; }
ParamSpec tensor(const char *name) { return {name, PK::Tensor, std::nullopt}; }

constexpr double kMaxWidth = 1 << 20;
constexpr double kMaxDim = 1 << 16;

const std::vector<Signature> &dataSources() {
  static const std::vector<Signature> s = {
      {"bimodal1d", {anyFloat("left", num(-3)), anyFloat("right", num(3)), positive("std", num(0.5))}},
      {"ring", {intIn("modes", num(8), 1, 1000), positive("radius", num(2)), positive("std", num(0.02))}},
      {"grid", {intIn("k", num(5), 1, 100), positive("spacing", num(2)), positive("std", num(0.05))}},
      {"spiral", {positive("turns", num(2)), positive("std", num(0.05))}},
      {"swissroll", {positive("std", num(0.25))}},
      {"normal", {intIn("dim", num(2), 1, kMaxDim), anyFloat("mean", num(0)), positive("std", num(1))}},
      {"csv", {{"path", PK::String, std::nullopt}, {"standardize", PK::Bool, boolean(false)}}},
      {"npy", {{"path", PK::String, std::nullopt}, {"standardize", PK::Bool, boolean(false)}}},
  };
  return s;
}

const std::vector<Signature> &noiseSources() {
  static const std::vector<Signature> s = {
      {"normal", {intIn("dim", std::nullopt, 1, kMaxDim), anyFloat("mean", num(0)), positive("std", num(1))}},
      {"uniform", {intIn("dim", std::nullopt, 1, kMaxDim), anyFloat("low", num(-1)), anyFloat("high", num(1))}},
  };
  return s;
}

const std::vector<Signature> &inits() {
  static const std::vector<Signature> s = {
      {"he", {}}, {"glorot", {}}, {"orthogonal", {positive("gain", num(1))}}, {"normal", {positive("std", num(0.02))}},
  };
  return s;
}

// Layers: `linear`, and activations whose first argument is the layer they apply to (or none, written bare).
const std::vector<Signature> &layers() {
  static const std::vector<Signature> s = {
      {"linear", {intIn("width", std::nullopt, 1, kMaxWidth), {"bias", PK::Bool, boolean(true)}}},
      {"relu", {tensor("input")}},
      {"tanh", {tensor("input")}},
      {"sigmoid", {tensor("input")}},
      {"softplus", {tensor("input")}},
      {"leaky_relu", {tensor("input"), {"alpha", PK::Float, num(0.01), 0, 1, false, true}}},
      {"elu", {tensor("input"), positive("alpha", num(1))}},
  };
  return s;
}

const std::vector<Signature> &penalties() {
  static const std::vector<Signature> s = {
      {"wgan_gp", {nonNegative("lambda", num(10))}},
      {"dragan", {nonNegative("lambda", num(10)), nonNegative("c", num(0.5)), nonNegative("k", num(1))}},
      {"r1", {nonNegative("gamma", num(10))}},
      {"r2", {nonNegative("gamma", num(10))}},
  };
  return s;
}

// Defaults as in PyTorch's torch.optim (SGD has no default learning rate there either).
const std::vector<Signature> &optimizers() {
  static const std::vector<Signature> s = {
      {"sgd", {positive("lr", std::nullopt), unitInterval("momentum", num(0))}},
      {"adam", {positive("lr", num(1e-3)), unitInterval("beta1", num(0.9)), unitInterval("beta2", num(0.999)),
                positive("eps", num(1e-8))}},
      {"rmsprop", {positive("lr", num(1e-2)), unitInterval("alpha", num(0.99)), positive("eps", num(1e-8))}},
  };
  return s;
}

const Signature unrollSignature = {"unroll", {{"order", PK::Symbol, symbol("second"), -kInf, kInf, false, false, {"first", "second"}},
                                              {"fresh", PK::Bool, boolean(false)}}};

const std::vector<Signature> &trainSettings() {
  static const std::vector<Signature> s = {
      {"batch", {intIn("batch", num(64), 1, kMaxWidth)}},
      {"steps", {intIn("steps", num(10000), 1, 1e9)}},
      {"seed", {intIn("seed", num(1), 0, 9.2e18)}},
      {"eval_every", {intIn("eval_every", num(1000), 1, 1e9)}},
  };
  return s;
}

// The objective's functions: elementwise math, reductions, gradients, random draws.
const std::vector<Signature> &functions() {
  static const std::vector<Signature> s = {
      {"exp", {tensor("x")}},      {"log", {tensor("x")}},         {"sqrt", {tensor("x")}},
      {"abs", {tensor("x")}},      {"square", {tensor("x")}},      {"softplus", {tensor("x")}},
      {"sigmoid", {tensor("x")}},  {"tanh", {tensor("x")}},        {"relu", {tensor("x")}},
      {"stop_gradient", {tensor("x")}},
      {"mean", {tensor("x"), {"axis", PK::Int, std::nullopt, -8, 8, false, false, {}, true}}},
      {"sum", {tensor("x"), {"axis", PK::Int, std::nullopt, -8, 8, false, false, {}, true}}},
      {"norm", {tensor("x"), {"axis", PK::Int, std::nullopt, -8, 8, false, false, {}, true}}},
      {"grad", {tensor("of"), tensor("wrt")}},
      {"uniform", {intIn("dim", num(1), 1, kMaxDim)}},
      {"normal", {intIn("dim", num(1), 1, kMaxDim)}},
  };
  return s;
}

const std::vector<const char *> kLossFamilies = {"minimax", "nonsaturating", "wasserstein", "hinge", "least_squares"};

const Signature *findSig(const std::vector<Signature> &table, const std::string &name) {
  for (const Signature &s : table)
    if (name == s.name) return &s;
  return nullptr;
}

size_t editDistance(const std::string &a, const std::string &b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t next = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = row[j];
      row[j] = next;
    }
  }
  return row[b.size()];
}

// "; did you mean 'x'?" for the closest candidate within two edits, or nothing.
std::string suggest(const std::string &name, const std::vector<std::string> &candidates) {
  std::string best;
  size_t bestDist = 3;
  for (const std::string &c : candidates) {
    size_t d = editDistance(name, c);
    if (d < bestDist) {
      bestDist = d;
      best = c;
    }
  }
  return best.empty() ? "" : fmt::format("; did you mean '{}'?", best);
}

std::vector<std::string> namesOf(const std::vector<Signature> &table) {
  std::vector<std::string> out;
  for (const Signature &s : table) out.push_back(s.name);
  return out;
}

std::string shapeText(const ExprShape &s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

std::string rangeText(const ParamSpec &p) {
  bool hasLo = p.lo > -kInf, hasHi = p.hi < kInf;
  auto n = [&](double v) { return p.kind == PK::Int ? fmt::format("{}", static_cast<long long>(v)) : fmt::format("{}", v); };
  if (hasLo && hasHi) {
    if (p.kind == PK::Int) return fmt::format("from {} to {}", n(p.lo), n(p.hi));
    return fmt::format("in {}{}, {}{}", p.loOpen ? "(" : "[", n(p.lo), n(p.hi), p.hiOpen ? ")" : "]");
  }
  if (hasLo) return p.loOpen ? fmt::format("> {}", n(p.lo)) : fmt::format("at least {}", n(p.lo));
  return p.hiOpen ? fmt::format("< {}", n(p.hi)) : fmt::format("at most {}", n(p.hi));
}

// ---- the checker ----

struct Scope {
  ExprShape shape;
  SourceRange declared;
};

class Checker {
 public:
  Checker(const Program &p, std::string sourceDir, const Overrides &overrides, DiagnosticList &d)
      : prog_(p), dir_(std::move(sourceDir)), overrides_(overrides), diags_(d) {}

  CheckedProgram run() {
    checkBlocksOnce();
    checkTrain();
    checkData();
    checkNoise();
    checkNets();
    checkOptimizers();
    checkObjective();
    checkOverridesUsed();
    return std::move(out_);
  }

 private:
  // Diagnostics on expressions that came from `--set` have no place in the file: their message names the
  // override instead.
  void error(const Expr &e, const std::string &msg) {
    if (!e.origin.empty()) {
      diags_.error({}, fmt::format("{}: {}", e.origin, msg));
    } else {
      diags_.error(e.range, msg);
    }
  }
  void error(SourceRange at, const std::string &msg) { diags_.error(at, msg); }
  void note(SourceRange at, const std::string &msg) { diags_.note(at, msg); }

  // ---- constants and calls ----

  std::optional<Const> constant(const Expr &e) {
    switch (e.kind) {
      case Expr::Kind::Number: return Const{Const::Kind::Number, e.number, e.isInteger, {}};
      case Expr::Kind::String: return Const{Const::Kind::String, 0, false, e.text};
      case Expr::Kind::Name:
        if (e.text == "true" || e.text == "false") return boolean(e.text == "true");
        return Const{Const::Kind::Symbol, 0, false, e.text};
      case Expr::Kind::Neg:
        if (e.lhs->kind == Expr::Kind::Number) return Const{Const::Kind::Number, -e.lhs->number, e.lhs->isInteger, {}};
        break;
      default: break;
    }
    error(e, "expected a constant (a number, true/false, a name or a string)");
    return std::nullopt;
  }

  // A constant as the user wrote it: `1.0` and `1e5` are not integers, and "got 1" or "got 100000" would hide why.
  static std::string written(const Expr &value, const Const &c) {
    if (c.kind == Const::Kind::Number && value.kind == Expr::Kind::Number) return value.text;
    if (c.kind == Const::Kind::Number && value.kind == Expr::Kind::Neg && value.lhs->kind == Expr::Kind::Number) return "-" + value.lhs->text;
    return constStr(c);
  }

  // Checks one argument's value against its spec; reports and returns false when it does not fit.
  bool fits(const Expr &value, const Const &c, const ParamSpec &p, const std::string &callee) {
    std::string what = fmt::format("'{}' of '{}'", p.name, callee);
    const std::string got = written(value, c);
    switch (p.kind) {
      case PK::Int:
      case PK::Float:
        if (c.kind != Const::Kind::Number) {
          error(value, fmt::format("{} must be a number, got {}", what, got));
          return false;
        }
        if (p.kind == PK::Int && (!c.isInteger || std::floor(c.number) != c.number)) {
          bool integral = std::floor(c.number) == c.number && std::abs(c.number) < 1e15;
          error(value, integral ? fmt::format("{} must be an integer, got {} (write {})", what, got, static_cast<long long>(c.number))
                                : fmt::format("{} must be an integer, got {}", what, got));
          return false;
        }
        if (c.number < p.lo || c.number > p.hi || (p.loOpen && c.number == p.lo) || (p.hiOpen && c.number == p.hi)) {
          error(value, fmt::format("{} must be {}, got {}", what, rangeText(p), got));
          return false;
        }
        return true;
      case PK::Bool:
        if (c.kind != Const::Kind::Bool) error(value, fmt::format("{} must be true or false, got {}", what, got));
        return c.kind == Const::Kind::Bool;
      case PK::Symbol:
        if (c.kind != Const::Kind::Symbol ||
            std::none_of(p.symbols.begin(), p.symbols.end(), [&](const char *s) { return c.text == s; })) {
          error(value, fmt::format("{} must be one of {}, got {}", what, fmt::join(p.symbols, ", "), got));
          return false;
        }
        return true;
      case PK::String:
        if (c.kind != Const::Kind::String) error(value, fmt::format("{} must be a string in double quotes, got {}", what, got));
        return c.kind == Const::Kind::String;
      case PK::Tensor: return true;
    }
    return false;
  }

  struct Bound {
    bool ok = true;
    std::map<std::string, Const> values;
    std::map<std::string, const Expr *> exprs;  // Tensor parameters given, and every given argument's expression
    double get(const std::string &name) const { return values.at(name).number; }
  };

  // Matches a call's arguments (positional first, then named) to a signature, fills defaults and checks each.
  Bound bind(const Expr &call, const std::vector<Arg> &args, const Signature &sig, const std::string &prefix = "") {
    Bound b;
    size_t positional = 0;
    bool sawNamed = false;
    for (const Arg &a : args) {
      const ParamSpec *p = nullptr;
      if (a.name.empty()) {
        if (sawNamed) {
          error(*a.value, fmt::format("positional argument after a named one in '{}'", sig.name));
          b.ok = false;
          continue;
        }
        if (positional >= sig.params.size()) {
          error(*a.value, sig.params.empty() ? fmt::format("'{}' takes no arguments", sig.name)
                                             : fmt::format("'{}' takes at most {} argument{}", sig.name, sig.params.size(),
                                                           sig.params.size() == 1 ? "" : "s"));
          b.ok = false;
          continue;
        }
        p = &sig.params[positional++];
      } else {
        sawNamed = true;
        for (const ParamSpec &q : sig.params)
          if (a.name.text == q.name) p = &q;
        if (!p) {
          std::vector<std::string> names;
          for (const ParamSpec &q : sig.params) names.push_back(q.name);
          error(a.name.range, fmt::format("'{}' has no parameter '{}'{}", sig.name, a.name.text, suggest(a.name.text, names)));
          b.ok = false;
          continue;
        }
      }
      if (b.exprs.count(p->name)) {
        error(a.name.empty() ? a.value->range : a.name.range, fmt::format("'{}' of '{}' is given twice", p->name, sig.name));
        b.ok = false;
        continue;
      }
      b.exprs[p->name] = a.value.get();
      if (p->kind == PK::Tensor) continue;
      std::optional<Const> c = constant(*a.value);
      if (!c || !fits(*a.value, *c, *p, sig.name)) {
        b.ok = false;
        continue;
      }
      b.values[p->name] = *c;
    }
    // `--set PREFIX.NAME=VALUE` replaces what the file says, and is checked the same way.
    for (const ParamSpec &p : sig.params) {
      const Expr *o = takeOverride(prefix.empty() ? "" : prefix + p.name);
      if (!o || p.kind == PK::Tensor) continue;
      b.exprs[p.name] = o;
      std::optional<Const> c = constant(*o);
      if (!c || !fits(*o, *c, p, sig.name)) {
        b.ok = false;
        continue;
      }
      b.values[p.name] = *c;
    }
    for (const ParamSpec &p : sig.params) {
      if (b.exprs.count(p.name)) continue;
      if (p.def) {
        b.values[p.name] = *p.def;
      } else if (!p.optional && (p.kind != PK::Tensor || std::string(p.name) != "input")) {
        error(call, fmt::format("'{}' needs its '{}' argument", sig.name, p.name));
        b.ok = false;
      }
    }
    return b;
  }

  // A call (or a bare name, for calls without arguments) to one of `table`'s builtins.
  std::optional<Bound> bindBuiltin(const Expr &e, const std::vector<Signature> &table, const char *what,
                                   const std::string &prefix = "", const Signature **sigOut = nullptr) {
    if (e.kind != Expr::Kind::Call && e.kind != Expr::Kind::Name) {
      error(e, fmt::format("expected {}", what));
      return std::nullopt;
    }
    const Signature *sig = findSig(table, e.text);
    if (!sig) {
      error(e.range.endCol ? SourceRange{e.range.begin, e.range.begin.col + static_cast<int>(e.text.size())} : e.range,
            fmt::format("unknown {} '{}'{}", what, e.text, suggest(e.text, namesOf(table))));
      return std::nullopt;
    }
    if (sigOut) *sigOut = sig;
    static const std::vector<Arg> none;
    Bound b = bind(e, e.kind == Expr::Kind::Call ? e.args : none, *sig, prefix);
    if (!b.ok) return std::nullopt;
    return b;
  }

  // The override for `key`, if any, marked as used.
  const Expr *takeOverride(const std::string &key) {
    if (key.empty()) return nullptr;
    auto it = overrides_.find(key);
    if (it == overrides_.end()) return nullptr;
    usedOverrides_.insert(key);
    return it->second.get();
  }

  void checkOverridesUsed() {
    for (const auto &[key, value] : overrides_)
      if (!usedOverrides_.count(key)) diags_.error({}, fmt::format("{}: '{}' is not a setting of this program", value->origin, key));
  }

  SourceRange nameRange(const Expr &e) {
    return {e.range.begin, e.range.begin.col + static_cast<int>(e.text.size())};
  }

  // ---- declarations ----

  void checkBlocksOnce() {
    for (size_t i = 1; i < prog_.objectiveBlocks.size(); ++i) {
      error(prog_.objectiveBlocks[i], "a program has one objective block");
      note(prog_.objectiveBlocks[0], "the first objective block is here");
    }
    for (size_t i = 1; i < prog_.trainBlocks.size(); ++i) {
      error(prog_.trainBlocks[i], "a program has one train block");
      note(prog_.trainBlocks[0], "the first train block is here");
    }
  }

  void setTrain(const std::string &key, int64_t v) {
    if (key == "batch") out_.train.batch = v;
    if (key == "steps") out_.train.steps = v;
    if (key == "seed") out_.train.seed = v;
    if (key == "eval_every") out_.train.evalEvery = v;
  }

  void checkTrain() {
    std::map<std::string, SourceRange> seen;
    for (const Signature &sig : trainSettings()) {
      if (const Expr *o = takeOverride(std::string("train.") + sig.name)) {
        std::optional<Const> c = constant(*o);
        if (c && fits(*o, *c, sig.params[0], "train")) setTrain(sig.name, static_cast<int64_t>(c->number));
        seen[sig.name] = {};  // the file's own setting, if any, is replaced
      }
    }
    for (const TrainSetting &s : prog_.train) {
      const Signature *sig = findSig(trainSettings(), s.key.text);
      if (!sig) {
        error(s.key.range, fmt::format("unknown train setting '{}'{}", s.key.text,
                                       suggest(s.key.text, {"batch", "steps", "seed", "eval_every", "optimize"})));
        continue;
      }
      if (auto [it, fresh] = seen.insert({s.key.text, s.key.range}); !fresh) {
        if (it->second.begin.line == 0) continue;  // overridden from the command line
        error(s.key.range, fmt::format("'{}' is set twice", s.key.text));
        note(it->second, "first set here");
        continue;
      }
      std::optional<Const> c = constant(*s.value);
      if (!c || !fits(*s.value, *c, sig->params[0], "train")) continue;
      setTrain(s.key.text, static_cast<int64_t>(c->number));
    }
  }

  void checkData() {
    if (prog_.data.empty()) {
      error(SourceRange{}, "the program has no data: declare it as in 'data x ~ ring(modes: 8)'");
      return;
    }
    for (size_t i = 1; i < prog_.data.size(); ++i) {
      error(prog_.data[i].var.range, "a program has one data declaration");
      note(prog_.data[0].var.range, "the data is declared here");
    }
    const DataDecl &d = prog_.data[0];
    out_.data.var = d.var.text;
    DataSpec &spec = out_.data;
    // The width of the built-in 2-D and 1-D sources does not depend on their parameters: known even when a
    // parameter is wrong, so one bad value does not also make every use of D look wrong.
    if (d.source->text == "bimodal1d") spec.dim = 1;
    if (d.source->text == "ring" || d.source->text == "grid" || d.source->text == "spiral" || d.source->text == "swissroll") spec.dim = 2;
    std::optional<Bound> b = bindBuiltin(*d.source, dataSources(), "data source", "data.");
    if (!b) return;
    spec.kind = d.source->text;
    for (const auto &[name, c] : b->values)
      if (c.kind == Const::Kind::Number) spec.params[name] = c.number;
    if (spec.kind == "csv" || spec.kind == "npy") {
      const std::string &given = b->values.at("path").text;
      std::filesystem::path p(given);
      spec.path = p.is_absolute() || dir_.empty() ? given : (std::filesystem::path(dir_) / p).string();
      spec.standardize = b->values.at("standardize").number != 0;
      try {
        spec.dim = spec.kind == "csv" ? csvColumns(spec.path) : [&] {
          NpyHeader h = readNpyHeader(spec.path);
          return h.shape.size() == 1 ? int64_t{1} : h.shape[1];
        }();
      } catch (const FileError &e) {
        error(*b->exprs.at("path"), e.what());
      }
    } else if (spec.kind == "normal") {
      spec.dim = static_cast<int64_t>(spec.params.at("dim"));
    }
  }

  void checkNoise() {
    if (prog_.noise.empty()) {
      error(SourceRange{}, "the program has no noise: declare it as in 'noise z ~ normal(dim: 64)'");
      return;
    }
    for (size_t i = 1; i < prog_.noise.size(); ++i) {
      error(prog_.noise[i].var.range, "a program has one noise declaration");
      note(prog_.noise[0].var.range, "the noise is declared here");
    }
    const NoiseDecl &n = prog_.noise[0];
    out_.noise.var = n.var.text;
    if (!prog_.data.empty() && n.var.text == prog_.data[0].var.text) {
      error(n.var.range, fmt::format("'{}' is already the data's name", n.var.text));
      note(prog_.data[0].var.range, "the data is declared here");
      out_.noise.var.clear();  // no network is then taken for the generator, which would only cascade
      noiseClash_ = true;
      return;
    }
    std::optional<Bound> b = bindBuiltin(*n.dist, noiseSources(), "noise distribution", "noise.");
    if (!b) return;
    out_.noise.kind = n.dist->text;
    out_.noise.dim = static_cast<int64_t>(b->get("dim"));
    if (out_.noise.kind == "normal") {
      out_.noise.a = b->get("mean");
      out_.noise.b = b->get("std");
    } else {
      out_.noise.a = b->get("low");
      out_.noise.b = b->get("high");
      if (!(out_.noise.a < out_.noise.b)) error(*n.dist, fmt::format("uniform noise needs low < high, got low {} and high {}", out_.noise.a, out_.noise.b));
    }
  }

  // Flattens a layer expression into steps: `relu(linear(128))` is linear then relu.
  bool layerSteps(const Expr &e, std::vector<LayerStep> &steps, const std::string &layerName) {
    const Signature *sig = nullptr;
    if (e.kind == Expr::Kind::Call && e.text != "linear" && findSig(layers(), e.text)) {
      // An activation applied to an inner layer: its first positional argument.
      const Expr *inner = nullptr;
      std::vector<Arg> rest;
      for (const Arg &a : e.args)
        if (a.name.empty() && !inner) inner = a.value.get();
      if (inner && !layerSteps(*inner, steps, layerName)) return false;
      // Bind the activation's own (named) arguments.
      std::optional<Bound> b = bindBuiltin(e, layers(), "layer", "", &sig);
      if (!b) return false;
      LayerStep act{LayerStep::Kind::Activation, "", 0, true, e.text, b->values.count("alpha") ? b->get("alpha") : 0.0};
      steps.push_back(act);
      return true;
    }
    if ((e.kind == Expr::Kind::Call || e.kind == Expr::Kind::Name) && findSig(layers(), e.text)) {
      std::optional<Bound> b = bindBuiltin(e, layers(), "layer", "", &sig);
      if (!b) return false;
      if (e.text == "linear") {
        if (e.kind == Expr::Kind::Name) {
          error(e, "'linear' needs its 'width' argument");
          return false;
        }
        steps.push_back({LayerStep::Kind::Linear, layerName, static_cast<int64_t>(b->get("width")), b->values.at("bias").number != 0, "", 0});
      } else {
        steps.push_back({LayerStep::Kind::Activation, "", 0, true, e.text, b->values.count("alpha") ? b->get("alpha") : 0.0});
      }
      return true;
    }
    if (e.kind == Expr::Kind::Call || e.kind == Expr::Kind::Name) {
      error(nameRange(e), fmt::format("unknown layer '{}'{}", e.text, suggest(e.text, namesOf(layers()))));
    } else {
      error(e, "expected a layer: linear(width), an activation such as relu(linear(128)), or a bare activation");
    }
    return false;
  }

  void checkNets() {
    std::map<std::string, const NetDecl *> byName;
    const NetDecl *gen = nullptr, *disc = nullptr;
    bool badInput = false;  // a network takes neither the data nor the noise
    for (const NetDecl &n : prog_.nets) {
      if (auto [it, fresh] = byName.insert({n.name.text, &n}); !fresh) {
        error(n.name.range, fmt::format("network '{}' is defined twice", n.name.text));
        note(it->second->name.range, fmt::format("{} is first defined here", n.name.text));
        continue;
      }
      NetSpec spec;
      spec.name = n.name.text;
      spec.input = n.input.text;
      bool isGen = n.input.text == out_.noise.var && !out_.noise.var.empty();
      bool isDisc = n.input.text == out_.data.var && !out_.data.var.empty();
      if (!isGen && !isDisc) badInput = true;
      if (!isGen && !isDisc && !prog_.data.empty() && !prog_.noise.empty()) {
        error(n.input.range, fmt::format("network '{}' takes '{}', which is neither the data ('{}') nor the noise ('{}')",
                                         n.name.text, n.input.text, out_.data.var, out_.noise.var));
      }
      spec.inWidth = isGen ? out_.noise.dim : isDisc ? out_.data.dim : 0;
      // Declared output width.
      std::optional<Const> w = constant(*n.width);
      ParamSpec widthSpec = intIn("output width", std::nullopt, 1, kMaxWidth);
      bool widthOk = w && fits(*n.width, *w, widthSpec, n.name.text);
      if (widthOk) spec.outWidth = static_cast<int64_t>(w->number);
      // Initialisation.
      if (n.init) {
        if (std::optional<Bound> b = bindBuiltin(*n.init, inits(), "initialisation")) {
          spec.init.kind = n.init->text;
          if (b->values.count("gain")) spec.init.param = b->get("gain");
          if (b->values.count("std")) spec.init.param = b->get("std");
        }
      }
      // Layers.
      std::map<std::string, SourceRange> layerNames;
      int linearCount = 0;
      bool layersOk = true;  // a layer already reported is missing from the steps: its width is unknown
      for (const Layer &l : n.layers) {
        size_t before = spec.steps.size();
        std::string name = l.name.empty() ? fmt::format("l{}", linearCount) : l.name.text;
        if (!layerSteps(*l.expr, spec.steps, name)) {
          layersOk = false;
          continue;
        }
        int linears = 0;
        for (size_t i = before; i < spec.steps.size(); ++i) linears += spec.steps[i].kind == LayerStep::Kind::Linear;
        if (!l.name.empty() && linears != 1) {
          error(l.name.range, fmt::format("layer name '{}' must name exactly one linear layer", l.name.text));
          continue;
        }
        SourceRange at = l.name.empty() ? l.expr->range : l.name.range;
        if (linears == 1) {
          if (auto [it, fresh] = layerNames.insert({name, at}); !fresh) {
            error(at, fmt::format("layer name '{}' is used twice in '{}'", name, n.name.text));
            note(it->second, "first used here");
          }
        }
        linearCount += linears;
      }
      const LayerStep *last = nullptr;
      for (const LayerStep &s : spec.steps)
        if (s.kind == LayerStep::Kind::Linear) last = &s;
      if (!last && !n.layers.empty() && spec.steps.size() == n.layers.size()) {
        error(n.name.range, fmt::format("network '{}' has no linear layer", n.name.text));
      } else if (n.layers.empty()) {
        error(n.name.range, fmt::format("network '{}' has no layers", n.name.text));
      } else if (last && widthOk && layersOk && last->width != spec.outWidth) {
        error(*n.width, fmt::format("'{}' is declared with output width {}, but its last linear layer has width {}",
                                    n.name.text, spec.outWidth, last->width));
      }
      if (isGen) {
        if (gen) {
          error(n.name.range, fmt::format("two networks take the noise '{}': '{}' and '{}'", out_.noise.var, gen->name.text, n.name.text));
          note(gen->name.range, fmt::format("{} is defined here", gen->name.text));
          continue;
        }
        gen = &n;
        out_.generator = spec;
      } else if (isDisc) {
        if (disc) {
          if (noiseClash_) continue;  // the networks' inputs cannot be told apart: already reported
          error(n.name.range, fmt::format("two networks take the data '{}': '{}' and '{}'", out_.data.var, disc->name.text, n.name.text));
          note(disc->name.range, fmt::format("{} is defined here", disc->name.text));
          continue;
        }
        disc = &n;
        out_.discriminator = spec;
      }
    }
    if (!gen && !out_.noise.var.empty() && !badInput)
      error(SourceRange{}, fmt::format("no generator: declare a network that takes the noise, as in 'net G({}) -> {} {{ ... }}'",
                                                out_.noise.var, out_.data.dim));
    if (!disc && !out_.data.var.empty() && !badInput)
      error(SourceRange{}, fmt::format("no discriminator: declare a network that takes the data, as in 'net D({}) -> 1 {{ ... }}'",
                                                out_.data.var));
    if (gen && out_.generator.outWidth && out_.data.dim && out_.generator.outWidth != out_.data.dim) {
      error(*gen->width, fmt::format("generator '{}' makes samples of width {}, but the data '{}' has width {}",
                                     gen->name.text, out_.generator.outWidth, out_.data.var, out_.data.dim));
      out_.generator.outWidth = 0;  // unknown from here on: D(G(z)) would only repeat this error
    }
    gen_ = gen;
    disc_ = disc;
  }

  // A network named in a statement: must exist; `wantDiscriminator` restricts it.
  const NetDecl *netNamed(const Name &n, const char *statement, bool wantDiscriminator) {
    const NetDecl *decl = nullptr;
    for (const NetDecl &d : prog_.nets)
      if (d.name.text == n.text && !decl) decl = &d;
    if (!decl) {
      std::vector<std::string> names;
      for (const NetDecl &d : prog_.nets)
        if (!wantDiscriminator || &d == disc_) names.push_back(d.name.text);
      error(n.range, fmt::format("unknown network '{}' in '{}'{}", n.text, statement, suggest(n.text, names)));
      return nullptr;
    }
    if (wantDiscriminator && decl != disc_) {
      error(n.range, fmt::format("'{}' applies to the discriminator, but '{}' is {}", statement, n.text,
                                 decl == gen_ ? "the generator" : "not the discriminator"));
      if (disc_) note(disc_->name.range, fmt::format("the discriminator is '{}'", disc_->name.text));
      return nullptr;
    }
    return decl;
  }

  void checkOptimizers() {
    std::map<std::string, SourceRange> seen;
    for (const OptimizeStmt &o : prog_.optimizers) {
      const NetDecl *n = netNamed(o.net, "optimize", false);
      if (!n) continue;
      if (auto [it, fresh] = seen.insert({o.net.text, o.net.range}); !fresh) {
        error(o.net.range, fmt::format("'{}' already has an optimizer", o.net.text));
        note(it->second, "its optimizer is set here");
        continue;
      }
      std::optional<Bound> b = bindBuiltin(*o.call, optimizers(), "optimizer", "optimize." + o.net.text + ".");
      if (!b) continue;
      OptimizerSpec spec{o.call->text, {}};
      for (const auto &[name, c] : b->values) spec.params[name] = c.number;
      (n == disc_ ? out_.discriminatorOptimizer : out_.generatorOptimizer) = spec;
    }
    // Networks without an optimize statement get Adam with PyTorch's defaults (and any --set overrides).
    for (const NetDecl *n : {disc_, gen_}) {
      if (!n || seen.count(n->name.text)) continue;
      Expr adam;
      adam.kind = Expr::Kind::Name;
      adam.text = "adam";
      Bound b = bind(adam, {}, *findSig(optimizers(), "adam"), "optimize." + n->name.text + ".");
      if (!b.ok) continue;
      OptimizerSpec spec{"adam", {}};
      for (const auto &[name, c] : b.values) spec.params[name] = c.number;
      (n == disc_ ? out_.discriminatorOptimizer : out_.generatorOptimizer) = spec;
    }
  }

  // ---- the objective ----

  std::optional<ExprShape> shapeOf(const Expr &e) {
    switch (e.kind) {
      case Expr::Kind::Number: return ExprShape{};
      case Expr::Kind::String:
        error(e, "a string is not a value here");
        return std::nullopt;
      case Expr::Kind::Name: {
        if (auto it = scope_.find(e.text); it != scope_.end()) return it->second.shape;
        if (failedLets_.count(e.text)) return std::nullopt;  // its definition is already reported
        for (const NetDecl &n : prog_.nets)
          if (n.name.text == e.text) {
            error(e, fmt::format("'{}' is a network: apply it to samples, as in {}({})", e.text, e.text, n.input.text));
            return std::nullopt;
          }
        std::vector<std::string> names;
        for (const auto &[name, s] : scope_) names.push_back(name);
        names.insert(names.end(), failedLets_.begin(), failedLets_.end());
        error(e, fmt::format("unknown name '{}'{}", e.text, suggest(e.text, names)));
        return std::nullopt;
      }
      case Expr::Kind::Neg: return shapeOf(*e.lhs);
      case Expr::Kind::Binary: {
        std::optional<ExprShape> a = shapeOf(*e.lhs), b = shapeOf(*e.rhs);
        if (!a || !b) return std::nullopt;
        ExprShape r;
        if (!broadcastShapes(*a, *b, r)) {
          error(e, fmt::format("shapes {} and {} cannot be broadcast together in '{}'", shapeText(*a), shapeText(*b), e.text));
          return std::nullopt;
        }
        return r;
      }
      case Expr::Kind::Call: return callShape(e);
    }
    return std::nullopt;
  }

  std::optional<ExprShape> callShape(const Expr &e) {
    const int64_t batch = out_.train.batch;
    // A network applied to samples.
    for (const NetDecl &n : prog_.nets) {
      if (n.name.text != e.text) continue;
      const NetSpec *spec = n.name.text == out_.generator.name ? &out_.generator
                            : n.name.text == out_.discriminator.name ? &out_.discriminator : nullptr;
      if (e.args.size() != 1 || !e.args[0].name.empty()) {
        error(e, fmt::format("network '{}' takes one argument, the samples", e.text));
        return std::nullopt;
      }
      std::optional<ExprShape> in = shapeOf(*e.args[0].value);
      if (!in || !spec || spec->inWidth == 0 || spec->outWidth == 0) return std::nullopt;  // already reported
      ExprShape want = {batch, spec->inWidth};
      if (*in != want) {
        error(*e.args[0].value, fmt::format("'{}' takes samples of shape {} ({} samples of width {}), got {}", e.text,
                                            shapeText(want), batch, spec->inWidth, shapeText(*in)));
        note(n.name.range, fmt::format("{} is declared here", e.text));
        return std::nullopt;
      }
      return ExprShape{batch, spec->outWidth};
    }
    const Signature *sig = findSig(functions(), e.text);
    if (!sig) {
      std::vector<std::string> names = namesOf(functions());
      for (const NetDecl &n : prog_.nets) names.push_back(n.name.text);
      error(nameRange(e), fmt::format("unknown function '{}'{}", e.text, suggest(e.text, names)));
      return std::nullopt;
    }
    Bound b = bind(e, e.args, *sig);
    if (!b.ok) return std::nullopt;
    if (e.text == "uniform" || e.text == "normal") return ExprShape{batch, static_cast<int64_t>(b.get("dim"))};
    if (e.text == "grad") {
      const Expr *of = b.exprs.at("of"), *wrt = b.exprs.at("wrt");
      std::optional<ExprShape> s = shapeOf(*of);
      if (!s) return std::nullopt;
      if (wrt->kind == Expr::Kind::Name && !scope_.count(wrt->text)) return shapeOf(*wrt);  // reports why
      if (wrt->kind != Expr::Kind::Name) {
        error(*wrt, "grad's second argument must be a name: the data, the noise or a 'let' value");
        return std::nullopt;
      }
      return scope_.at(wrt->text).shape;
    }
    std::optional<ExprShape> x = shapeOf(*b.exprs.at("x"));
    if (!x) return std::nullopt;
    if (e.text == "mean" || e.text == "sum" || e.text == "norm") {
      if (!b.values.count("axis")) return ExprShape{};
      auto axis = static_cast<int64_t>(b.get("axis"));
      auto rank = static_cast<int64_t>(x->size());
      if (axis < -rank || axis >= rank) {
        error(*b.exprs.at("axis"), fmt::format("axis {} is out of range for a value of shape {}", axis, shapeText(*x)));
        return std::nullopt;
      }
      x->erase(x->begin() + (axis < 0 ? axis + rank : axis));
    }
    return x;
  }

  // The loss family's two expressions, written as a user would write them.
  void expandFamily(const LossesStmt &s) {
    const std::string &f = s.family.text;
    if (std::none_of(kLossFamilies.begin(), kLossFamilies.end(), [&](const char *k) { return f == k; })) {
      std::vector<std::string> names(kLossFamilies.begin(), kLossFamilies.end());
      error(s.family.range, fmt::format("unknown loss family '{}'{}", f, suggest(f, names)));
      return;
    }
    if (!gen_ || !disc_) return;
    const std::string D = disc_->name.text, G = gen_->name.text, x = out_.data.var, z = out_.noise.var;
    std::string real = fmt::format("{}({})", D, x), fake = fmt::format("{}({}({}))", D, G, z);
    std::string d, g;
    if (f == "minimax" || f == "nonsaturating") {
      d = fmt::format("mean(softplus(-{})) + mean(softplus({}))", real, fake);
      // minimax is the zero-sum game: G's loss is minus D's, real term included. It only matters when D is
      // unrolled, where D's parameters after K steps depend on G (Metz et al. 2016 unroll exactly this).
      g = f == "minimax" ? fmt::format("-(mean(softplus(-{})) + mean(softplus({})))", real, fake) : fmt::format("mean(softplus(-{}))", fake);
    } else if (f == "wasserstein") {
      d = fmt::format("mean({}) - mean({})", fake, real);
      g = fmt::format("-mean({})", fake);
    } else if (f == "hinge") {
      d = fmt::format("mean(relu(1 - {})) + mean(relu(1 + {}))", real, fake);
      g = fmt::format("-mean({})", fake);
    } else {  // least_squares (LSGAN with targets 0 and 1)
      d = fmt::format("0.5 * mean(({} - 1)^2) + 0.5 * mean({}^2)", real, fake);
      g = fmt::format("0.5 * mean(({} - 1)^2)", fake);
    }
    out_.lossFamily = f;
    for (const std::string *text : {&d, &g}) {
      DiagnosticList scratch(diags_.file());
      ExprPtr e = parseExpression(*text, "", scratch);
      relocate(*e, s.family.range);
      out_.familyExprs.push_back(std::move(e));
    }
    setLoss(disc_, out_.familyExprs[out_.familyExprs.size() - 2].get(), s.family.range);
    setLoss(gen_, out_.familyExprs.back().get(), s.family.range);
  }

  // Family expressions point at the `losses` statement in messages.
  static void relocate(Expr &e, SourceRange at) {
    e.range = at;
    if (e.lhs) relocate(*e.lhs, at);
    if (e.rhs) relocate(*e.rhs, at);
    for (Arg &a : e.args) relocate(*a.value, at);
  }

  void setLoss(const NetDecl *net, const Expr *value, SourceRange at) {
    bool isD = net == disc_;
    const Expr *&slot = isD ? out_.discriminatorLoss : out_.generatorLoss;
    SourceRange &where = isD ? dLossAt_ : gLossAt_;
    if (slot) {
      error(at, fmt::format("the loss of '{}' is defined twice", net->name.text));
      note(where, "first defined here");
      return;
    }
    slot = value;
    where = at;
    std::optional<ExprShape> s = shapeOf(*value);
    if (s && !s->empty())
      error(*value, fmt::format("the loss of '{}' must be a scalar, but it has shape {}; reduce it with mean(...) or sum(...)",
                                net->name.text, shapeText(*s)));
    else if (s && !applies(*value, net->name.text))
      error(*value, fmt::format("the loss of '{}' does not depend on '{}': it never applies {}, directly or through a 'let'",
                                net->name.text, net->name.text, net->name.text));
  }

  // Whether `e` applies the network `net`, itself or through the lets it names.
  bool applies(const Expr &e, const std::string &net) const {
    if (e.kind == Expr::Kind::Call && e.text == net) return true;
    if (e.kind == Expr::Kind::Name)
      for (const LetStmt *let : out_.lets)
        if (let->name.text == e.text) return applies(*let->value, net);
    if (e.lhs && applies(*e.lhs, net)) return true;
    if (e.rhs && applies(*e.rhs, net)) return true;
    for (const Arg &a : e.args)
      if (applies(*a.value, net)) return true;
    return false;
  }

  void checkObjective() {
    if (!out_.data.var.empty()) scope_[out_.data.var] = {{out_.train.batch, out_.data.dim}, prog_.data[0].var.range};
    if (!out_.noise.var.empty()) scope_[out_.noise.var] = {{out_.train.batch, out_.noise.dim}, prog_.noise[0].var.range};
    bool sawUnroll = false, sawNCritic = false, sawFamily = false;
    SourceRange firstUnroll, firstNCritic;
    std::map<std::string, SourceRange> penaltiesSeen;
    for (const ObjectiveStmt &stmt : prog_.objective) {
      if (const auto *let = std::get_if<LetStmt>(&stmt)) {
        bool clash = scope_.count(let->name.text) > 0 || failedLets_.count(let->name.text) > 0;
        for (const NetDecl &n : prog_.nets) clash = clash || n.name.text == let->name.text;
        if (clash) {
          error(let->name.range, fmt::format("'{}' is already defined", let->name.text));
          if (auto it = scope_.find(let->name.text); it != scope_.end()) note(it->second.declared, fmt::format("{} is defined here", let->name.text));
          for (const NetDecl &n : prog_.nets)
            if (n.name.text == let->name.text) note(n.name.range, fmt::format("{} is a network, defined here", n.name.text));
          continue;
        }
        if (std::optional<ExprShape> s = shapeOf(*let->value)) {
          scope_[let->name.text] = {*s, let->name.range};
          out_.lets.push_back(let);
        } else {
          failedLets_.insert(let->name.text);
        }
      } else if (const auto *loss = std::get_if<LossStmt>(&stmt)) {
        if (const NetDecl *n = netNamed(loss->net, "loss", false); n && (n == gen_ || n == disc_)) setLoss(n, loss->value.get(), loss->net.range);
      } else if (const auto *fam = std::get_if<LossesStmt>(&stmt)) {
        sawFamily = true;
        expandFamily(*fam);
      } else if (const auto *u = std::get_if<UnrollStmt>(&stmt)) {
        if (sawUnroll) {
          error(u->keyword, "'unroll' is given twice");
          note(firstUnroll, "first given here");
          continue;
        }
        sawUnroll = true;
        firstUnroll = u->keyword;
        if (!netNamed(u->net, "unroll", true)) continue;
        const Expr *steps = takeOverride("unroll.steps");
        if (!steps) steps = u->steps.get();
        std::optional<Const> k = constant(*steps);
        if (!k || !fits(*steps, *k, intIn("steps", std::nullopt, 0, 100), "unroll")) continue;
        Bound b = bind(*u->steps, u->options, unrollSignature, "unroll.");
        if (!b.ok) continue;
        out_.unroll = {static_cast<int64_t>(k->number), b.values.at("order").text == "second", b.values.at("fresh").number != 0};
      } else if (const auto *p = std::get_if<PenaltyStmt>(&stmt)) {
        if (!netNamed(p->net, "penalty", true)) continue;
        std::optional<Bound> b = bindBuiltin(*p->call, penalties(), "penalty", "penalty." + p->call->text + ".");
        if (!b) continue;
        if (auto [it, fresh] = penaltiesSeen.insert({p->call->text, p->call->range}); !fresh) {
          error(p->call->range, fmt::format("penalty '{}' is given twice", p->call->text));
          note(it->second, "first given here");
          continue;
        }
        PenaltySpec spec{p->call->text, {}};
        for (const auto &[name, c] : b->values) spec.params[name] = c.number;
        out_.penalties.push_back(spec);
      } else if (const auto *nc = std::get_if<NCriticStmt>(&stmt)) {
        if (sawNCritic) {
          error(nc->keyword, "'n_critic' is given twice");
          note(firstNCritic, "first given here");
          continue;
        }
        sawNCritic = true;
        firstNCritic = nc->keyword;
        const Expr *value = takeOverride("n_critic");
        if (!value) value = nc->value.get();
        std::optional<Const> c = constant(*value);
        if (c && fits(*value, *c, intIn("n_critic", std::nullopt, 1, 100), "objective")) out_.nCritic = static_cast<int64_t>(c->number);
      }
    }
    // Overrides of statements the file leaves out (unrolling and n_critic concern the discriminator only).
    if (!sawNCritic) {
      if (const Expr *value = takeOverride("n_critic")) {
        std::optional<Const> c = constant(*value);
        if (c && fits(*value, *c, intIn("n_critic", std::nullopt, 1, 100), "objective")) out_.nCritic = static_cast<int64_t>(c->number);
      }
    }
    if (!sawUnroll) {
      if (const Expr *steps = takeOverride("unroll.steps")) {
        std::optional<Const> k = constant(*steps);
        Bound b = bind(*steps, {}, unrollSignature, "unroll.");
        if (k && fits(*steps, *k, intIn("steps", std::nullopt, 0, 100), "unroll") && b.ok)
          out_.unroll = {static_cast<int64_t>(k->number), b.values.at("order").text == "second", b.values.at("fresh").number != 0};
      }
    }
    SourceRange at = prog_.objectiveBlocks.empty() ? SourceRange{} : prog_.objectiveBlocks[0];
    if (prog_.objectiveBlocks.empty()) {
      error(at, "the program has no objective: add 'objective { losses nonsaturating }' or write both losses");
    } else if (!sawFamily) {
      if (!out_.discriminatorLoss && disc_)
        error(at, fmt::format("the objective has no loss for the discriminator: add 'loss {} = ...' or 'losses FAMILY'", disc_->name.text));
      if (!out_.generatorLoss && gen_)
        error(at, fmt::format("the objective has no loss for the generator: add 'loss {} = ...' or 'losses FAMILY'", gen_->name.text));
    }
  }

  const Program &prog_;
  std::string dir_;
  const Overrides &overrides_;
  std::set<std::string> usedOverrides_;
  DiagnosticList &diags_;
  CheckedProgram out_;
  const NetDecl *gen_ = nullptr, *disc_ = nullptr;
  std::map<std::string, Scope> scope_;
  bool noiseClash_ = false;
  std::set<std::string> failedLets_;  // defined by a 'let' whose value has an error (already reported)
  SourceRange dLossAt_, gLossAt_;
};

}  // namespace

const NetSpec *CheckedProgram::net(const std::string &name) const {
  if (generator.name == name) return &generator;
  if (discriminator.name == name) return &discriminator;
  return nullptr;
}

bool broadcastShapes(const ExprShape &a, const ExprShape &b, ExprShape &out) {
  size_t rank = std::max(a.size(), b.size());
  out.assign(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1) return false;
    out[i] = std::max(da, db);
  }
  return true;
}

CheckedProgram checkProgram(const Program &program, const std::string &sourceDir, const Overrides &overrides,
                            DiagnosticList &diags) {
  return Checker(program, sourceDir, overrides, diags).run();
}

Overrides parseOverrides(const std::vector<std::string> &settings, DiagnosticList &diags) {
  Overrides out;
  for (const std::string &s : settings) {
    std::string origin = "--set " + s;
    size_t eq = s.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == s.size()) {
      diags.error({}, fmt::format("{}: expected KEY=VALUE, as in train.steps=1000", origin));
      continue;
    }
    std::string key = s.substr(0, eq);
    if (key == "objective.unroll") key = "unroll.steps";  // the name sweeps are often written with (0,5,10)
    if (out.count(key)) {
      diags.error({}, fmt::format("{}: '{}' is set twice on the command line", origin, key));
      continue;
    }
    DiagnosticList scratch(origin);
    ExprPtr value = parseExpression(s.substr(eq + 1), origin, scratch);
    if (!value || scratch.hasErrors()) {
      std::string why = scratch.all().empty() ? "not a value" : scratch.all().front().message;
      diags.error({}, fmt::format("{}: {}", origin, why));
      continue;
    }
    out[key] = std::move(value);
  }
  return out;
}

}  // namespace gantry::frontend
