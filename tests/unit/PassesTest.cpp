// The pass manager (pipelines, fixed points, instrumentation) and the simplification pipeline on whole
// programs: it keeps every value, reaches a fixed point, and the gradients the autodiff pass adds match finite
// differences through a double-backprop penalty.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "frontend/Frontend.h"
#include "ir/Builder.h"
#include "ir/Cost.h"
#include "ir/Interpreter.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"
#include "passes/AutodiffPass.h"
#include "passes/PassManager.h"
#include "runtime/Arguments.h"
#include "support/Files.h"

using namespace gantry;

namespace {

ir::Module compileExample(const std::string &name, std::vector<std::string> sets = {"train.batch=3"}) {
  const char *testsDir = std::getenv("GANTRY_TESTS_DIR");
  REQUIRE(testsDir != nullptr);
  std::string path = std::string(testsDir) + "/../examples/" + name + ".gan";
  return frontend::compile({path, readFile(path)}, sets);
}

// How many elements of `got` differ from `want` beyond a relative epsilon and an absolute margin.
size_t mismatches(const ir::Tensor &got, const ir::Tensor &want, double epsilon, double margin) {
  size_t count = 0;
  for (size_t i = 0; i < want.data.size(); ++i) count += !(got.data[i] == Approx(want.data[i]).epsilon(epsilon).margin(margin));
  return count;
}

std::string pipelineError(const std::string &text) {
  try {
    passes::parsePipeline(text);
  } catch (const std::invalid_argument &e) {
    return e.what();
  }
  return "(parsed)";
}

}  // namespace

TEST_CASE("pipelines parse, print back, and name what is wrong", "[passes][pipeline]") {
  CHECK(passes::pipelineStr(passes::parsePipeline("default")) == std::string(passes::kDefaultPipeline));
  CHECK(passes::pipelineStr(passes::parsePipeline("cse,(fold,dce)*,dce")) == "cse,(fold,dce)*,dce");
  CHECK(pipelineError("cse,dse") == "unknown pass 'dse' (passes: autodiff, penalty, unroll, step, fold, algebraic, cse, dce, reassociate, fuse)");
  CHECK(pipelineError("(cse,dce") == "pipeline '(cse,dce': missing ')'");
  CHECK(pipelineError("(cse,dce)") == "pipeline '(cse,dce)': a group in parentheses must end with '*' (repeat to a fixed point)");
  CHECK(pipelineError("cse,") == "pipeline 'cse,': ends with ','");
  CHECK(pipelineError("cse,,dce") == "pipeline 'cse,,dce': expected a pass name at position 5");
  CHECK(pipelineError("") == "the pipeline is empty");
}

TEST_CASE("simplification keeps every value of every example and reaches a fixed point", "[passes][examples]") {
  for (const char *name : {"ring8_unrolled", "custom_penalty_ring8", "wgan_gp_8gaussians", "bimodal1d", "grid25"}) {
    INFO(name);
    ir::Module m = compileExample(name);
    passes::runPipeline(m, passes::parsePipeline("autodiff"));
    ir::Module simplified = m;
    passes::Instrumentation inst;
    inst.verifyEach = true;
    passes::PipelineReport report = passes::runPipeline(simplified, passes::parsePipeline("(fold,algebraic,cse,dce)*"), inst);
    // Simplification must leave less arithmetic, not necessarily fewer ops: an outer product becomes a mul of
    // two broadcasts (five ops for one matmul) so that it fuses with its readers.
    double flopsBefore = 0, flopsAfter = 0;
    for (const ir::Function &f : m.functions) flopsBefore += ir::flopCount(f);
    for (const ir::Function &f : simplified.functions) flopsAfter += ir::flopCount(f);
    CHECK(flopsAfter < flopsBefore);
    for (const ir::Function &f : m.functions) {
      const ir::Function &g = *simplified.find(f.name);
      std::vector<ir::Tensor> args = runtime::sampleArguments(f, 7);
      std::vector<ir::Tensor> before = ir::evaluate(f, args), after = ir::evaluate(g, args);
      REQUIRE(before.size() == after.size());
      for (size_t r = 0; r < before.size(); ++r) {
        INFO("@" << f.name << " result " << f.results[r].name);
        CHECK(mismatches(after[r], before[r], 1e-12, 1e-14) == 0);
      }
    }
    // A second run of the whole default pipeline leaves the module as it is.
    passes::runPipeline(simplified, passes::parsePipeline("default"));
    std::string once = ir::print(simplified);
    passes::runPipeline(simplified, passes::parsePipeline("default"));
    CHECK(ir::print(simplified) == once);
  }
}

