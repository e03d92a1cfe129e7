#include "frontend/Lexer.h"

#include <fmt/format.h>

#include <cctype>

namespace gantry::frontend {
namespace {

bool isIdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool isIdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool isDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

// Length of the UTF-8 sequence starting at s[0], or 0 if it is not valid UTF-8.
size_t utf8Length(std::string_view s) {
  auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char c = b(0);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || n > s.size()) return 0;
  for (size_t i = 1; i < n; ++i)
    if ((b(i) >> 6) != 0x2) return 0;
  if (n == 2 && c < 0xc2) return 0;                            // overlong
  if (n == 3 && c == 0xe0 && b(1) < 0xa0) return 0;            // overlong
  if (n == 3 && c == 0xed && b(1) >= 0xa0) return 0;           // surrogates
  if (n == 4 && (c > 0xf4 || (c == 0xf0 && b(1) < 0x90) || (c == 0xf4 && b(1) >= 0x90))) return 0;
  return n;
}

class Lexer {
 public:
  Lexer(std::string_view src, DiagnosticList &diags) : src_(src), diags_(diags) {}

  std::vector<Token> run() {
    while (true) {
      skipSpaceAndComments();
      if (pos_ >= src_.size()) break;
      lexToken();
    }
    emitNewline();
    tokens_.push_back({Tok::End, "", {{line_, col_}, col_}});
    return std::move(tokens_);
  }

 private:
  char peek(size_t ahead = 0) const { return pos_ + ahead < src_.size() ? src_[pos_ + ahead] : '\0'; }
  SourceLoc here() const { return {line_, col_}; }

  void advance(size_t n = 1) {
    for (size_t i = 0; i < n && pos_ < src_.size(); ++i) {
      if (src_[pos_] == '\n') {
        ++line_;
        col_ = 1;
      } else {
        ++col_;
      }
      ++pos_;
    }
  }

  void error(SourceLoc at, int endCol, std::string msg) { diags_.error({at, endCol}, std::move(msg)); }

  void emitNewline() {
    // One Newline token per run of line ends, and none right after another separator or at the start.
    if (depth_ > 0 || tokens_.empty() || tokens_.back().kind == Tok::Newline) return;
    tokens_.push_back({Tok::Newline, "\n", {here(), 0}});
  }

  // Checks UTF-8 inside a comment or string; reports and skips a bad byte.
  void advanceChecked() {
    size_t n = utf8Length(src_.substr(pos_));
    if (n == 0) {
      error(here(), 0, fmt::format("invalid UTF-8 byte 0x{:02x}", static_cast<unsigned char>(src_[pos_])));
      n = 1;
    }
    advance(n);
  }

  void skipSpaceAndComments() {
    while (pos_ < src_.size()) {
      char c = peek();
      if (c == '\n') {
        emitNewline();
        advance();
      } else if (c == ' ' || c == '\t' || c == '\r') {
        advance();
      } else if (c == '#') {
        while (pos_ < src_.size() && peek() != '\n') advanceChecked();
      } else if (c == '/' && peek(1) == '*') {
        SourceLoc start = here();
        advance(2);
        while (pos_ < src_.size() && !(peek() == '*' && peek(1) == '/')) advanceChecked();
        if (pos_ >= src_.size()) {
          error(start, start.col + 2, "unterminated comment: '/*' has no matching '*/'");
          return;
        }
        advance(2);
      } else {
        return;
      }
    }
  }

  void push(Tok kind, std::string text, SourceLoc start) {
    tokens_.push_back({kind, std::move(text), {start, col_}});
  }

  void lexToken() {
    SourceLoc start = here();
    char c = peek();
    if (isIdentStart(c)) {
      size_t b = pos_;
      while (isIdentChar(peek())) advance();
      push(Tok::Ident, std::string(src_.substr(b, pos_ - b)), start);
    } else if (isDigit(c) || (c == '.' && isDigit(peek(1)))) {
      lexNumber(start);
    } else if (c == '"') {
      lexString(start);
    } else if (c == '-' && peek(1) == '>') {
      advance(2);
      push(Tok::Punct, "->", start);
    } else if (std::string_view("(){}[],;:=~+-*/^").find(c) != std::string_view::npos) {
      if (c == '(' || c == '[') ++depth_;
      if ((c == ')' || c == ']') && depth_ > 0) --depth_;
      // Braces never stand inside brackets in a valid program: an unclosed '(' must not swallow the newlines of
      // the rest of the file, only those up to the end of its block.
      if (c == '{' || c == '}') depth_ = 0;
      advance();
      push(Tok::Punct, std::string(1, c), start);
    } else {
      auto u = static_cast<unsigned char>(c);
      size_t n = u < 0x80 ? 1 : utf8Length(src_.substr(pos_));
      if (n == 0) {
        error(start, 0, fmt::format("invalid UTF-8 byte 0x{:02x}", u));
        advance();
      } else if (u < 0x20 || u == 0x7f) {
        error(start, 0, fmt::format("unexpected control character 0x{:02x}", u));
        advance();
      } else {
        std::string ch(src_.substr(pos_, n));
        advance(n);
        error(start, col_, fmt::format("unexpected character '{}'", ch));
      }
    }
  }

  // NUMBER := DIGITS ['.' DIGITS*] [('e'|'E') ['+'|'-'] DIGITS] | '.' DIGITS ...; a number may not run into a
  // letter or a second '.', so `12abc`, `1.2.3` and `1e` are errors rather than two tokens.
  void lexNumber(SourceLoc start) {
    size_t b = pos_;
    while (isDigit(peek())) advance();
    if (peek() == '.') {
      advance();
      while (isDigit(peek())) advance();
    }
    bool bad = false;
    if (peek() == 'e' || peek() == 'E') {
      advance();
      if (peek() == '+' || peek() == '-') advance();
      if (!isDigit(peek())) bad = true;
      while (isDigit(peek())) advance();
    }
    while (isIdentChar(peek()) || peek() == '.') {
      bad = true;
      advance();
    }
    std::string text(src_.substr(b, pos_ - b));
    if (bad) {
      error(start, col_, fmt::format("invalid number '{}'", text));
      push(Tok::Number, "0", start);  // keep parsing as if a number were here
    } else {
      push(Tok::Number, text, start);
    }
  }

  void lexString(SourceLoc start) {
    advance();  // opening quote
    std::string value;
    while (pos_ < src_.size() && peek() != '"' && peek() != '\n') {
      if (peek() == '\\') {
        char e = peek(1);
        if (e == '"' || e == '\\') {
          value += e;
          advance(2);
        } else if (e == 'n') {
          value += '\n';
          advance(2);
        } else {
          SourceLoc at = here();
          advance();
          error(at, col_ + 1, fmt::format("unknown escape '\\{}' in string (use \\\\, \\\" or \\n)", e));
        }
      } else {
        size_t b = pos_;
        advanceChecked();
        value += src_.substr(b, pos_ - b);
      }
    }
    if (peek() != '"') {
      error(start, start.col + 1, "unterminated string: missing closing '\"'");
      push(Tok::String, value, start);
      return;
    }
    advance();
    push(Tok::String, value, start);
  }

  std::string_view src_;
  DiagnosticList &diags_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int line_ = 1, col_ = 1;
  int depth_ = 0;  // open ( and [: newlines inside them do not end statements
};

}  // namespace

std::vector<Token> lex(std::string_view source, DiagnosticList &diags) { return Lexer(source, diags).run(); }

}  // namespace gantry::frontend
