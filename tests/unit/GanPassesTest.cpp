// The GAN passes on tiny networks in double precision: the unrolled G gradient (K = 1, 2; SGD with momentum,
// Adam, RMSProp; second and first order) and each penalty's D gradient against central finite differences, the
// first-order gradient against the direct term computed by hand, and @step against updates composed by hand.
#include <catch2/catch.hpp>

#include <algorithm>

#include <cmath>
#include <random>

#include "frontend/Frontend.h"
#include "ir/Interpreter.h"
#include "ir/Verifier.h"
#include "passes/AutodiffPass.h"
#include "passes/PassManager.h"
#include "runtime/Arguments.h"

using namespace gantry;

namespace {

// A GAN small enough for finite differences: 1-D data, 2-D noise, tanh networks of width 3, batch 3.
std::string tinyGan(const std::string &objective, const std::string &optD = "sgd(lr: 0.1, momentum: 0.5)",
                    const std::string &optG = "sgd(lr: 0.1)") {
  return "data x ~ bimodal1d()\nnoise z ~ normal(dim: 2)\n"
         "net G(z) -> 1 { tanh(linear(3)); linear(1) }\n"
         "net D(x) -> 1 { tanh(linear(3)); softplus(linear(3)); linear(1) }\n"
         "objective {\n" + objective + "\n}\n"
         "train { batch 3; optimize D " + optD + "; optimize G " + optG + " }\n";
}

ir::Module lowered(const std::string &text, const std::string &pipeline) {
  ir::Module m = frontend::compile({"tiny.gan", text});
  passes::Instrumentation verify;
  verify.verifyEach = true;
  passes::runPipeline(m, passes::parsePipeline(pipeline), verify);
  REQUIRE(ir::verify(m).empty());
  return m;
}

// Arguments with every value drawn away from zero (biases too), and optimizer state filled with plausible
// values: positive second moments, a step count of 3.
std::vector<ir::Tensor> argumentsFor(const ir::Function &f, uint64_t seed) {
  std::vector<ir::Tensor> args = runtime::sampleArguments(f, seed);
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::uniform_real_distribution<double> u(0.2, 0.8);
  for (size_t i = 0; i < f.params.size(); ++i) {
    const std::string &name = f.nameOf(f.params[i].value);
    for (double &v : args[i].data) {
      if (f.params[i].role == ir::ParamRole::Param && (name.ends_with(".b") || std::abs(v) < 1e-9)) v = u(rng) - 0.5;
      if (name.ends_with(".v") || name.ends_with(".sq")) v = 0.01 * u(rng);
      if (name.ends_with(".m") || name.ends_with(".momentum")) v = 0.1 * (u(rng) - 0.5);
      if (name.ends_with(".adam.t")) v = 3;
    }
  }
  return args;
}

size_t indexOf(const ir::Function &f, const std::string &param) {
  for (size_t i = 0; i < f.params.size(); ++i)
    if (f.nameOf(f.params[i].value) == param) return i;
  FAIL("no parameter " << param);
  return 0;
}

// Checks every grad.P result of `withGrads` (which must be `plain` plus autodiff results) against central
// differences of `plain`'s loss; returns how many entries were compared.
int checkAgainstFiniteDifferences(const ir::Function &withGrads, const ir::Function &plain, const std::vector<ir::Tensor> &args) {
  std::vector<ir::Tensor> out = ir::evaluate(withGrads, args);
  int compared = 0;
  for (size_t r = 0; r < withGrads.results.size(); ++r) {
    const std::string &name = withGrads.results[r].name;
    if (name.rfind("grad.", 0) != 0) continue;
    size_t p = indexOf(plain, name.substr(5));
    for (size_t i = 0; i < args[p].data.size(); ++i) {
      const double h = 1e-5;
      std::vector<ir::Tensor> up = args, down = args;
      up[p].data[i] += h;
      down[p].data[i] -= h;
      double fd = (ir::evaluate(plain, up)[0].data[0] - ir::evaluate(plain, down)[0].data[0]) / (2 * h);
      INFO(name << "[" << i << "]: autodiff " << out[r].data[i] << ", finite differences " << fd);
      CHECK(out[r].data[i] == Approx(fd).epsilon(1e-6).margin(1e-8));
      ++compared;
    }
  }
  return compared;
}

}  // namespace

