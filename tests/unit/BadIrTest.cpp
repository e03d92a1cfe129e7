// Every malformed IR program in tests/bad/ir/ must be rejected with exactly the diagnostic its first line states:
//   // expect: FILE:LINE:COL: error: MESSAGE
// (tests/bad/regenerate.sh rewrites those lines after an intended change; review the diff.)
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "ir/Parser.h"
#include "support/Diagnostic.h"
#include "support/Files.h"

namespace fs = std::filesystem;

TEST_CASE("malformed IR programs get their exact located diagnostic", "[parser][bad]") {
  const char *testsDir = std::getenv("GANTRY_TESTS_DIR");
  REQUIRE(testsDir != nullptr);
  std::vector<fs::path> files;
  for (const auto &entry : fs::directory_iterator(fs::path(testsDir) / "bad" / "ir"))
    if (entry.path().extension() == ".gir") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() >= 32);

  for (const fs::path &path : files) {
    std::string text = gantry::readFile(path.string());
    const std::string prefix = "// expect: ";
    REQUIRE(text.rfind(prefix, 0) == 0);
    std::string expected = text.substr(prefix.size(), text.find('\n') - prefix.size());
    INFO(path.filename().string());
    try {
      gantry::ir::parseModule(text, path.filename().string());
      FAIL("accepted a malformed program");
    } catch (const gantry::CompileError &e) {
      CHECK(e.diagnostic().str() == expected);
    }
  }
}

TEST_CASE("every prefix of a valid program is rejected with a diagnostic, never a crash", "[parser][bad]") {
  const std::string program = R"(func @f(input %x: f32[4,3], param %w: f32[3,2], random %u: f32[4,2] ~ normal(0.0, 1.0)) -> (y: f32[]) {
  %0 = matmul %x, %w {transpose_a = false} : f32[4,2]
  %1 = add %0, %u : f32[4,2]
  %2 = reduce_sum %1 {axes = [0, 1]} : f32[]
  return %2
}
)";
  REQUIRE_NOTHROW(gantry::ir::parseModule(program, "ok.gir"));
  size_t lastBrace = program.rfind('}');
  for (size_t n = 0; n < program.size(); ++n) {
    std::string prefix = program.substr(0, n);
    INFO(prefix);
    if (n == 0 || n > lastBrace) {
      // The empty module and the complete function are valid.
      CHECK_NOTHROW(gantry::ir::parseModule(prefix, "prefix.gir"));
    } else {
      CHECK_THROWS_AS(gantry::ir::parseModule(prefix, "prefix.gir"), gantry::CompileError);
    }
  }
}
