// IR text parser: a hand-written lexer and a recursive-descent parser over this grammar:
//
//   module    := function*
//   function  := 'func' '@'NAME '(' [param (',' param)*] ')' '->' '(' [result (',' result)*] ')'
//                '{' op* 'return' [VALUE (',' VALUE)*] '}'
//   param     := ROLE VALUE ':' type ['~' ('normal' | 'uniform') '(' NUMBER ',' NUMBER ')']
//   result    := NAME ':' type
//   op        := VALUE '=' OPNAME [VALUE (',' VALUE)*] ['{' attr (',' attr)* '}'] ':' type
//   attr      := NAME '=' (NUMBER | 'true' | 'false' | NAME | '[' [NUMBER (',' NUMBER)*] ']')
//   type      := ('f32' | 'i1') '[' [INT (',' INT)*] ']'
//
// Every op is checked against the op table as soon as it is read, so an error points at the op that caused it.
#include "ir/Parser.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <map>

#include "ir/Printer.h"
#include "ir/Verifier.h"
#include "support/Diagnostic.h"

namespace gantry::ir {
namespace {

enum class Tok { Ident, ValueRef, FuncRef, Number, String, Punct, End };

struct Token {
  Tok kind;
  std::string text;  // identifier or name without its sigil; number text; punctuation
  SourceLoc loc;
};

class Lexer {
 public:
  Lexer(std::string_view text, const std::string &file) : text_(text), file_(file) {}

