// Ahead-of-time compilation: a C program that includes the generated header and links the object file (with
// the system's C compiler, no LLVM) computes what the interpreter computes.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "backend/ObjectFile.h"
#include "frontend/Frontend.h"
#include "ir/Interpreter.h"
#include "support/Files.h"

using namespace gantry;

namespace {

// The value the C program puts in element i of buffer b: any formula, as long as the test uses the same.
double inputValue(size_t b, size_t i) { return 0.5 * std::sin(0.37 * static_cast<double>(i) + 1.3 * static_cast<double>(b)); }

}  // namespace

TEST_CASE("a C program links the object file and runs the generator", "[backend][aot]") {
  const char *testsDir = std::getenv("GANTRY_TESTS_DIR");
  REQUIRE(testsDir != nullptr);
  std::string path = std::string(testsDir) + "/../examples/bimodal1d.gan";
  ir::Module m = frontend::compile({path, readFile(path)}, {"train.batch=5"});
  backend::AotOutput out = backend::compileAheadOfTime(m, "bimodal", "bimodal1d.gan");
  CHECK(out.header.find("void bimodal_G(float **buffers, float *arena);") != std::string::npos);
  CHECK(out.header.find("void bimodal_D_loss(float **buffers, float *arena);") != std::string::npos);
  CHECK(out.header.find("random z: f32[5,16] ~ normal(0.0, 1.0)") != std::string::npos);

  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("gantry-aot-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  writeFileAtomically((dir / "bimodal.o").string(), out.object);
  writeFileAtomically((dir / "bimodal.h").string(), out.header);
  const ir::Function &g = *m.find("G");
  std::ostringstream c;
  c << "#include <math.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include \"bimodal.h\"\n"
    << "int main(void) {\n"
    << "  static const long sizes[] = {";
  for (const ir::Param &p : g.params) c << g.type(p.value).numElements() << ", ";
  c << g.type(g.results[0].value).numElements() << "};\n"
    << "  float *buffers[BIMODAL_G_BUFFERS];\n"
    << "  for (int b = 0; b < BIMODAL_G_BUFFERS; ++b) {\n"
    << "    buffers[b] = malloc(sizeof(float) * sizes[b]);\n"
    << "    for (long i = 0; i < sizes[b]; ++i) buffers[b][i] = (float)(0.5 * sin(0.37 * i + 1.3 * b));\n"
    << "  }\n"
    << "  float *arena = aligned_alloc(64, ((sizeof(float) * BIMODAL_G_ARENA_FLOATS + 63) / 64) * 64);\n"
    << "  bimodal_G(buffers, arena);\n"
    << "  bimodal_G(buffers, arena);  /* a second call reuses the arena */\n"
    << "  for (long i = 0; i < sizes[BIMODAL_G_BUFFERS - 1]; ++i) printf(\"%.9g\\n\", buffers[BIMODAL_G_BUFFERS - 1][i]);\n"
    << "  return 0;\n}\n";
  writeFileAtomically((dir / "main.c").string(), c.str());
  std::string build = "cd '" + dir.string() + "' && cc -std=c11 -O1 main.c bimodal.o -lm -o main && ./main > out.txt";
  REQUIRE(std::system(build.c_str()) == 0);

  std::vector<ir::Tensor> args;
  for (size_t b = 0; b < g.params.size(); ++b) {
    ir::Tensor t = ir::Tensor::zeros(g.type(g.params[b].value));
    for (size_t i = 0; i < t.data.size(); ++i) t.data[i] = static_cast<float>(inputValue(b, i));
    args.push_back(t);
  }
  std::vector<double> expected = ir::evaluate(g, args)[0].data;
  std::ifstream results(dir / "out.txt");
  std::vector<double> got;
  for (double v; results >> v;) got.push_back(v);
  REQUIRE(got.size() == expected.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(expected[i]).epsilon(1e-4).margin(1e-5));
  fs::remove_all(dir);
}
