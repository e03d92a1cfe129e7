// Recursive-descent parser for .gan programs. Each statement parser throws SyntaxError after reporting; the
// block loops catch it, skip to the statement's end, and continue.
#include "frontend/Parser.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <limits>

#include "frontend/Lexer.h"

namespace gantry::frontend {
namespace {

struct SyntaxError {};

std::string describe(const Token &t, bool inValue) {
  switch (t.kind) {
    case Tok::End: return inValue ? "the end of the value" : "end of file";
    case Tok::Newline: return "end of line";
    case Tok::String: return "a string";
    default: return "'" + t.text + "'";
  }
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, DiagnosticList &diags, std::string origin = {})
      : toks_(std::move(tokens)), diags_(diags), origin_(std::move(origin)) {}

  Program program() {
    Program p;
    p.file = diags_.file();
    skipSeparators();
    while (!at(Tok::End)) {
      try {
        item(p);
      } catch (const SyntaxError &) {
        recoverTopLevel();
      }
      skipSeparators();
    }
    return p;
  }

  ExprPtr singleExpression() {
    try {
      ExprPtr e = expr();
      if (!at(Tok::Newline) && !at(Tok::End)) fail(cur(), fmt::format("unexpected {} after the value", describe(cur(), !origin_.empty())));
      return e;
    } catch (const SyntaxError &) {
      return nullptr;
    }
  }

 private:
  // ---- token helpers ----
  const Token &cur() const { return toks_[pos_]; }
  bool at(Tok k) const { return cur().kind == k; }
  bool atPunct(const char *p) const { return cur().kind == Tok::Punct && cur().text == p; }
  bool atKeyword(const char *k) const { return cur().kind == Tok::Ident && cur().text == k; }
  Token take() {
    Token t = cur();
    if (!at(Tok::End)) ++pos_;
    return t;
  }
  [[noreturn]] void fail(const Token &at, std::string msg) {
    diags_.error(at.range, std::move(msg));
    throw SyntaxError{};
  }
  // An error for a missing closing bracket, with a note where the bracket opened.
  [[noreturn]] void unmatched(SourceRange open, const std::string &what, const char *noteText) {
    diags_.error(cur().range, fmt::format("expected {}, found {}", what, describe(cur(), !origin_.empty())));
    if (origin_.empty()) diags_.note(open, noteText);
    throw SyntaxError{};
  }
  [[noreturn]] void expected(const std::string &what) { fail(cur(), fmt::format("expected {}, found {}", what, describe(cur(), !origin_.empty()))); }
  void expectPunct(const char *p) {
    if (!atPunct(p)) expected(fmt::format("'{}'", p));
    take();
  }
  Name name(const char *what) {
    if (!at(Tok::Ident)) expected(what);
    Token t = take();
    return {t.text, t.range};
  }
  bool atSeparator() const { return at(Tok::Newline) || atPunct(";"); }
  void skipSeparators() {
    while (atSeparator()) take();
  }
  void endStatement() {
    if (atSeparator()) {
      take();
    } else if (!atPunct("}") && !at(Tok::End)) {
      expected("the end of the statement (a new line or ';')");
    }
  }

  // Skips to the end of the current statement inside a block: a separator or the block's '}' at depth 0.
  void recoverInBlock() {
    int depth = 0;
    while (!at(Tok::End)) {
      if (depth == 0 && (atSeparator() || atPunct("}"))) return;
      if (atPunct("{")) ++depth;
      if (atPunct("}")) --depth;
      take();
    }
  }
  // Skips to the next line that starts with a top-level keyword.
  void recoverTopLevel() {
    int depth = 0;
    while (!at(Tok::End)) {
      if (atPunct("{")) ++depth;
      if (atPunct("}") && --depth <= 0) {
        take();
        if (depth <= 0) return;
        continue;
      }
      if (depth <= 0 && at(Tok::Newline)) {
        // The lines of a block whose '{' is missing are not top-level items: skip them too.
        skipSeparators();
        if (at(Tok::End) || atKeyword("data") || atKeyword("noise") || atKeyword("net") || atKeyword("objective") ||
            atKeyword("train"))
          return;
        continue;
      }
      take();
    }
  }

