// The .gan frontend: how the parser reads expressions and statements, error recovery and rendering, what the
// checker infers, command-line overrides, and the values the lowered losses compute against independent
// hand-written formulas.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "frontend/AstPrinter.h"
#include "frontend/Frontend.h"
#include "frontend/Parser.h"
#include "ir/Interpreter.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"
#include "support/Files.h"

using namespace gantry;
using namespace gantry::frontend;

namespace {

// The ring8-shaped program with its objective replaced, for tests that vary one part.
std::string program(const std::string &objective, const std::string &train = "batch 4", const std::string &data = "ring()") {
  return "data x ~ " + data + R"(
noise z ~ normal(dim: 3)
net G(z) -> 2 { relu(linear(5)); linear(2) }
net D(x) -> 1 { relu(linear(5)); linear(1) }
objective {
)" + objective + "\n}\ntrain { " + train + " }\n";
}

std::string firstLoss(const std::string &expr) {
  Program p = parse({"t.gan", program("loss D = " + expr + "\nloss G = 0")});
  return printExpr(*std::get<LossStmt>(p.objective[0]).value);
}

// Every diagnostic of a program that must fail, as `str()` lines.
std::vector<std::string> errorsOf(const std::string &text, const std::vector<std::string> &sets = {}) {
  try {
    compile({"t.gan", text}, sets);
  } catch (const ProgramError &e) {
    std::vector<std::string> out;
    for (const Diagnostic &d : e.diagnostics().all()) out.push_back(d.str());
    return out;
  }
  return {"(compiled)"};
}

}  // namespace

TEST_CASE("operators bind as in mathematics", "[frontend][parser]") {
  CHECK(firstLoss("a + b * c") == "(+ a (* b c))");
  CHECK(firstLoss("a - b - c") == "(- (- a b) c)");
  CHECK(firstLoss("a / b * c") == "(* (/ a b) c)");
  CHECK(firstLoss("-x^2") == "(neg (^ x 2))");
  CHECK(firstLoss("2^3^2") == "(^ 2 (^ 3 2))");
  CHECK(firstLoss("2^-1") == "(^ 2 (neg 1))");
  CHECK(firstLoss("(a + b) * c") == "(* (+ a b) c)");
  CHECK(firstLoss("--a") == "(neg (neg a))");
  CHECK(firstLoss("mean(x, axis: 1)") == "(mean x (axis: 1))");
  CHECK(firstLoss("f(g(h(1.5e-3)))") == "(f (g (h 1.5e-3)))");
}

TEST_CASE("newlines end statements except inside brackets; comments go anywhere", "[frontend][parser]") {
  std::string text = R"(# leading comment
data x ~ ring(modes: 8,   # a comment inside a call
              radius: 2.0) /* a block
comment over lines */ ; noise z ~ normal(dim: 4)
net G(z) -> 2 { linear(2) } net D(x) -> 1 { linear(1) }
)";
  // Two nets on one line need a separator: the second 'net' is reported, nothing else.
  CHECK(errorsOf(text) == std::vector<std::string>{"t.gan:5:29: error: expected the end of the statement (a new line or ';'), found 'net'"});
  text.replace(text.find("} net D"), 7, "}; net D");
  Program p = parse({"t.gan", text});
  REQUIRE(p.data.size() == 1);
  CHECK(printExpr(*p.data[0].source) == "(ring (modes: 8) (radius: 2.0))");
  CHECK(p.nets.size() == 2);
}

TEST_CASE("independent syntax errors are all reported, with carets", "[frontend][parser]") {
  std::string text = program("loss D = mean(D(x) +)\nloss G = mean(G(z)\nunroll D");
  std::vector<std::string> errors = errorsOf(text);
  CHECK(errors == std::vector<std::string>{
                      "t.gan:6:21: error: expected an expression, found ')'",
                      "t.gan:8:1: error: expected ',' or ')', found 'unroll'",
                      "t.gan:7:14: note: to match this '('",
                  });
  DiagnosticList list("t.gan");
  parseProgram(text, list);
  const std::string expected =
      "t.gan:6:21: error: expected an expression, found ')'\nloss D = mean(D(x) +)\n                    ^\n"
      "t.gan:8:1: error: expected ',' or ')', found 'unroll'\nunroll D\n^~~~~~\n"
      "t.gan:7:14: note: to match this '('\nloss G = mean(G(z)\n             ^\n";
  CHECK(list.render(text) == expected);
}

