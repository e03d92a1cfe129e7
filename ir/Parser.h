// Reads IR text (the form ir/Printer.h writes) into a verified Module.
//
// Errors throw gantry::CompileError located at the offending token: unknown ops and attributes, wrong operand
// counts, shape mismatches (the op table's shape rule, as in the builder), redefinitions, uses before
// definition, malformed numbers and types, and truncated input. `//` starts a comment that runs to the end of the
// line, so dumps with banners such as `// *** IR Dump After cse ***` read back.
#pragma once

#include <string>
#include <string_view>

#include "ir/Module.h"

namespace gantry::ir {

Module parseModule(std::string_view text, const std::string &filename);

}  // namespace gantry::ir
