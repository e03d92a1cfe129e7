// Every bad program in tests/bad/gan/ must be rejected with exactly the diagnostics its leading comment lines
// state, in order (errors and their notes):
//   # expect: FILE:LINE:COL: error: MESSAGE
//   # expect: FILE:LINE:COL: note: MESSAGE
// Lines `# set: KEY=VALUE` pass command-line overrides. tests/bad/regenerate.sh rewrites the expectations after an
// intended change; review the diff.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "frontend/Frontend.h"
#include "support/Diagnostic.h"
#include "support/Files.h"

namespace fs = std::filesystem;

namespace {

// All diagnostics the frontend gives for a program, one `str()` per line; empty when it compiles.
std::vector<std::string> diagnosticsOf(const gantry::frontend::Source &src, const std::vector<std::string> &sets) {
  try {
    gantry::frontend::compile(src, sets);
  } catch (const gantry::ProgramError &e) {
    std::vector<std::string> lines;
    for (const gantry::Diagnostic &d : e.diagnostics().all()) lines.push_back(d.str());
    if (auto note = e.diagnostics().overflowNote()) lines.push_back(note->str());
    return lines;
  }
  return {};
}

}  // namespace

TEST_CASE("bad .gan programs get exactly their expected diagnostics", "[frontend][bad]") {
  const char *testsDir = std::getenv("GANTRY_TESTS_DIR");
  REQUIRE(testsDir != nullptr);
  fs::path dir = fs::path(testsDir) / "bad" / "gan";
  std::vector<fs::path> files;
  for (const auto &entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".gan") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() >= 40);

  // Data files named by the programs are found relative to the program, so run from its folder.
  fs::path cwd = fs::current_path();
  fs::current_path(dir);
  for (const fs::path &path : files) {
    std::string name = path.filename().string();
    std::string text = gantry::readFile(name);
    std::vector<std::string> expected, sets;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("# expect: ", 0) == 0) expected.push_back(line.substr(10));
      else if (line.rfind("# set: ", 0) == 0) sets.push_back(line.substr(7));
      else break;
    }
    INFO(name);
    REQUIRE(!expected.empty());
    CHECK(diagnosticsOf({name, text}, sets) == expected);
  }
  fs::current_path(cwd);
}