TEST_CASE("objective.unroll is another name for unroll.steps on the command line", "[frontend][check]") {
  const std::string text = program("losses nonsaturating");
  auto steps = [&](const std::vector<std::string> &sets) { return std::get<int64_t>(*compile({"t.gan", text}, sets).attrs.find("unroll.steps")); };
  CHECK(steps({"objective.unroll=7"}) == 7);
  CHECK(steps({"unroll.steps=3"}) == 3);
  CHECK(errorsOf(text, {"objective.unroll=5", "unroll.steps=3"}) ==
        std::vector<std::string>{"t.gan: error: --set unroll.steps=3: 'unroll.steps' is set twice on the command line"});
}

TEST_CASE("a program longer than 1 MiB is refused before it is parsed", "[frontend][limits]") {
  std::string big(kMaxSourceBytes + 1, '#');
  CHECK(errorsOf(big) == std::vector<std::string>{"t.gan: error: the file is 1048577 bytes; a .gan program may be at most 1048576 (1 MiB)"});
  // At the limit it is parsed: a file of comments is only missing its parts.
  std::string comments(kMaxSourceBytes, '#');
  CHECK(errorsOf(comments).size() == 3);
}

TEST_CASE("carets underline the whole span of a name", "[frontend][diagnostics]") {
  std::string text = program("loss D = mean(softplis(D(x)))\nloss G = mean(G(z))");
  try {
    compile({"t.gan", text});
    FAIL("compiled");
  } catch (const ProgramError &e) {
    CHECK(e.diagnostics().render(text) ==
          "t.gan:6:15: error: unknown function 'softplis'; did you mean 'softplus'?\n"
          "loss D = mean(softplis(D(x)))\n"
          "              ^~~~~~~~\n");
  }
}

TEST_CASE("the checker infers widths, names layers and fills defaults", "[frontend][check]") {
  std::string text = program("losses hinge", "batch 8; steps 100");
  text.replace(text.find("net D(x) -> 1 { relu(linear(5)); linear(1) }"), 44,
               "net D(x) -> 1 init orthogonal(gain: 1.5) { hidden = leaky_relu(linear(5), alpha: 0.2); elu; linear(1, bias: false) }");
  Source src{"t.gan", text};
  Program p = parse(src);
  CheckedProgram c = check(p, src);
  CHECK(c.generator.name == "G");
  CHECK(c.generator.inWidth == 3);
  CHECK(c.discriminator.inWidth == 2);
  CHECK(c.discriminator.init.kind == "orthogonal");
  CHECK(c.discriminator.init.param == 1.5);
  REQUIRE(c.discriminator.steps.size() == 4);
  CHECK(c.discriminator.steps[0].name == "hidden");
  CHECK(c.discriminator.steps[1].activation == "leaky_relu");
  CHECK(c.discriminator.steps[1].alpha == 0.2);
  CHECK(c.discriminator.steps[2].activation == "elu");
  CHECK(c.discriminator.steps[2].alpha == 1.0);
  CHECK(c.discriminator.steps[3].name == "l1");  // counted from 0, as PyTorch's nn.Sequential does
  CHECK_FALSE(c.discriminator.steps[3].bias);
  CHECK(c.generator.init.kind == "he");
  CHECK(c.train.batch == 8);
  CHECK(c.train.steps == 100);
  CHECK(c.train.seed == 1);
  CHECK(c.lossFamily == "hinge");
  // No optimize statements: Adam with PyTorch's defaults.
  CHECK(c.discriminatorOptimizer.kind == "adam");
  CHECK(c.discriminatorOptimizer.params == std::map<std::string, double>{{"beta1", 0.9}, {"beta2", 0.999}, {"eps", 1e-8}, {"lr", 1e-3}});
  CHECK(c.data.dim == 2);
  CHECK(c.data.params.at("modes") == 8);
}

TEST_CASE("data files give the data width", "[frontend][check]") {
  const char *testsDir = std::getenv("GANTRY_TESTS_DIR");
  REQUIRE(testsDir != nullptr);
  for (const char *source : {"csv(\"../data/points3.csv\")", "npy(\"../data/points3.npy\", standardize: true)"}) {
    INFO(source);
    std::string text = program("losses nonsaturating", "batch 4", source);
    text.replace(text.find("net G(z) -> 2 { relu(linear(5)); linear(2) }"), 44, "net G(z) -> 3 { relu(linear(5)); linear(3) }");
    // Relative data paths are resolved against the program's folder.
    Source src{std::string(testsDir) + "/golden/t.gan", text};
    Program p = parse(src);
    CheckedProgram c = check(p, src);
    CHECK(c.data.dim == 3);
    std::string given(source);
    given = given.substr(given.find('"') + 1, given.rfind('"') - given.find('"') - 1);
    CHECK(c.data.path == std::string(testsDir) + "/golden/" + given);
  }
}