TEST_CASE("the unrolled G gradient is exact second order", "[gan][unroll]") {
  // K = 1, 2 and 5, with each optimizer of the language as D's.
  const char *optimizers[] = {"sgd(lr: 0.1, momentum: 0.5)", "adam(lr: 0.05, beta1: 0.5)", "rmsprop(lr: 0.01)"};
  for (int k : {1, 2, 5}) {
    for (const char *opt : optimizers) {
      INFO("K = " << k << ", D optimizer " << opt);
      std::string text = tinyGan("losses nonsaturating\nunroll D " + std::to_string(k), opt);
      ir::Module plain = lowered(text, "unroll");
      ir::Module graded = plain;
      REQUIRE(passes::addLossGradients(graded));
      const ir::Function &f = *plain.find("G.loss");
      CHECK(checkAgainstFiniteDifferences(*graded.find("G.loss"), f, argumentsFor(f, 7 + k)) == 13);
    }
  }
}

TEST_CASE("first order keeps only the direct term, which differs from second order", "[gan][unroll]") {
  // With plain SGD, θD^K can be computed by hand from D's loss gradient: the first-order G gradient must be
  // the gradient of G's own loss at θD^K.
  const double lr = 0.1;
  ir::Module first = lowered(tinyGan("losses nonsaturating\nunroll D 2, order: first", "sgd(lr: 0.1)"), "unroll,autodiff");
  ir::Module second = lowered(tinyGan("losses nonsaturating\nunroll D 2", "sgd(lr: 0.1)"), "unroll,autodiff");
  ir::Module base = lowered(tinyGan("losses nonsaturating", "sgd(lr: 0.1)"), "autodiff");
  const ir::Function &g1 = *first.find("G.loss"), &g2 = *second.find("G.loss");
  const ir::Function &gBase = *base.find("G.loss"), &dBase = *base.find("D.loss");
  std::vector<ir::Tensor> args = argumentsFor(g1, 21);
  std::vector<ir::Tensor> out1 = ir::evaluate(g1, args), out2 = ir::evaluate(g2, args);

  // θD^2 by hand: two SGD steps on D's loss, same batch.
  auto argsFor = [&](const ir::Function &f, const std::vector<ir::Tensor> &from, const ir::Function &fromF) {
    std::vector<ir::Tensor> a;
    for (const ir::Param &p : f.params) a.push_back(from[indexOf(fromF, f.nameOf(p.value))]);
    return a;
  };
  std::vector<ir::Tensor> dArgs = argsFor(dBase, args, g1);
  for (int step = 0; step < 2; ++step) {
    std::vector<ir::Tensor> grads = ir::evaluate(dBase, dArgs);
    for (size_t r = 1; r < dBase.results.size(); ++r) {
      size_t p = indexOf(dBase, dBase.results[r].name.substr(5));
      for (size_t i = 0; i < dArgs[p].data.size(); ++i) dArgs[p].data[i] -= lr * grads[r].data[i];
    }
  }
  std::vector<ir::Tensor> gArgs = argsFor(gBase, args, g1);
  for (size_t i = 0; i < gBase.params.size(); ++i)
    if (gBase.nameOf(gBase.params[i].value).rfind("D.", 0) == 0) gArgs[i] = dArgs[indexOf(dBase, gBase.nameOf(gBase.params[i].value))];
  std::vector<ir::Tensor> direct = ir::evaluate(gBase, gArgs);

  double differs = 0;
  for (size_t r = 1; r < g1.results.size(); ++r) {
    INFO(g1.results[r].name);
    for (size_t i = 0; i < out1[r].data.size(); ++i) {
      CHECK(out1[r].data[i] == Approx(direct[r].data[i]).epsilon(1e-9).margin(1e-12));
      differs = std::max(differs, std::abs(out1[r].data[i] - out2[r].data[i]));
    }
  }
  CHECK(out1[0].data[0] == Approx(out2[0].data[0]).epsilon(1e-12));  // the same loss value
  CHECK(differs > 1e-4);  // but another gradient: the term through dθD^K/dθG
}

TEST_CASE("each penalty's D gradient is exact (double backprop)", "[gan][penalty]") {
  for (const char *penalty : {"wgan_gp(lambda: 10)", "dragan(lambda: 10, c: 0.5, k: 1)", "r1(gamma: 5)", "r2(gamma: 5)"}) {
    INFO(penalty);
    ir::Module plain = lowered(tinyGan(std::string("losses wasserstein\npenalty D ") + penalty), "penalty");
    ir::Module graded = plain;
    REQUIRE(passes::addLossGradients(graded));
    const ir::Function &f = *plain.find("D.loss");
    CHECK(checkAgainstFiniteDifferences(*graded.find("D.loss"), f, argumentsFor(f, 3)) == 22);
  }
}

