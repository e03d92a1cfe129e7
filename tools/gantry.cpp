// The `gantry` command line: a thin layer over the libraries. Each subcommand parses its flags, calls one library
// entry point, and turns errors into one-line messages with a non-zero exit code:
//   1  the input is bad (a located `FILE:LINE:COL: error: ...`) or a file cannot be read or written;
//   2  the command line is bad (unknown flag, missing argument).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <string>

#include "backend/Target.h"
#include "gantry_config.h"
#include "ir/Parser.h"
#include "ir/Printer.h"
#include "support/Diagnostic.h"
#include "support/Files.h"

namespace {

std::string versionText() {
  gantry::backend::HostTarget host = gantry::backend::detectHost();
  return fmt::format("gantry {}\nLLVM {}, host {} ({}{})", GANTRY_VERSION, gantry::backend::llvmVersion(), host.cpu,
                     host.triple, host.has("avx512f") ? ", AVX-512" : host.has("avx2") ? ", AVX2" : "");
}

void emit(const std::string &text, const std::string &outPath) {
  if (outPath.empty() || outPath == "-") {
    std::fputs(text.c_str(), stdout);
  } else {
    gantry::writeFileAtomically(outPath, text);
  }
}

// `gantry ir FILE`: parse, verify and print an IR file.
int runIr(const std::string &path, const std::string &outPath) {
  std::string text = gantry::readFile(path);
  gantry::ir::Module m = gantry::ir::parseModule(text, path);
  emit(gantry::ir::print(m), outPath);
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  CLI::App app{"Gantry: a compiler for GAN training objectives", "gantry"};
  app.require_subcommand(0, 1);
  bool showVersion = false;
  app.add_flag("--version", showVersion, "Print the version, the LLVM version and the host CPU");

  std::string irPath, outPath;
  CLI::App *ir = app.add_subcommand("ir", "Parse, verify and print an IR file (.gir)");
  ir->add_option("file", irPath, "The IR text file")->required();
  ir->add_option("-o,--output", outPath, "Write the IR here (atomically) instead of to standard output");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    fmt::print(stderr, "gantry: error: {}\nRun 'gantry --help' for usage.\n", e.what());
    return 2;
  }

  try {
    if (showVersion) {
      fmt::print("{}\n", versionText());
      return 0;
    }
    if (*ir) return runIr(irPath, outPath);
    fmt::print("{}", app.help());
    return 0;
  } catch (const gantry::CompileError &e) {
    fmt::print(stderr, "{}\n", e.diagnostic().str());
  } catch (const gantry::FileError &e) {
    fmt::print(stderr, "gantry: error: {}\n", e.what());
  } catch (const std::exception &e) {
    fmt::print(stderr, "gantry: internal error: {}\n", e.what());
  }
  return 1;
}
