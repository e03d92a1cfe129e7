// Prints a Program as an indented S-expression, one statement per line: what the parser understood, before any
// checking (`gantry ir FILE.gan --emit=ast`). Operators print in prefix form, so precedence is explicit:
//   (loss D (mean (+ (softplus (neg (D x))) (softplus (D (G z))))))
#pragma once

#include <string>

#include "frontend/Ast.h"

namespace gantry::frontend {

std::string printAst(const Program &p);
std::string printExpr(const Expr &e);

}  // namespace gantry::frontend