  Token next() {
    skipSpaceAndComments();
    SourceLoc loc{line_, col_};
    if (pos_ >= text_.size()) return {Tok::End, "", loc};
    char c = text_[pos_];
    if (c == '%' || c == '@') {
      advance();
      std::string name = takeWhile([](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.'; });
      if (name.empty()) fail(loc, fmt::format("expected a name after '{}'", c));
      return {c == '%' ? Tok::ValueRef : Tok::FuncRef, name, loc};
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_')
      return {Tok::Ident, takeWhile([](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.'; }), loc};
    if (std::isdigit(static_cast<unsigned char>(c)) || (c == '-' && pos_ + 1 < text_.size() &&
                                                        (std::isdigit(static_cast<unsigned char>(text_[pos_ + 1])) ||
                                                         text_.substr(pos_ + 1, 3) == "inf"))) {
      std::string num(1, c);
      advance();
      num += takeWhile([](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.'; });
      // An exponent's sign: 1e-5, 2.5E+3.
      while (pos_ < text_.size() && (text_[pos_] == '-' || text_[pos_] == '+') && (num.back() == 'e' || num.back() == 'E')) {
        num += text_[pos_];
        advance();
        num += takeWhile([](char ch) { return std::isdigit(static_cast<unsigned char>(ch)); });
      }
      return {Tok::Number, num, loc};
    }
    if (c == '"') return lexString(loc);
    if (c == '-' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '>') {
      advance();
      advance();
      return {Tok::Punct, "->", loc};
    }
    if (std::string_view("(){}[],:=~").find(c) != std::string_view::npos) {
      advance();
      return {Tok::Punct, std::string(1, c), loc};
    }
    if (std::isprint(static_cast<unsigned char>(c))) fail(loc, fmt::format("unexpected character '{}'", c));
    fail(loc, fmt::format("unexpected byte 0x{:02x}", static_cast<unsigned char>(c)));
  }

  [[noreturn]] void fail(SourceLoc loc, std::string msg) const { throw CompileError({file_, loc, std::move(msg)}); }

 private:
  Token lexString(SourceLoc loc) {
    advance();
    std::string value;
    while (pos_ < text_.size() && text_[pos_] != '"' && text_[pos_] != '\n') {
      char c = text_[pos_];
      if (c == '\\') {
        char e = pos_ + 1 < text_.size() ? text_[pos_ + 1] : '\0';
        if (e != '"' && e != '\\' && e != 'n') fail({line_, col_}, "unknown escape in string (use \\\\, \\\" or \\n)");
        value += e == 'n' ? '\n' : e;
        advance();
      } else {
        value += c;
      }
      advance();
    }
    if (pos_ >= text_.size() || text_[pos_] != '"') fail(loc, "unterminated string");
    advance();
    return {Tok::String, value, loc};
  }

  void advance() {
    if (text_[pos_] == '\n') {
      ++line_;
      col_ = 1;
    } else {
      ++col_;
    }
    ++pos_;
  }

  template <class Pred>
  std::string takeWhile(Pred pred) {
    size_t start = pos_;
    while (pos_ < text_.size() && pred(text_[pos_])) advance();
    return std::string(text_.substr(start, pos_ - start));
  }

  void skipSpaceAndComments() {
    while (pos_ < text_.size()) {
      if (std::isspace(static_cast<unsigned char>(text_[pos_]))) {
        advance();
      } else if (text_.substr(pos_, 2) == "//") {
        while (pos_ < text_.size() && text_[pos_] != '\n') advance();
      } else {
        break;
      }
    }
  }

  std::string_view text_;
  const std::string &file_;
  size_t pos_ = 0;
  int line_ = 1, col_ = 1;
};

std::string describe(const Token &t) {
  switch (t.kind) {
    case Tok::End: return "end of file";
    case Tok::ValueRef: return "'%" + t.text + "'";
    case Tok::FuncRef: return "'@" + t.text + "'";
    case Tok::String: return "a string";
    default: return "'" + t.text + "'";
  }
}

class Parser {
 public:
  Parser(std::string_view text, const std::string &file) : lex_(text, file) { tok_ = lex_.next(); }

  Module parseModule() {
    Module m;
    if (isIdent("module")) parseModuleAttrs(m);
    std::map<std::string, SourceLoc> seen;
    while (tok_.kind != Tok::End) {
      SourceLoc loc = tok_.loc;
      Function f = parseFunction();
      if (auto it = seen.find(f.name); it != seen.end())
        fail(loc, fmt::format("function @{} is already defined at line {}", f.name, it->second.line));
      seen[f.name] = loc;
      if (std::vector<std::string> errors = verify(f); !errors.empty()) fail(loc, errors.front());
      m.functions.push_back(std::move(f));
    }
    return m;
  }

 private:
  [[noreturn]] void fail(SourceLoc loc, std::string msg) { lex_.fail(loc, std::move(msg)); }

  // 'module' '{' { NAME '=' attrvalue } '}'
  void parseModuleAttrs(Module &m) {
    take();
    expectPunct("{");
    while (!isPunct("}")) {
      Token name = expectKind(Tok::Ident, "a module attribute name or '}'");
      if (m.attrs.has(name.text)) fail(name.loc, fmt::format("module attribute '{}' is given twice", name.text));
      expectPunct("=");
      m.attrs.set(name.text, parseAttrValue());
    }
    take();
  }
  [[noreturn]] void expected(const std::string &what) { fail(tok_.loc, fmt::format("expected {}, found {}", what, describe(tok_))); }

  Token take() {
    Token t = tok_;
    tok_ = lex_.next();
    return t;
  }
  bool isPunct(const char *p) const { return tok_.kind == Tok::Punct && tok_.text == p; }
  bool isIdent(const char *s) const { return tok_.kind == Tok::Ident && tok_.text == s; }
  bool acceptPunct(const char *p) {
    if (!isPunct(p)) return false;
    take();
    return true;
  }
  void expectPunct(const char *p) {
    if (!acceptPunct(p)) expected(fmt::format("'{}'", p));
  }
  Token expectKind(Tok kind, const char *what) {
    if (tok_.kind != kind) expected(what);
    return take();
  }

  // ---- literals and types ----

  int64_t parseInt(const Token &t) {
    int64_t v = 0;
    auto [end, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
    if (ec == std::errc::result_out_of_range) fail(t.loc, fmt::format("integer {} is out of range", t.text));
    if (ec != std::errc() || end != t.text.data() + t.text.size()) fail(t.loc, fmt::format("malformed integer '{}'", t.text));
    return v;
  }

  double parseFloat(const Token &t) {
    if (t.text == "inf") return INFINITY;
    if (t.text == "-inf") return -INFINITY;
    if (t.text == "nan") return NAN;
    double v = 0;
    auto [end, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
    if (ec == std::errc::result_out_of_range)
      fail(t.loc, fmt::format("number {} is out of range (write inf for an infinity)", t.text));
    if (ec != std::errc() || end != t.text.data() + t.text.size()) fail(t.loc, fmt::format("malformed number '{}'", t.text));
    return v;
  }

  static bool isFloatText(const std::string &s) {
    return s.find_first_of(".eE") != std::string::npos || s == "inf" || s == "-inf" || s == "nan";
  }
  bool atNumber() const { return tok_.kind == Tok::Number || isIdent("inf") || isIdent("nan"); }

  TensorType parseType() {
    Token t = expectKind(Tok::Ident, "a type such as f32[4,2]");
    TensorType type;
    if (t.text == "f32") {
      type.dtype = DType::F32;
    } else if (t.text == "i1") {
      type.dtype = DType::I1;
    } else {
      fail(t.loc, fmt::format("unknown element type '{}' (expected f32 or i1)", t.text));
    }
    expectPunct("[");
    // A limit far above any real model that keeps element counts (and byte sizes) from overflowing int64.
    constexpr int64_t kMaxElements = int64_t{1} << 40;
    int64_t elements = 1;
    if (!isPunct("]")) {
      do {
        Token d = expectKind(Tok::Number, "a dimension");
        int64_t size = parseInt(d);
        if (size < 1) fail(d.loc, fmt::format("dimension must be positive, found {}", size));
        if (size > kMaxElements / elements)
          fail(d.loc, fmt::format("type is too large: more than 2^40 elements"));
        elements *= size;
        type.shape.push_back(size);
      } while (acceptPunct(","));
    }
    expectPunct("]");
    return type;
  }

  AttrValue parseAttrValue() {
    if (isPunct("[")) {
      take();
      std::vector<Token> items;
      if (!isPunct("]")) {
        do {
          if (!atNumber()) expected("a number");
          items.push_back(take());
        } while (acceptPunct(","));
      }
      expectPunct("]");
      bool anyFloat = false;
      for (const Token &t : items) anyFloat = anyFloat || isFloatText(t.text);
      if (!anyFloat) {
        std::vector<int64_t> ints;
        for (const Token &t : items) ints.push_back(parseInt(t));
        return ints;
      }
      std::vector<double> floats;
      for (const Token &t : items) floats.push_back(parseFloat(t));
      return floats;
    }
    if (atNumber()) {
      Token t = take();
      if (isFloatText(t.text)) return parseFloat(t);
      return parseInt(t);
    }
    if (isIdent("true") || isIdent("false")) return take().text == "true";
    if (tok_.kind == Tok::String) return take().text;
    if (tok_.kind == Tok::Ident) return Symbol{take().text};
    expected("an attribute value");
  }

  // Integer literals (and integer lists) widen to the float kinds when the op declares a float attribute.
  static void widenToSpec(const OpDef &def, Attrs &attrs) {
    for (const AttrSpec &spec : def.attrs) {
      const AttrValue *v = attrs.find(spec.name);
      if (!v) continue;
      auto accepts = [&](AttrKind k) { return std::find(spec.kinds.begin(), spec.kinds.end(), k) != spec.kinds.end(); };
      if (const auto *i = std::get_if<int64_t>(v); i && !accepts(AttrKind::Int) && accepts(AttrKind::Float)) {
        attrs.set(spec.name, static_cast<double>(*i));
      } else if (const auto *is = std::get_if<std::vector<int64_t>>(v); is && !accepts(AttrKind::Ints) && accepts(AttrKind::Floats)) {
        attrs.set(spec.name, std::vector<double>(is->begin(), is->end()));
      }
    }
  }

  // ---- functions ----

  Value lookup(const Token &ref) {
    auto it = scope_.find(ref.text);
    if (it == scope_.end()) fail(ref.loc, fmt::format("use of undefined value %{}", ref.text));
    return it->second.value;
  }

  void defineName(const Token &ref, Value v) {
    auto [it, inserted] = scope_.insert({ref.text, {v, ref.loc}});
    if (!inserted) fail(ref.loc, fmt::format("redefinition of %{} (first defined at line {})", ref.text, it->second.loc.line));
  }

  static bool isNumbered(const std::string &name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  }

  void parseParam(Function &f) {
    Token role = expectKind(Tok::Ident, "a parameter role (input, param, state or random)");
    Param p;
    if (role.text == "input") p.role = ParamRole::Input;
    else if (role.text == "param") p.role = ParamRole::Param;
    else if (role.text == "state") p.role = ParamRole::State;
    else if (role.text == "random") p.role = ParamRole::Random;
    else fail(role.loc, fmt::format("unknown parameter role '{}' (expected input, param, state or random)", role.text));
    Token name = expectKind(Tok::ValueRef, "a parameter name such as %x");
    if (!isIdentifier(name.text)) fail(name.loc, fmt::format("parameter name %{} must start with a letter or '_'", name.text));
    expectPunct(":");
    TensorType type = parseType();
    if (acceptPunct("~")) {
      if (p.role != ParamRole::Random) fail(name.loc, fmt::format("only random parameters have a distribution, %{} is {}", name.text, role.text));
      Token dist = expectKind(Tok::Ident, "a distribution (normal or uniform)");
      RandomDist d;
      if (dist.text == "normal") d.kind = RandomDist::Kind::Normal;
      else if (dist.text == "uniform") d.kind = RandomDist::Kind::Uniform;
      else fail(dist.loc, fmt::format("unknown distribution '{}' (expected normal or uniform)", dist.text));
      expectPunct("(");
      if (!atNumber()) expected("a number");
      d.a = parseFloat(take());
      expectPunct(",");
      if (!atNumber()) expected("a number");
      d.b = parseFloat(take());
      expectPunct(")");
      bool valid = d.kind == RandomDist::Kind::Uniform ? d.a < d.b : d.b >= 0;
      if (!valid || !std::isfinite(d.a) || !std::isfinite(d.b))
        fail(dist.loc, fmt::format("invalid distribution {} (needs finite {})", d.str(),
                                   d.kind == RandomDist::Kind::Uniform ? "low < high" : "mean and std >= 0"));
      p.dist = d;
    } else if (p.role == ParamRole::Random) {
      fail(name.loc, fmt::format("random parameter %{} needs a distribution: '~ normal(mean, std)' or '~ uniform(low, high)'", name.text));
    }
    p.value = f.newValue(type, name.text);
    defineName(name, p.value);
    f.params.push_back(p);
  }

  void parseOp(Function &f) {
    Token resultName = take();
    if (scope_.count(resultName.text)) defineName(resultName, Value{});  // reports the redefinition
    expectPunct("=");
    Token opTok = expectKind(Tok::Ident, "an op name");
    std::optional<OpKind> kind = opByName(opTok.text);
    if (!kind) fail(opTok.loc, fmt::format("unknown op '{}'", opTok.text));
    const OpDef &def = opDef(*kind);
    std::vector<Value> operands;
    std::vector<TensorType> types;
    if (tok_.kind == Tok::ValueRef) {
      do {
        Value v = lookup(expectKind(Tok::ValueRef, "an operand"));
        operands.push_back(v);
        types.push_back(f.type(v));
      } while (acceptPunct(","));
    }
    Attrs attrs;
    if (acceptPunct("{")) {
      do {
        Token name = expectKind(Tok::Ident, "an attribute name");
        if (attrs.has(name.text)) fail(name.loc, fmt::format("attribute '{}' is given twice", name.text));
        expectPunct("=");
        attrs.set(name.text, parseAttrValue());
      } while (acceptPunct(","));
      expectPunct("}");
    }
    widenToSpec(def, attrs);
    if (std::string err = normalizeAttrs(def, attrs); !err.empty()) fail(opTok.loc, fmt::format("{}: {}", def.name, err));
    expectPunct(":");
    SourceLoc typeLoc = tok_.loc;
    TensorType declared = parseType();
    InferResult r = inferType(def, types, attrs, &declared);
    if (!r.type) fail(opTok.loc, fmt::format("{}: {}", def.name, r.error));
    if (*r.type != declared)
      fail(typeLoc, fmt::format("{}: result type is {}, but the operands give {}", def.name, declared.str(), r.type->str()));
    Value result = f.newValue(declared, isNumbered(resultName.text) ? std::string() : resultName.text);
    defineName(resultName, result);
    f.ops.push_back({*kind, std::move(operands), std::move(attrs), result});
  }

  Function parseFunction() {
    if (!isIdent("func")) expected("'func'");
    take();
    Function f;
    f.name = expectKind(Tok::FuncRef, "a function name such as @step").text;
    scope_.clear();
    expectPunct("(");
    if (!isPunct(")")) {
      do parseParam(f);
      while (acceptPunct(","));
    }
    expectPunct(")");
    expectPunct("->");
    expectPunct("(");
    std::vector<std::pair<Token, TensorType>> signature;
    if (!isPunct(")")) {
      do {
        Token name = expectKind(Tok::Ident, "a result name");
        for (const auto &[prev, type] : signature)
          if (prev.text == name.text) fail(name.loc, fmt::format("result '{}' is declared twice", name.text));
        expectPunct(":");
        signature.push_back({name, parseType()});
      } while (acceptPunct(","));
    }
    expectPunct(")");
    expectPunct("{");
    while (tok_.kind == Tok::ValueRef) parseOp(f);
    if (!isIdent("return")) expected("an op or 'return'");
    Token ret = take();
    std::vector<Token> refs;
    if (tok_.kind == Tok::ValueRef) {
      do refs.push_back(expectKind(Tok::ValueRef, "a value"));
      while (acceptPunct(","));
    }
    if (refs.size() != signature.size())
      fail(ret.loc, fmt::format("return gives {} value{}, the signature declares {}", refs.size(), refs.size() == 1 ? "" : "s",
                                signature.size()));
    for (size_t i = 0; i < refs.size(); ++i) {
      Value v = lookup(refs[i]);
      if (f.type(v) != signature[i].second)
        fail(refs[i].loc, fmt::format("%{} has type {}, but result '{}' is declared {}", refs[i].text, f.type(v).str(),
                                      signature[i].first.text, signature[i].second.str()));
      f.results.push_back({signature[i].first.text, v});
    }
    expectPunct("}");
    return f;
  }

  struct Definition {
    Value value;
    SourceLoc loc;
  };

  Lexer lex_;
  Token tok_;
  std::map<std::string, Definition> scope_;
};

}  // namespace

Module parseModule(std::string_view text, const std::string &filename) { return Parser(text, filename).parseModule(); }

}  // namespace gantry::ir