TEST_CASE("r1 on a linear discriminator is gamma w^2", "[gan][penalty]") {
  std::string text = "data x ~ bimodal1d()\nnoise z ~ normal(dim: 2)\nnet G(z) -> 1 { linear(1) }\nnet D(x) -> 1 { linear(1) }\n"
                     "objective { losses wasserstein\npenalty D r1(gamma: 3) }\ntrain { batch 4 }\n";
  ir::Module with = lowered(text, "penalty"), without = lowered(text, "dce");
  const ir::Function &f = *with.find("D.loss");
  std::vector<ir::Tensor> args = argumentsFor(f, 5);
  double w = args[indexOf(f, "D.l0.w")].data[0];
  double penalised = ir::evaluate(f, args)[0].data[0];
  std::vector<ir::Tensor> plainArgs;
  for (const ir::Param &p : without.find("D.loss")->params) plainArgs.push_back(args[indexOf(f, without.find("D.loss")->nameOf(p.value))]);
  double plain = ir::evaluate(*without.find("D.loss"), plainArgs)[0].data[0];
  CHECK(penalised - plain == Approx(3 * w * w).epsilon(1e-12));
}

TEST_CASE("@step applies D's update, then G's against the updated D", "[gan][step]") {
  const double lrD = 0.1, lrG = 0.05;
  for (int nCritic : {1, 2}) {
    INFO("n_critic = " << nCritic);
    std::string objective = "losses nonsaturating\nn_critic " + std::to_string(nCritic);
    ir::Module m = lowered(tinyGan(objective, "sgd(lr: 0.1)", "sgd(lr: 0.05)"), "step");
    ir::Module graded = lowered(tinyGan(objective, "sgd(lr: 0.1)", "sgd(lr: 0.05)"), "autodiff");
    const ir::Function &step = *m.find("step");
    const ir::Function &dLoss = *graded.find("D.loss"), &gLoss = *graded.find("G.loss");
    // G's view of the updated D went through stop_gradient while @step was differentiated; none is left.
    CHECK(std::none_of(step.ops.begin(), step.ops.end(), [](const ir::Op &op) { return op.kind == ir::OpKind::StopGradient; }));
    std::vector<ir::Tensor> args = argumentsFor(step, 13);
    std::vector<ir::Tensor> out = ir::evaluate(step, args);

    // By hand: the critic steps, each on its own batch, then G's step on the plain batch.
    std::map<std::string, ir::Tensor> weights;
    for (size_t i = 0; i < step.params.size(); ++i)
      if (step.params[i].role == ir::ParamRole::Param) weights[step.nameOf(step.params[i].value)] = args[i];
    auto argsOf = [&](const ir::Function &f, const std::string &batchPrefix) {
      std::vector<ir::Tensor> a;
      for (const ir::Param &p : f.params) {
        const std::string &name = f.nameOf(p.value);
        a.push_back(weights.count(name) ? weights[name] : args[indexOf(step, batchPrefix + name)]);
      }
      return a;
    };
    double lossD = 0;
    for (int c = 0; c < nCritic; ++c) {
      std::vector<ir::Tensor> g = ir::evaluate(dLoss, argsOf(dLoss, nCritic == 1 ? "" : "critic." + std::to_string(c) + "."));
      lossD = g[0].data[0];
      for (size_t r = 1; r < dLoss.results.size(); ++r)
        for (size_t i = 0; i < g[r].data.size(); ++i) weights[dLoss.results[r].name.substr(5)].data[i] -= lrD * g[r].data[i];
    }
    std::vector<ir::Tensor> g = ir::evaluate(gLoss, argsOf(gLoss, ""));
    for (size_t r = 1; r < gLoss.results.size(); ++r)
      for (size_t i = 0; i < g[r].data.size(); ++i) weights[gLoss.results[r].name.substr(5)].data[i] -= lrG * g[r].data[i];

    CHECK(out[0].data[0] == Approx(lossD).epsilon(1e-12));
    CHECK(out[1].data[0] == Approx(g[0].data[0]).epsilon(1e-12));
    for (size_t r = 2; r < step.results.size(); ++r) {
      INFO(step.results[r].name);
      const std::vector<double> &want = weights.at(step.results[r].name).data;
      for (size_t i = 0; i < want.size(); ++i) CHECK(out[r].data[i] == Approx(want[i]).epsilon(1e-12).margin(1e-15));
    }
  }
}

