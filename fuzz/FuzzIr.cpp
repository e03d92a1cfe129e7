// libFuzzer target: the textual IR parser and the verifier on arbitrary bytes. Bad text must end in CompileError
// (a located diagnostic); a parsed module that does not verify, in IrError. Anything else is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ir/Builder.h"
#include "ir/Parser.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"
#include "support/Diagnostic.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view text(reinterpret_cast<const char *>(data), size);
  try {
    gantry::ir::Module m = gantry::ir::parseModule(text, "fuzz.gir");
    gantry::ir::verifyOrThrow(m);
    // A module that parses and verifies prints and parses back to the same text.
    std::string printed = gantry::ir::print(m);
    if (gantry::ir::print(gantry::ir::parseModule(printed, "printed.gir")) != printed) __builtin_trap();
  } catch (const gantry::CompileError &) {
  } catch (const gantry::ir::IrError &) {
  }
  return 0;
}
