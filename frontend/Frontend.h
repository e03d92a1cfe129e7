// The frontend as one call per stage, for the CLI and the tests: parse, check (with `--set` overrides), lower.
// Each throws ProgramError carrying every diagnostic of the stage that failed; a stage runs only when the ones
// before it succeeded, so a syntax error is not followed by a cascade of checking errors.
#pragma once

#include <string>
#include <vector>

#include "frontend/Ast.h"
#include "frontend/Check.h"
#include "ir/Module.h"

namespace gantry::frontend {

struct Source {
  std::string path;  // as given: diagnostics name the file this way
  std::string text;
};

// Programs are small: a longer file is refused before it is read further (a 10 MB file of nonsense would
// otherwise cost time and a flood of errors).
constexpr size_t kMaxSourceBytes = size_t{1} << 20;

Program parse(const Source &src);
CheckedProgram check(const Program &program, const Source &src, const std::vector<std::string> &overrides = {});
ir::Module compile(const Source &src, const std::vector<std::string> &overrides = {});

}  // namespace gantry::frontend