TEST_CASE("unrolling Adam through a dead unit gives a finite, exact G gradient", "[gan][unroll]") {
  // A unit whose pre-activation is negative for the whole batch has exactly zero gradient: Adam's first step
  // there meets sqrt(v) with v = 0, whose derivative is infinite (the autodiff convention keeps 0 * inf at 0).
  std::string text = "data x ~ bimodal1d()\nnoise z ~ normal(dim: 2)\nnet G(z) -> 1 { tanh(linear(3)); linear(1) }\n"
                     "net D(x) -> 1 { relu(linear(3)); linear(1) }\n"
                     "objective { losses nonsaturating\nunroll D 2 }\n"
                     "train { batch 3; optimize D adam(lr: 0.05) }\n";
  ir::Module plain = lowered(text, "unroll");
  ir::Module graded = plain;
  REQUIRE(passes::addLossGradients(graded));
  const ir::Function &f = *plain.find("G.loss");
  std::vector<ir::Tensor> args = argumentsFor(f, 29);
  for (const char *name : {"D.l0.w.m", "D.l0.w.v", "D.l0.b.m", "D.l0.b.v", "D.l1.w.m", "D.l1.w.v", "D.l1.b.m", "D.l1.b.v"})
    for (double &v : args[indexOf(f, name)].data) v = 0;  // a fresh Adam
  args[indexOf(f, "D.adam.t")].data[0] = 0;
  args[indexOf(f, "D.l0.b")].data[0] = -100;  // unit 0 is dead for every sample
  std::vector<ir::Tensor> out = ir::evaluate(*graded.find("G.loss"), args);
  for (const ir::Tensor &t : out)
    for (double v : t.data) CHECK(std::isfinite(v));
  CHECK(checkAgainstFiniteDifferences(*graded.find("G.loss"), f, args) == 13);
}

TEST_CASE("unrolling through a penalised D loss is exact (third-order paths)", "[gan][unroll][penalty]") {
  for (const char *penalty : {"r1(gamma: 2)", "r2(gamma: 2)", "wgan_gp(lambda: 1)"}) {
    INFO(penalty);
    std::string text = tinyGan(std::string("losses nonsaturating\npenalty D ") + penalty + "\nunroll D 2", "sgd(lr: 0.1)");
    ir::Module plain = lowered(text, "penalty,unroll");
    ir::Module graded = plain;
    REQUIRE(passes::addLossGradients(graded));
    const ir::Function &f = *plain.find("G.loss");
    CHECK(checkAgainstFiniteDifferences(*graded.find("G.loss"), f, argumentsFor(f, 31)) == 13);
  }
}

TEST_CASE("with `fresh`, each unrolled step reads its own batch and the gradient stays exact", "[gan][unroll]") {
  std::string text = tinyGan("losses nonsaturating\nunroll D 2, fresh: true", "adam(lr: 0.05)");
  ir::Module plain = lowered(text, "unroll");
  const ir::Function &f = *plain.find("G.loss");
  // Step k's own batch and noise are parameters of G's loss, drawn like the originals.
  for (const char *name : {"unroll.1.x", "unroll.1.z", "unroll.2.x", "unroll.2.z"}) {
    INFO(name);
    CHECK(indexOf(f, name) < f.params.size());
  }
  CHECK(f.params[indexOf(f, "unroll.2.z")].dist == f.params[indexOf(f, "z")].dist);
  ir::Module graded = plain;
  REQUIRE(passes::addLossGradients(graded));
  std::vector<ir::Tensor> args = argumentsFor(f, 41);
  CHECK(checkAgainstFiniteDifferences(*graded.find("G.loss"), f, args) == 13);
  // And the batches matter: changing step 2's batch changes G's loss.
  std::vector<ir::Tensor> moved = args;
  for (double &v : moved[indexOf(f, "unroll.2.x")].data) v += 0.5;
  CHECK(ir::evaluate(f, moved)[0].data[0] != ir::evaluate(f, args)[0].data[0]);
}