  // ---- top level ----
  void item(Program &p) {
    if (atKeyword("data")) {
      take();
      DataDecl d;
      d.var = name("a name for the data, as in 'data x ~ ring()'");
      expectPunct("~");
      d.source = call("a distribution or file, such as ring() or csv(\"points.csv\")");
      p.data.push_back(std::move(d));
      endStatement();
    } else if (atKeyword("noise")) {
      take();
      NoiseDecl n;
      n.var = name("a name for the noise, as in 'noise z ~ normal(dim: 64)'");
      expectPunct("~");
      n.dist = call("a distribution: normal(dim: ..) or uniform(dim: ..)");
      p.noise.push_back(std::move(n));
      endStatement();
    } else if (atKeyword("net")) {
      net(p);
    } else if (atKeyword("objective")) {
      p.objectiveBlocks.push_back(take().range);
      block([&] { objectiveStmt(p); });
    } else if (atKeyword("train")) {
      p.trainBlocks.push_back(take().range);
      block([&] { trainStmt(p); });
    } else {
      expected("'data', 'noise', 'net', 'objective' or 'train'");
    }
  }

  // '{' { statement } '}', each statement parsed by `stmt`, with recovery per statement.
  template <class F>
  void block(F stmt) {
    SourceRange open = cur().range;
    expectPunct("{");
    skipSeparators();
    while (!atPunct("}")) {
      if (at(Tok::End)) unmatched(open, "'}' to close the block", "the block opens here");
      try {
        stmt();
      } catch (const SyntaxError &) {
        recoverInBlock();
      }
      skipSeparators();
    }
    take();
    endStatement();
  }

  void net(Program &p) {
    take();
    NetDecl n;
    n.name = name("a network name, as in 'net D(x) -> 1 { ... }'");
    expectPunct("(");
    n.input = name("the network's input: a data or noise name");
    expectPunct(")");
    expectPunct("->");
    n.width = expr();
    if (atKeyword("init")) {
      take();
      if (!at(Tok::Ident)) expected("an initialisation: he, glorot, orthogonal(..) or normal(..)");
      n.init = at(Tok::Ident) && toks_[pos_ + 1].kind == Tok::Punct && toks_[pos_ + 1].text == "(" ? call("an initialisation")
                                                                                                   : nameExpr();
    }
    block([&] {
      Layer l;
      if (at(Tok::Ident) && toks_[pos_ + 1].kind == Tok::Punct && toks_[pos_ + 1].text == "=") {
        l.name = name("a layer name");
        take();
      }
      l.expr = expr();
      n.layers.push_back(std::move(l));
      endStatement();
    });
    p.nets.push_back(std::move(n));
  }

