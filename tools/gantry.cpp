// The `gantry` command line: a thin layer over the libraries. Each subcommand parses its flags, calls one library
// entry point, and turns errors into one-line messages with a non-zero exit code:
//   1  the input is bad (a located `FILE:LINE:COL: error: ...`) or a file cannot be read or written;
//   2  the command line is bad (unknown flag, missing argument).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <string>

#include "backend/Target.h"
#include "gantry_config.h"
#include "ir/Interpreter.h"
#include "ir/Parser.h"
#include "ir/Printer.h"
#include "runtime/Arguments.h"
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

// One line per result: the value itself when small, its mean, min and max otherwise.
std::string describeResult(const std::string &name, const gantry::ir::Tensor &t) {
  std::string head = fmt::format("  {}: {} =", name, t.type.str());
  if (t.type.rank() == 0) return fmt::format("{} {:.6g}\n", head, t.data[0]);
  if (t.data.size() <= 8) return fmt::format("{} [{:.6g}]\n", head, fmt::join(t.data, ", "));
  double sum = 0, lo = t.data[0], hi = t.data[0];
  for (double v : t.data) {
    sum += v;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  return fmt::format("{} mean {:.6g}, min {:.6g}, max {:.6g}\n", head, sum / static_cast<double>(t.data.size()), lo, hi);
}

// `gantry ir FILE`: parse, verify and print an IR file; with --eval, evaluate every function instead on
// arguments drawn from the seed (runtime/Arguments.h says how) with the reference interpreter.
int runIr(const std::string &path, const std::string &outPath, bool eval, uint64_t seed) {
  std::string text = gantry::readFile(path);
  gantry::ir::Module m = gantry::ir::parseModule(text, path);
  if (!eval) {
    emit(gantry::ir::print(m), outPath);
    return 0;
  }
  std::string report;
  for (const gantry::ir::Function &f : m.functions) {
    std::vector<gantry::ir::Tensor> results = gantry::ir::evaluate(f, gantry::runtime::sampleArguments(f, seed));
    report += fmt::format("@{} (seed {}, reference interpreter):\n", f.name, seed);
    for (size_t i = 0; i < results.size(); ++i) report += describeResult(f.results[i].name, results[i]);
  }
  emit(report, outPath);
  return 0;
}

// CLI11 2.1 reads "-5" into an unsigned option by wrapping and saturates out-of-range numbers: check the text.
const CLI::Validator unsignedInteger(
    [](std::string &text) -> std::string {
      uint64_t value = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (ec == std::errc::result_out_of_range) return fmt::format("{} is out of range (at most 2^64-1)", text);
      if (ec != std::errc() || end != text.data() + text.size())
        return fmt::format("'{}' is not a non-negative integer", text);
      return {};
    },
    "UINT", "unsigned integer");

}  // namespace

int main(int argc, char **argv) {
  CLI::App app{"Gantry: a compiler for GAN training objectives", "gantry"};
  app.require_subcommand(0, 1);
  bool showVersion = false;
  app.add_flag("--version", showVersion, "Print the version, the LLVM version and the host CPU");

  std::string irPath, outPath;
  CLI::App *ir = app.add_subcommand("ir", "Parse, verify and print an IR file (.gir)");
  ir->add_option("file", irPath, "The IR text file")->required();
  ir->add_option("-o,--output", outPath, "Write the output here (atomically) instead of to standard output");
  bool eval = false;
  uint64_t seed = 1;
  ir->add_flag("--eval", eval, "Evaluate each function on seeded arguments with the reference interpreter");
  ir->add_option("--seed", seed, "Seed for --eval's arguments (0 to 2^64-1)")
      ->check(unsignedInteger)
      ->capture_default_str();

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
    if (*ir) return runIr(irPath, outPath, eval, seed);
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
