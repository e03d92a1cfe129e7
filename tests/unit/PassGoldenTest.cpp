// Golden tests of the passes: each tests/golden/passes/NAME.gir starts with `// RUN: PIPELINE`, then the input
// IR; NAME.out is the module the pipeline must print. tests/golden/passes/regenerate.sh rewrites the .out files
// after an intended change; review the diff.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "ir/Parser.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"
#include "passes/PassManager.h"
#include "support/Files.h"

namespace fs = std::filesystem;

TEST_CASE("each pass turns its golden input into its golden output", "[passes][golden]") {
  const char *testsDir = std::getenv("GANTRY_TESTS_DIR");
  REQUIRE(testsDir != nullptr);
  fs::path dir = fs::path(testsDir) / "golden" / "passes";
  std::vector<fs::path> inputs;
  for (const auto &entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".gir") inputs.push_back(entry.path());
  std::sort(inputs.begin(), inputs.end());
  REQUIRE(inputs.size() >= 30);

  for (const fs::path &input : inputs) {
    INFO(input.filename().string());
    std::string text = gantry::readFile(input.string());
    const std::string run = "// RUN: ";
    REQUIRE(text.rfind(run, 0) == 0);
    std::string pipeline = text.substr(run.size(), text.find('\n') - run.size());
    gantry::ir::Module m = gantry::ir::parseModule(text, input.filename().string());
    gantry::passes::Instrumentation verify;
    verify.verifyEach = true;
    gantry::passes::runPipeline(m, gantry::passes::parsePipeline(pipeline), verify);
    fs::path expected = input;
    expected.replace_extension(".out");
    CHECK(gantry::ir::print(m) == gantry::readFile(expected.string()));
  }
}