  void objectiveStmt(Program &p) {
    if (atKeyword("let")) {
      take();
      LetStmt s;
      s.name = name("a name, as in 'let fake = G(z)'");
      expectPunct("=");
      s.value = expr();
      p.objective.emplace_back(std::move(s));
    } else if (atKeyword("loss")) {
      take();
      LossStmt s;
      s.net = name("the network whose loss this is, as in 'loss D = ...'");
      expectPunct("=");
      s.value = expr();
      p.objective.emplace_back(std::move(s));
    } else if (atKeyword("losses")) {
      take();
      p.objective.emplace_back(LossesStmt{name("a loss family: minimax, nonsaturating, wasserstein, hinge or least_squares")});
    } else if (atKeyword("unroll")) {
      take();
      UnrollStmt s;
      s.keyword = toks_[pos_ - 1].range;
      s.net = name("the network to unroll, as in 'unroll D 5'");
      s.steps = expr();
      while (atPunct(",") || at(Tok::Ident)) {
        if (atPunct(",")) take();
        Arg a;
        a.name = name("an option name (order or fresh)");
        expectPunct(":");
        a.value = expr();
        s.options.push_back(std::move(a));
      }
      p.objective.emplace_back(std::move(s));
    } else if (atKeyword("penalty")) {
      take();
      PenaltyStmt s;
      s.net = name("the network to penalise, as in 'penalty D r1(gamma: 10)'");
      s.call = call("a penalty: wgan_gp(..), dragan(..), r1(..) or r2(..)");
      p.objective.emplace_back(std::move(s));
    } else if (atKeyword("n_critic")) {
      NCriticStmt s;
      s.keyword = take().range;
      s.value = expr();
      p.objective.emplace_back(std::move(s));
    } else {
      expected("'let', 'loss', 'losses', 'unroll', 'penalty' or 'n_critic'");
    }
    endStatement();
  }

  void trainStmt(Program &p) {
    if (atKeyword("optimize")) {
      take();
      OptimizeStmt s;
      s.net = name("the network to optimize, as in 'optimize D adam(lr: 1e-4)'");
      s.call = call("an optimizer: sgd(..), adam(..) or rmsprop(..)");
      p.optimizers.push_back(std::move(s));
    } else {
      TrainSetting s;
      s.key = name("a setting (batch, steps, seed, eval_every) or 'optimize'");
      s.value = expr();
      p.train.push_back(std::move(s));
    }
    endStatement();
  }

  // ---- expressions ----
  ExprPtr make(Expr::Kind k, SourceRange r, std::string text = {}) {
    auto e = std::make_unique<Expr>();
    e->kind = k;
    e->range = r;
    e->text = std::move(text);
    e->origin = origin_;
    return e;
  }

  // Widens `e`'s range to end where `last` ends, when both are on one line.
  void extend(Expr &e, SourceRange last) {
    e.range.endCol = last.begin.line == e.range.begin.line && last.endCol > 0 ? last.endCol : 0;
  }

  // One level per expression in brackets, call argument, exponent or unary minus.
  struct DepthGuard {
    Parser &p;
    explicit DepthGuard(Parser &parser) : p(parser) {
      if (++p.depth_ > kMaxNesting) p.fail(p.cur(), fmt::format("expression nested too deeply (more than {} levels)", kMaxNesting));
    }
    ~DepthGuard() { --p.depth_; }
  };

  ExprPtr call(const char *what) {
    if (!at(Tok::Ident)) expected(what);
    ExprPtr callee = nameExpr();
    if (!atPunct("(")) expected(fmt::format("'(' after '{}'", callee->text));
    return callRest(std::move(callee));
  }

  ExprPtr nameExpr() {
    Token t = take();
    return make(Expr::Kind::Name, t.range, t.text);
  }

  ExprPtr expr() {
    DepthGuard guard(*this);
    return additive();
  }

  // A chain a + b + c ... nests one level per operator (the tree leans left), so it counts towards the limit.
  void chainLink(int &links) {
    if (depth_ + ++links > kMaxNesting) fail(cur(), fmt::format("expression nested too deeply (more than {} levels)", kMaxNesting));
  }

  ExprPtr additive() {
    ExprPtr lhs = multiplicative();
    int links = 0;
    while (atPunct("+") || atPunct("-")) {
      chainLink(links);
      Token op = take();  // before parsing the right side (argument order is unspecified)
      lhs = binary(std::move(lhs), op, multiplicative());
    }
    return lhs;
  }

  ExprPtr multiplicative() {
    ExprPtr lhs = unary();
    int links = 0;
    while (atPunct("*") || atPunct("/")) {
      chainLink(links);
      Token op = take();
      lhs = binary(std::move(lhs), op, unary());
    }
    return lhs;
  }