TEST_CASE("--set overrides change the program and are checked like it", "[frontend][overrides]") {
  std::string text = program("losses nonsaturating\nunroll D 2");
  ir::Module m = compile({"t.gan", text}, {"train.batch=16", "unroll.steps=3", "optimize.G.lr=2e-4", "n_critic=2", "data.std=0.1"});
  CHECK(m.attrs.getInt("train.batch") == 16);
  CHECK(m.attrs.getInt("unroll.steps") == 3);
  CHECK(m.attrs.getFloat("optimizer.G.lr") == 2e-4);
  CHECK(m.attrs.getInt("n_critic") == 2);
  CHECK(m.attrs.getFloat("data.std") == 0.1);
  CHECK(m.find("G")->type(m.find("G")->results[0].value).str() == "f32[16,2]");
  CHECK(errorsOf(text, {"train.batch=0", "optimize.D.beta1=1", "data.modes=2.5", "train.bogus=1", "unroll.order=third"}) ==
        std::vector<std::string>{
            "t.gan: error: --set train.batch=0: 'batch' of 'train' must be from 1 to 1048576, got 0",
            "t.gan: error: --set data.modes=2.5: 'modes' of 'ring' must be an integer, got 2.5",
            "t.gan: error: --set optimize.D.beta1=1: 'beta1' of 'adam' must be in [0, 1), got 1",
            "t.gan: error: --set unroll.order=third: 'order' of 'unroll' must be one of first, second, got third",
            "t.gan: error: --set train.bogus=1: 'train.bogus' is not a setting of this program",
        });
  CHECK(errorsOf(text, {"train.batch"}) == std::vector<std::string>{"t.gan: error: --set train.batch: expected KEY=VALUE, as in train.steps=1000"});
  CHECK(errorsOf(text, {"train.batch=(4"}) == std::vector<std::string>{"t.gan: error: --set train.batch=(4: expected ')', found the end of the value"});
}

// ---- values ----

namespace {

// A program whose networks are single linear maps, so every loss can be written out by hand: G(z) = a z + c,
// D(x) = w x + b, with 1-D data and noise.
std::string tinyProgram(const std::string &objective) {
  return R"(data x ~ bimodal1d()
noise z ~ normal(dim: 1)
net G(z) -> 1 { linear(1) }
net D(x) -> 1 { linear(1) }
objective {
)" + objective + "\n}\ntrain { batch 3 }\n";
}

struct Tiny {
  std::vector<double> x = {-2.5, 0.5, 3.0}, z = {0.3, -1.2, 2.0};
  double a = 0.7, c = -0.4, w = 1.3, b = 0.2;

  // Arguments of @D.loss / @G.loss: x, z, G.l0.w, G.l0.b, D.l0.w, D.l0.b (then any draws).
  std::vector<ir::Tensor> args() const {
    return {ir::Tensor::f32({3, 1}, x), ir::Tensor::f32({3, 1}, z), ir::Tensor::f32({1, 1}, {a}), ir::Tensor::f32({1}, {c}),
            ir::Tensor::f32({1, 1}, {w}), ir::Tensor::f32({1}, {b})};
  }
  double real(int i) const { return w * x[i] + b; }
  double fake(int i) const { return w * (a * z[i] + c) + b; }
  template <class F>
  double mean(F f) const {
    return (f(0) + f(1) + f(2)) / 3.0;
  }
};

double softplus(double v) { return std::log1p(std::exp(v)); }

std::pair<double, double> lossesOf(const std::string &objective, const Tiny &t) {
  ir::Module m = compile({"tiny.gan", tinyProgram(objective)});
  REQUIRE(ir::verify(m).empty());
  double d = ir::evaluate(*m.find("D.loss"), t.args())[0].data[0];
  double g = ir::evaluate(*m.find("G.loss"), t.args())[0].data[0];
  return {d, g};
}

}  // namespace

