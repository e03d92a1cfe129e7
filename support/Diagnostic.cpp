#include "support/Diagnostic.h"

#include <fmt/format.h>

namespace gantry {

std::string Diagnostic::str() const {
  if (loc.line <= 0) return fmt::format("{}: error: {}", file, message);
  return fmt::format("{}:{}:{}: error: {}", file, loc.line, loc.col, message);
}

CompileError::CompileError(Diagnostic d) : std::runtime_error(d.str()), diag_(std::move(d)) {}

}  // namespace gantry
