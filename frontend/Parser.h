// Parses .gan source into a Program (frontend/Ast.h). Syntax errors are collected in `diags`: after an error
// the parser skips to the end of the statement and goes on, so independent mistakes are reported in one run.
// The grammar is in docs/language.md.
#pragma once

#include <string_view>

#include "frontend/Ast.h"

namespace gantry::frontend {

Program parseProgram(std::string_view source, DiagnosticList &diags);

// Parses one expression (the value of a `--set key=value` override); `origin` names the override in messages.
ExprPtr parseExpression(std::string_view source, const std::string &origin, DiagnosticList &diags);

// Expressions nested deeper than this are refused (no stack overflow on hostile input).
constexpr int kMaxNesting = 200;

}  // namespace gantry::frontend