  ExprPtr binary(ExprPtr lhs, const Token &op, ExprPtr rhs) {
    ExprPtr e = make(Expr::Kind::Binary, lhs->range, op.text);
    extend(*e, rhs->range);
    e->lhs = std::move(lhs);
    e->rhs = std::move(rhs);
    return e;
  }

  // Unary minus binds looser than '^' (so -x^2 is -(x^2), as in mathematics and Python).
  ExprPtr unary() {
    if (atPunct("-")) {
      DepthGuard guard(*this);  // a chain of minus signs nests too
      Token minus = take();
      ExprPtr operand = unary();
      ExprPtr e = make(Expr::Kind::Neg, minus.range, "-");
      extend(*e, operand->range);
      e->lhs = std::move(operand);
      return e;
    }
    return power();
  }

  ExprPtr power() {
    ExprPtr base = primary();
    if (!atPunct("^")) return base;
    DepthGuard guard(*this);  // a chain of exponents nests to the right
    Token op = take();
    return binary(std::move(base), op, unary());  // right-associative: 2^3^2 = 2^(3^2)
  }

  ExprPtr primary() {
    if (at(Tok::Number)) {
      Token t = take();
      ExprPtr e = make(Expr::Kind::Number, t.range, t.text);
      e->isInteger = t.text.find_first_of(".eE") == std::string::npos;
      auto [end, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), e->number);
      // Every number ends up in float32 (a constant, a rate, a std): beyond its range it would be an infinity, or
      // undefined behaviour when converted.
      if (ec == std::errc::result_out_of_range || !std::isfinite(e->number) || std::abs(e->number) > std::numeric_limits<float>::max()) {
        diags_.error(t.range, fmt::format("number {} is out of range (numbers are float32: at most 3.4e38)", t.text));
        e->number = 0;
      }
      (void)end;
      return e;
    }
    if (at(Tok::String)) {
      Token t = take();
      return make(Expr::Kind::String, t.range, t.text);
    }
    if (at(Tok::Ident)) {
      ExprPtr n = nameExpr();
      if (atPunct("(")) return callRest(std::move(n));
      return n;
    }
    if (atPunct("(")) {
      Token open = take();
      ExprPtr inner = expr();
      if (!atPunct(")")) unmatched(open.range, "')'", "to match this '('");
      Token close = take();
      extend(*inner, close.range);
      if (inner->range.begin.line == open.range.begin.line) inner->range.begin = open.range.begin;
      return inner;
    }
    expected("an expression");
  }

  ExprPtr callRest(ExprPtr callee) {
    ExprPtr e = make(Expr::Kind::Call, callee->range, callee->text);
    SourceRange open = take().range;  // '('
    while (!atPunct(")")) {
      Arg a;
      if (at(Tok::Ident) && toks_[pos_ + 1].kind == Tok::Punct && toks_[pos_ + 1].text == ":") {
        a.name = name("an argument name");
        take();
      }
      a.value = expr();
      e->args.push_back(std::move(a));
      if (atPunct(",")) {
        take();
      } else if (!atPunct(")")) {
        unmatched(open, "',' or ')'", "to match this '('");
      }
    }
    extend(*e, take().range);
    return e;
  }

  std::vector<Token> toks_;
  DiagnosticList &diags_;
  std::string origin_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

Program parseProgram(std::string_view source, DiagnosticList &diags) {
  std::vector<Token> tokens = lex(source, diags);
  if (diags.hasErrors()) {  // a bad character or number only makes the parser's errors that follow confusing
    Program empty;
    empty.file = diags.file();
    return empty;
  }
  return Parser(std::move(tokens), diags).program();
}

ExprPtr parseExpression(std::string_view source, const std::string &origin, DiagnosticList &diags) {
  std::vector<Token> tokens = lex(source, diags);
  return Parser(std::move(tokens), diags, origin).singleExpression();
}

}  // namespace gantry::frontend
