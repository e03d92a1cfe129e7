// libFuzzer target: the .gan frontend (lexer, parser, checker, lowering) on arbitrary bytes. A malformed program
// must end in ProgramError (its diagnostics) or FileError (a data file it names); anything else — a crash, a
// sanitizer report, another exception — is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include "frontend/Frontend.h"
#include "support/Diagnostic.h"
#include "support/Files.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  gantry::frontend::Source src{"fuzz.gan", std::string(reinterpret_cast<const char *>(data), size)};
  try {
    gantry::ir::Module m = gantry::frontend::compile(src);
    (void)m;
  } catch (const gantry::ProgramError &) {
  } catch (const gantry::FileError &) {
  }
  return 0;
}
