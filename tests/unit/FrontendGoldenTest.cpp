// Every example's AST and IR against the golden files in tests/golden/ (tests/golden/regenerate.sh rewrites them
// after an intended change; review the diff), and the golden IR reads back unchanged.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "frontend/AstPrinter.h"
#include "frontend/Frontend.h"
#include "ir/Parser.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"
#include "support/Files.h"

namespace fs = std::filesystem;

TEST_CASE("every example prints its golden AST and IR", "[frontend][golden]") {
  const char *testsDir = std::getenv("GANTRY_TESTS_DIR");
  REQUIRE(testsDir != nullptr);
  fs::path golden = fs::path(testsDir) / "golden", examples = fs::path(testsDir) / ".." / "examples";
  std::vector<std::string> names;
  for (const auto &entry : fs::directory_iterator(examples))
    if (entry.path().extension() == ".gan") names.push_back(entry.path().stem().string());
  std::sort(names.begin(), names.end());
  REQUIRE(names.size() >= 9);

  fs::path cwd = fs::current_path();
  fs::current_path(examples);  // as regenerate.sh runs: file names relative to examples/
  for (const std::string &name : names) {
    INFO(name);
    gantry::frontend::Source src{name + ".gan", gantry::readFile(name + ".gan")};
    CHECK(gantry::frontend::printAst(gantry::frontend::parse(src)) == gantry::readFile((golden / (name + ".ast")).string()));
    gantry::ir::Module m = gantry::frontend::compile(src);
    CHECK(gantry::ir::verify(m).empty());
    std::string expected = gantry::readFile((golden / (name + ".gir")).string());
    CHECK(gantry::ir::print(m) == expected);
    CHECK(gantry::ir::print(gantry::ir::parseModule(expected, name + ".gir")) == expected);
  }
  fs::current_path(cwd);
}
