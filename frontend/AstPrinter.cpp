#include "frontend/AstPrinter.h"

#include <fmt/format.h>

#include "ir/Attributes.h"

namespace gantry::frontend {
namespace {

std::string args(const std::vector<Arg> &as) {
  std::string s;
  for (const Arg &a : as) s += a.name.empty() ? " " + printExpr(*a.value) : fmt::format(" ({}: {})", a.name.text, printExpr(*a.value));
  return s;
}

struct StmtPrinter {
  std::string operator()(const LetStmt &s) const { return fmt::format("(let {} {})", s.name.text, printExpr(*s.value)); }
  std::string operator()(const LossStmt &s) const { return fmt::format("(loss {} {})", s.net.text, printExpr(*s.value)); }
  std::string operator()(const LossesStmt &s) const { return fmt::format("(losses {})", s.family.text); }
  std::string operator()(const UnrollStmt &s) const {
    return fmt::format("(unroll {} {}{})", s.net.text, printExpr(*s.steps), args(s.options));
  }
  std::string operator()(const PenaltyStmt &s) const { return fmt::format("(penalty {} {})", s.net.text, printExpr(*s.call)); }
  std::string operator()(const NCriticStmt &s) const { return fmt::format("(n_critic {})", printExpr(*s.value)); }
};

}  // namespace

std::string printExpr(const Expr &e) {
  switch (e.kind) {
    case Expr::Kind::Number: return e.text;
    case Expr::Kind::String: return ir::quoteString(e.text);
    case Expr::Kind::Name: return e.text;
    case Expr::Kind::Call: return fmt::format("({}{})", e.text, args(e.args));
    case Expr::Kind::Neg: return fmt::format("(neg {})", printExpr(*e.lhs));
    case Expr::Kind::Binary: return fmt::format("({} {} {})", e.text, printExpr(*e.lhs), printExpr(*e.rhs));
  }
  return "?";
}

std::string printAst(const Program &p) {
  std::string s = "(program\n";
  for (const DataDecl &d : p.data) s += fmt::format("  (data {} {})\n", d.var.text, printExpr(*d.source));
  for (const NoiseDecl &n : p.noise) s += fmt::format("  (noise {} {})\n", n.var.text, printExpr(*n.dist));
  for (const NetDecl &n : p.nets) {
    s += fmt::format("  (net {} (input {}) (width {})", n.name.text, n.input.text, printExpr(*n.width));
    if (n.init) s += fmt::format(" (init {})", printExpr(*n.init));
    for (const Layer &l : n.layers)
      s += l.name.empty() ? fmt::format("\n    (layer {})", printExpr(*l.expr))
                          : fmt::format("\n    (layer {} {})", l.name.text, printExpr(*l.expr));
    s += ")\n";
  }
  if (!p.objectiveBlocks.empty()) {
    s += "  (objective";
    for (const ObjectiveStmt &st : p.objective) s += "\n    " + std::visit(StmtPrinter{}, st);
    s += ")\n";
  }
  if (!p.trainBlocks.empty()) {
    s += "  (train";
    for (const TrainSetting &t : p.train) s += fmt::format("\n    ({} {})", t.key.text, printExpr(*t.value));
    for (const OptimizeStmt &o : p.optimizers) s += fmt::format("\n    (optimize {} {})", o.net.text, printExpr(*o.call));
    s += ")\n";
  }
  return s + ")\n";
}

}  // namespace gantry::frontend