TEST_CASE("the autodiff pass differentiates through grad(): second order against finite differences", "[passes][autodiff]") {
  // D's loss holds grad(D(between), between): its gradient in D's weights is a second derivative.
  ir::Module m = compileExample("custom_penalty_ring8", {"train.batch=2"});
  REQUIRE(passes::addLossGradients(m));
  const ir::Function &f = *m.find("D.loss");
  std::vector<ir::Tensor> args = runtime::sampleArguments(f, 11);
  // Give the biases non-zero values so their gradients are not special.
  for (size_t i = 0; i < f.params.size(); ++i)
    if (f.nameOf(f.params[i].value).ends_with(".b"))
      for (size_t j = 0; j < args[i].data.size(); ++j) args[i].data[j] = 0.1 * std::sin(static_cast<double>(j + i));
  std::vector<ir::Tensor> out = ir::evaluate(f, args);
  auto lossAt = [&](size_t param, size_t index, double delta) {
    std::vector<ir::Tensor> moved = args;
    moved[param].data[index] += delta;
    return ir::evaluate(f, moved)[0].data[0];
  };
  int checked = 0;
  for (size_t r = 1; r < f.results.size(); ++r) {
    const std::string param = f.results[r].name.substr(5);  // grad.<param>
    size_t p = 0;
    while (f.nameOf(f.params[p].value) != param) ++p;
    for (size_t index : {size_t{0}, args[p].data.size() / 2, args[p].data.size() - 1}) {
      const double h = 1e-6;
      double fd = (lossAt(p, index, h) - lossAt(p, index, -h)) / (2 * h);
      INFO(param << "[" << index << "]");
      CHECK(out[r].data[index] == Approx(fd).epsilon(1e-5).margin(1e-7));
      ++checked;
    }
  }
  CHECK(checked == 18);  // three entries of each of D's six parameters
}

TEST_CASE("instrumentation: dumps, --print-changed, --stop-after, --verify-each, timing", "[passes][instrumentation]") {
  ir::Module m = compileExample("bimodal1d");
  passes::Instrumentation inst;
  inst.printChanged = true;
  inst.stopAfter = "cse";
  passes::PipelineReport r = passes::runPipeline(m, passes::parsePipeline("reassociate,autodiff,fold,cse,dce"), inst);
  CHECK(r.stopped);
  CHECK(r.log.find("// *** IR Dump After reassociate *** (unchanged)\n") == 0);
  CHECK(r.log.find("// *** IR Dump After autodiff ***\nmodule {") != std::string::npos);
  CHECK(r.log.find("After dce") == std::string::npos);  // stopped before it
  REQUIRE(r.passes.size() == 4);
  CHECK(r.passes.back().name == "cse");
  std::string table = passes::timeReport(r);
  for (const char *pass : {"reassociate", "autodiff", "fold", "cse", "total"}) CHECK(table.find(pass) != std::string::npos);

  // A pass that breaks the IR is caught right after it runs.
  passes::PassInfo breaker{"breaker", "drops the first op", [](ir::Module &mod) {
                             mod.functions[0].ops.erase(mod.functions[0].ops.begin());
                             return true;
                           }};
  passes::Pipeline broken = {{{&breaker}, false}};
  passes::Instrumentation verify;
  verify.verifyEach = true;
  CHECK_THROWS_WITH(passes::runPipeline(m, broken, verify), Catch::StartsWith("invalid IR after pass 'breaker':"));
}

TEST_CASE("reassociate computes a penalty's head-weight gradient without its own product, same values", "[passes][reassociate]") {
  // The training step of each penalised example with a ReLU critic: one b x i x n product and one column sum
  // per critic step go (WGAN-GP: five critic steps), and every result stays what it was, in double precision.
  const std::pair<const char *, size_t> cases[] = {{"wgan_gp_8gaussians", 10}, {"dragan_ring8", 2}, {"r1_ring8", 2}};
  for (const auto &[name, fewer] : cases) {
    INFO(name);
    // A batch of 5: products over a batch of at most 4 are sums of outer products after algebraic, not matmuls.
    ir::Module m = compileExample(name, {"train.batch=5"});
    passes::runPipeline(m, passes::parsePipeline("penalty,unroll,cse,step,(fold,algebraic,cse,dce)*"));
    ir::Module reassociated = m;
    passes::runPipeline(reassociated, passes::parsePipeline("reassociate,dce"));
    const ir::Function &before = *m.find("step"), &after = *reassociated.find("step");
    auto matmuls = [](const ir::Function &f) {
      return static_cast<size_t>(std::count_if(f.ops.begin(), f.ops.end(), [](const ir::Op &op) { return op.kind == ir::OpKind::Matmul; }));
    };
    CHECK(matmuls(after) + fewer == matmuls(before));
    std::vector<ir::Tensor> args = runtime::sampleArguments(before, 11);
    std::vector<ir::Tensor> want = ir::evaluate(before, args), got = ir::evaluate(after, args);
    REQUIRE(want.size() == got.size());
    for (size_t r = 0; r < want.size(); ++r) {
      INFO("result " << before.results[r].name);
      CHECK(mismatches(got[r], want[r], 1e-10, 1e-12) == 0);
    }
    // Nothing left to rewrite: a second run changes nothing.
    ir::Module again = reassociated;
    passes::runPipeline(again, passes::parsePipeline("reassociate"));
    CHECK(ir::print(again) == ir::print(reassociated));
  }
}