TEST_CASE("loss families compute the textbook formulas", "[frontend][lower]") {
  Tiny t;
  auto check = [&](const char *family, double d, double g) {
    INFO(family);
    auto [gotD, gotG] = lossesOf(std::string("losses ") + family, t);
    CHECK(gotD == Approx(d).epsilon(1e-12));
    CHECK(gotG == Approx(g).epsilon(1e-12));
  };
  double dMinimax = t.mean([&](int i) { return softplus(-t.real(i)); }) + t.mean([&](int i) { return softplus(t.fake(i)); });
  check("minimax", dMinimax, -dMinimax);
  check("nonsaturating", dMinimax, t.mean([&](int i) { return softplus(-t.fake(i)); }));
  check("wasserstein", t.mean([&](int i) { return t.fake(i); }) - t.mean([&](int i) { return t.real(i); }),
        -t.mean([&](int i) { return t.fake(i); }));
  check("hinge",
        t.mean([&](int i) { return std::max(0.0, 1 - t.real(i)); }) + t.mean([&](int i) { return std::max(0.0, 1 + t.fake(i)); }),
        -t.mean([&](int i) { return t.fake(i); }));
  check("least_squares",
        0.5 * t.mean([&](int i) { return (t.real(i) - 1) * (t.real(i) - 1); }) + 0.5 * t.mean([&](int i) { return t.fake(i) * t.fake(i); }),
        0.5 * t.mean([&](int i) { return (t.fake(i) - 1) * (t.fake(i) - 1); }));
}

TEST_CASE("expressions lower with numpy broadcasting and exact reductions", "[frontend][lower]") {
  Tiny t;
  auto [d, g] = lossesOf("loss D = sum((D(x) - 2)^2 / 4) + norm(x)\n"
                         "loss G = mean(x * 2 + G(z)) + sum((x - mean(x, axis: 0))^2)", t);
  double sumSq = 0, meanX = t.mean([&](int i) { return t.x[i]; }), centred = 0;
  for (int i = 0; i < 3; ++i) {
    sumSq += t.x[i] * t.x[i];
    centred += (t.x[i] - meanX) * (t.x[i] - meanX);
  }
  CHECK(d == Approx(t.mean([&](int i) { return 3 * (t.real(i) - 2) * (t.real(i) - 2) / 4; }) + std::sqrt(sumSq)).epsilon(1e-12));
  CHECK(g == Approx(t.mean([&](int i) { return 2 * t.x[i] + t.a * t.z[i] + t.c; }) + centred).epsilon(1e-12));
}

TEST_CASE("grad() gives per-sample input gradients that train through", "[frontend][lower]") {
  Tiny t;
  // D is linear, so dD/dx = w for every sample: the penalty (|w| - 1)^2 is exact.
  auto [d, g] = lossesOf("let slope = norm(grad(D(x), x), axis: 1)\nloss D = mean((slope - 1)^2)\nloss G = mean(D(G(z)))", t);
  CHECK(d == Approx((std::abs(t.w) - 1) * (std::abs(t.w) - 1)).epsilon(1e-12));
  CHECK(g == Approx(t.mean([&](int i) { return t.fake(i); })).epsilon(1e-12));
}

// ---- robustness ----

TEST_CASE("truncated and mutated versions of every example give diagnostics, never a crash", "[frontend][fuzz]") {
  const char *testsDir = std::getenv("GANTRY_TESTS_DIR");
  REQUIRE(testsDir != nullptr);
  std::mt19937 rng(12345);
  const std::string bytes = "(){}[],;:=~+-*/^#\"\\ \n\t.0123456789eE_azDGxz\x80\xff\x00";
  int compiled = 0, rejected = 0;
  std::vector<std::filesystem::path> examples;
  for (const auto &entry : std::filesystem::directory_iterator(std::string(testsDir) + "/../examples"))
    if (entry.path().extension() == ".gan") examples.push_back(entry.path());
  std::sort(examples.begin(), examples.end());
  REQUIRE(examples.size() >= 9);
  for (const std::filesystem::path &example : examples) {
    std::string text = readFile(example.string());
    std::vector<std::string> variants;
    for (size_t n = 0; n < text.size(); n += 3) variants.push_back(text.substr(0, n));
    for (int i = 0; i < 250; ++i) {
      std::string v = text;
      for (int edits = 1 + static_cast<int>(rng() % 3); edits > 0; --edits) {
        size_t at = rng() % v.size();
        switch (rng() % 3) {
          case 0: v[at] = bytes[rng() % bytes.size()]; break;
          case 1: v.erase(at, 1 + rng() % 8); break;
          default: v.insert(at, 1, bytes[rng() % bytes.size()]); break;
        }
      }
      variants.push_back(v);
    }
    for (const std::string &v : variants) {
      try {
        ir::Module m = compile({"mutant.gan", v}, {"train.batch=2"});
        CHECK(ir::verify(m).empty());
        ++compiled;
      } catch (const ProgramError &e) {
        CHECK(e.diagnostics().hasErrors());
        ++rejected;
      }
    }
  }
  CHECK(compiled > 0);
  CHECK(rejected > 0);
}
