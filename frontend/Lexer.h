// Tokens of the .gan language.
//
// Newlines end statements, except inside parentheses and brackets (so a long call may span lines); `;` ends a
// statement too. `#` starts a comment to the end of the line, `/* ... */` a block comment. The input must be
// UTF-8; non-ASCII characters are allowed only in comments and strings.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "support/Diagnostic.h"

namespace gantry::frontend {

enum class Tok { Ident, Number, String, Punct, Newline, End };

struct Token {
  Tok kind;
  std::string text;  // identifier, number text, string contents (unescaped), punctuation
  SourceRange range;
};

// Lexes the whole input. Lexical errors (bad characters, invalid numbers, unterminated comments or strings,
// invalid UTF-8) are added to `diags`; the lexer skips the offending bytes and goes on, so later errors are
// found in the same run.
std::vector<Token> lex(std::string_view source, DiagnosticList &diags);

}  // namespace gantry::frontend
