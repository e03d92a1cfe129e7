// Golden tests of the passes: each tests/golden/passes/NAME.gir starts with `// RUN: PIPELINE`, then the input
// IR; NAME.out is the module the pipeline must print. tests/golden/passes/regenerate.sh rewrites the .out files
// after an intended change; review the diff. Where the pipeline only simplifies (every pass is meant to keep
// each function's values), each function is also evaluated before and after, in double precision on seeded
// arguments, and must give the same results.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "ir/Interpreter.h"
#include "ir/Parser.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"
#include "passes/PassManager.h"
#include "runtime/Arguments.h"
#include "support/Files.h"

namespace fs = std::filesystem;

namespace {

// Whether every pass of the pipeline keeps each function's values (the simplifications; not autodiff, penalty,
// unroll or step, which add or change results).
bool keepsValues(const std::string &pipeline) {
  for (const char *changing : {"autodiff", "penalty", "unroll", "step", "default"})
    if (pipeline.find(changing) != std::string::npos) return false;
  return true;
}

}  // namespace

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
    const gantry::ir::Module before = m;
    gantry::passes::Instrumentation verify;
    verify.verifyEach = true;
    gantry::passes::runPipeline(m, gantry::passes::parsePipeline(pipeline), verify);
    fs::path expected = input;
    expected.replace_extension(".out");
    CHECK(gantry::ir::print(m) == gantry::readFile(expected.string()));

    if (!keepsValues(pipeline)) continue;
    for (const gantry::ir::Function &f : before.functions) {
      INFO("@" << f.name);
      const gantry::ir::Function *g = m.find(f.name);
      REQUIRE(g != nullptr);
      std::vector<gantry::ir::Tensor> args = gantry::runtime::sampleArguments(f, 5);
      std::vector<gantry::ir::Tensor> want = gantry::ir::evaluate(f, args), got = gantry::ir::evaluate(*g, args);
      REQUIRE(want.size() == got.size());
      for (size_t r = 0; r < want.size(); ++r) {
        INFO("result " << f.results[r].name);
        REQUIRE(want[r].data.size() == got[r].data.size());
        for (size_t i = 0; i < want[r].data.size(); ++i) {
          const double w = want[r].data[i], g = got[r].data[i];
          if (std::isnan(w)) CHECK(std::isnan(g));  // NaN in, NaN out (sampled arguments can be negative under a sqrt)
          else CHECK(g == Approx(w).epsilon(1e-12).margin(1e-14));
        }
      }
    }
  }
}
