#include "frontend/Frontend.h"

#include <fmt/format.h>

#include <filesystem>

#include "frontend/Lower.h"
#include "frontend/Parser.h"

namespace gantry::frontend {

Program parse(const Source &src) {
  DiagnosticList diags(src.path);
  if (src.text.size() > kMaxSourceBytes) {
    diags.error({}, fmt::format("the file is {} bytes; a .gan program may be at most {} (1 MiB)", src.text.size(), kMaxSourceBytes));
    throw ProgramError(std::move(diags));
  }
  Program p = parseProgram(src.text, diags);
  if (diags.hasErrors()) throw ProgramError(std::move(diags));
  return p;
}

CheckedProgram check(const Program &program, const Source &src, const std::vector<std::string> &overrides) {
  DiagnosticList diags(src.path);
  Overrides parsed = parseOverrides(overrides, diags);
  if (diags.hasErrors()) throw ProgramError(std::move(diags));
  std::string dir = std::filesystem::path(src.path).parent_path().string();
  CheckedProgram checked = checkProgram(program, dir, parsed, diags);
  if (diags.hasErrors()) throw ProgramError(std::move(diags));
  return checked;
}

ir::Module compile(const Source &src, const std::vector<std::string> &overrides) {
  Program program = parse(src);
  CheckedProgram checked = check(program, src, overrides);
  return lowerProgram(checked);
}

}  // namespace gantry::frontend
