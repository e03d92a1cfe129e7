// The training driver and what it measures: mode-collapse metrics on hand-made sample sets, the datasets
// (including malformed files), determinism, resuming, the NaN guard, and a short run that must find both modes
// of the 1-D mixture.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

#include <fmt/format.h>

#include "backend/ThreadPool.h"
#include "frontend/Frontend.h"
#include "runtime/Data.h"
#include "runtime/FiniteScan.h"
#include "runtime/Metrics.h"
#include "runtime/Sweep.h"
#include "runtime/Trainer.h"
#include "support/Files.h"
#include "support/Npz.h"

using namespace gantry;
namespace fs = std::filesystem;

namespace {

const std::vector<std::vector<double>> kSquare = {{1, 0}, {0, 1}, {-1, 0}, {0, -1}};

fs::path scratch(const std::string &name) {
  fs::path p = fs::temp_directory_path() / ("gantry-trainer-" + std::to_string(::getpid()) + "-" + name);
  fs::remove_all(p);
  return p;
}

std::string examplePath(const std::string &name) {
  const char *testsDir = std::getenv("GANTRY_TESTS_DIR");
  REQUIRE(testsDir != nullptr);
  return std::string(testsDir) + "/../examples/" + name + ".gan";
}

ir::Module program(const std::string &path, const std::vector<std::string> &sets) {
  return frontend::compile({path, readFile(path)}, sets);
}

}  // namespace

TEST_CASE("mode metrics on hand-made sample sets", "[metrics]") {
  // Every mode hit exactly: all captured, all high quality, KL 0.
  std::vector<float> all = {1, 0, 0, 1, -1, 0, 0, -1, 1.05f, 0, 0, 0.95f, -1, 0.1f, 0, -1};
  runtime::ModeMetrics m = runtime::modeMetrics(all, 2, kSquare, 0.1);
  CHECK(m.modesCaptured == 4);
  CHECK(m.highQualityFraction == 1.0);
  CHECK(m.reverseKl == Approx(0.0).margin(1e-12));
  // One mode only: KL(q || uniform) = log 4.
  std::vector<float> one = {1, 0, 1.1f, 0, 0.9f, 0.05f};
  m = runtime::modeMetrics(one, 2, kSquare, 0.1);
  CHECK(m.modesCaptured == 1);
  CHECK(m.reverseKl == Approx(std::log(4.0)).epsilon(1e-12));
  // Off-mode points count against quality but capture nothing: 3σ is the boundary.
  std::vector<float> off = {1, 0, 1.29f, 0, 1.31f, 0, 0, 0, 5, 5};
  m = runtime::modeMetrics(off, 2, kSquare, 0.1);
  CHECK(m.modesCaptured == 1);
  CHECK(m.highQualityFraction == Approx(0.4));
  CHECK(m.perMode == std::vector<int64_t>{2, 0, 0, 0});
  // Two modes in proportion 3:1: KL = 3/4 log 3 + 1/4 log 1 (with p = 1/4 per mode).
  std::vector<float> skew = {1, 0, 1, 0, 1, 0, 0, 1};
  m = runtime::modeMetrics(skew, 2, kSquare, 0.1);
  CHECK(m.reverseKl == Approx(0.75 * std::log(3.0) + 0.25 * std::log(1.0)).epsilon(1e-12));
  // No samples at all, and only NaN: nothing captured, KL undefined.
  m = runtime::modeMetrics({}, 2, kSquare, 0.1);
  CHECK(m.modesCaptured == 0);
  CHECK(std::isnan(m.reverseKl));
  std::vector<float> nans = {NAN, NAN};
  m = runtime::modeMetrics(nans, 2, kSquare, 0.1);
  CHECK(m.highQualityFraction == 0);
}

TEST_CASE("datasets sample their mixtures, and bad files are refused", "[data]") {
  ir::Module ring = program(examplePath("ring8"), {});
  auto data = runtime::makeDataset(ring);
  REQUIRE(data->modes().size() == 8);
  CHECK(data->modes()[2][0] == Approx(0).margin(1e-12));
  CHECK(data->modes()[2][1] == Approx(2));
  std::vector<float> batch(2 * 4000);
  data->sample({1, 0, 0}, batch);
  runtime::ModeMetrics m = runtime::modeMetrics(batch, 2, data->modes(), data->modeStd());
  CHECK(m.modesCaptured == 8);
  // Within 3σ lies 1 - e^{-9/2} = 98.89% of a 2-D Gaussian's mass (sampling error here about 0.17%).
  CHECK(m.highQualityFraction == Approx(1 - std::exp(-4.5)).margin(0.006));
  CHECK(m.reverseKl < 0.01);

  fs::path dir = scratch("csv");
  fs::create_directories(dir);
  auto csvProgram = [&](const std::string &contents) {
    writeFileAtomically((dir / "d.csv").string(), contents);
    std::string text = "data x ~ csv(\"d.csv\")\nnoise z ~ normal(dim: 2)\nnet G(z) -> 2 { linear(2) }\nnet D(x) -> 1 { linear(1) }\n"
                       "objective { losses hinge }\n";
    return frontend::compile({(dir / "p.gan").string(), text});
  };
  auto refused = [&](const std::string &contents) {
    try {
      runtime::makeDataset(csvProgram(contents));
    } catch (const FileError &e) {
      return std::string(e.what()).substr(std::string(e.what()).find("d.csv'") + 6);
    }
    return std::string("(accepted)");
  };
  CHECK(refused("a,b\n1,2\n3\n") == " line 3: 1 columns, the file's first row has 2");
  CHECK(refused("1,2\nnan,3\n") == " line 2: nan is not a finite number");
  CHECK(refused("1,2\n1e300,3\n") == " line 2: 1e300 is beyond float32's range");
  CHECK(refused("1,2\nx,y\n") == " line 2: not a row of numbers");
  CHECK(refused("1,2\n") == "(accepted)");
  auto ok = runtime::makeDataset(csvProgram("# two points\nx,y\n1,2\n3,4\n"));
  std::vector<float> rows(2 * 50);
  ok->sample({3, 0, 0}, rows);
  for (size_t r = 0; r < 50; ++r) CHECK(((rows[2 * r] == 1 && rows[2 * r + 1] == 2) || (rows[2 * r] == 3 && rows[2 * r + 1] == 4)));
  // 40 rows (k, -k): training draws rows k % 10 != 9 only, the held-out draws rows 9, 19, 29, 39 only.
  std::string forty;
  for (int k = 0; k < 40; ++k) forty += fmt::format("{},{}\n", k, -k);
  auto split = runtime::makeDataset(csvProgram(forty));
  std::vector<float> training(2 * 400), heldOut(2 * 400);
  split->sample({5, 0, 0}, training);
  split->sampleHeldOut({5, 0, 0}, heldOut);
  std::set<int> seenTraining, seenHeldOut;
  for (size_t r = 0; r < 400; ++r) {
    seenTraining.insert(static_cast<int>(training[2 * r]));
    seenHeldOut.insert(static_cast<int>(heldOut[2 * r]));
    CHECK(training[2 * r + 1] == -training[2 * r]);
  }
  CHECK(seenHeldOut == std::set<int>{9, 19, 29, 39});
  CHECK(seenTraining.size() == 36);
  for (int k : seenHeldOut) CHECK(seenTraining.count(k) == 0);
  fs::remove_all(dir);
}

TEST_CASE("energy distance on hand-made sets", "[metrics]") {
  // 1-D: {0, 0} against {1, 1}: 2·1 − 0 − 0.
  CHECK(runtime::energyDistance(std::vector<float>{0, 0}, std::vector<float>{1, 1}, 1) == Approx(2.0));
  // {0, 2} against {1}: E|X−Y| = 1, E|X−X′| = (0 + 2 + 2 + 0) / 4 = 1, E|Y−Y′| = 0.
  CHECK(runtime::energyDistance(std::vector<float>{0, 2}, std::vector<float>{1}, 1) == Approx(1.0));
  // 2-D: a 3-4-5 triangle: {(0,0)} against {(3,4)} is 2·5.
  CHECK(runtime::energyDistance(std::vector<float>{0, 0}, std::vector<float>{3, 4}, 2) == Approx(10.0));
  // The same set: exactly 0; symmetric in its arguments.
  std::vector<float> a = {0.5f, 1, -2, 3, 4, 0}, b = {1, 1, 0, 0, -1, 2};
  CHECK(runtime::energyDistance(a, a, 2) == Approx(0.0).margin(1e-12));
  CHECK(runtime::energyDistance(a, b, 2) == Approx(runtime::energyDistance(b, a, 2)));
  CHECK(runtime::energyDistance(a, b, 2) > 0);
  CHECK(std::isnan(runtime::energyDistance(std::vector<float>{}, b, 2)));
}

TEST_CASE("training is deterministic, resumes exactly, and stops on NaN", "[trainer]") {
  ir::Module m = program(examplePath("bimodal1d"), {"train.batch=32", "train.eval_every=10"});
  runtime::RunOptions quiet;
  quiet.quiet = true;
  auto run = [&](const std::string &dir, int64_t steps, const std::string &resume = "") {
    runtime::RunOptions o = quiet;
    o.outDir = dir;
    o.steps = steps;
    o.resumeDir = resume;
    return runtime::train(m, "bimodal1d", o);
  };
  fs::path a = scratch("a"), b = scratch("b"), c = scratch("c");
  REQUIRE(run(a.string(), 30) == 0);
  REQUIRE(run(b.string(), 30) == 0);
  auto ca = readNpz((a / "checkpoint.npz").string()), cb = readNpz((b / "checkpoint.npz").string());
  REQUIRE(ca.size() == cb.size());
  for (const auto &[key, arr] : ca) {
    INFO(key);
    CHECK(arr.data == cb[key].data);
  }
  CHECK(ca["meta.step"].wide == std::vector<double>{30});
  // 20 steps, then 10 more from the checkpoint: the same parameters as 30 at once.
  REQUIRE(run(c.string(), 20) == 0);
  REQUIRE(run(c.string(), 30, c.string()) == 0);
  auto cc = readNpz((c / "checkpoint.npz").string());
  for (const auto &[key, arr] : ca) {
    INFO(key);
    CHECK(arr.data == cc[key].data);
  }
  // Learning rates that overflow f32 within a few steps: the run stops with exit code 1 and the last good
  // checkpoint stays readable.
  ir::Module exploding = program(examplePath("bimodal1d"), {"train.batch=32", "train.eval_every=5", "optimize.D.lr=1e38", "optimize.G.lr=1e38"});
  runtime::RunOptions o = quiet;
  fs::path d = scratch("nan");
  o.outDir = d.string();
  o.steps = 200;
  CHECK(runtime::train(exploding, "exploding", o) == 1);
  CHECK_NOTHROW(readNpz((d / "checkpoint.npz").string()));
  for (const fs::path &p : {a, b, c, d}) fs::remove_all(p);
}

TEST_CASE("the finite-value scan finds the first NaN or infinity", "[trainer]") {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const float finite[] = {0.0f, -0.0f, std::numeric_limits<float>::max(), -std::numeric_limits<float>::max(),
                          std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::min(), 1.0f, -3.5f};
  for (size_t n : {size_t{0}, size_t{1}, size_t{7}, size_t{1023}, size_t{1024}, size_t{1025}, size_t{5000}}) {
    std::vector<float> x(n);
    for (size_t i = 0; i < n; ++i) x[i] = finite[i % 8];
    INFO("n = " << n);
    CHECK(runtime::firstNonFiniteIndex(x.data(), n) == n);
    // One bad value at each interesting place (block boundaries included), then a later second one.
    for (size_t at : {size_t{0}, size_t{1}, size_t{1023}, size_t{1024}, size_t{1025}, n - 1}) {
      if (at >= n) continue;
      for (float bad : {inf, -inf, nan, -nan}) {
        std::vector<float> y = x;
        y[at] = bad;
        if (at + 1500 < n) y[at + 1500] = nan;
        INFO("at = " << at << ", value = " << bad);
        CHECK(runtime::firstNonFiniteIndex(y.data(), n) == at);
      }
    }
  }
}

TEST_CASE("the unrolled 1-D GAN finds both modes", "[trainer][e2e]") {
  ir::Module m = program(examplePath("bimodal1d_unrolled"), {"train.steps=1500", "train.eval_every=1500", "unroll.steps=5"});
  fs::path dir = scratch("e2e");
  runtime::RunOptions o;
  o.quiet = true;
  o.outDir = dir.string();
  REQUIRE(runtime::train(m, "bimodal1d_unrolled", o) == 0);
  std::string summary = readFile((dir / "summary.json").string());
  INFO(summary);
  CHECK(summary.find("\"modes_captured\": 2") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("--terms splits G's gradient: zero unrolled term at first order, a live one at second order", "[trainer]") {
  // The last metrics.jsonl line's value of `key`.
  auto lastValue = [](const fs::path &dir, const std::string &key) {
    std::string text = readFile((dir / "metrics.jsonl").string());
    size_t at = text.rfind("\"" + key + "\": ");
    REQUIRE(at != std::string::npos);
    return std::stod(text.substr(at + key.size() + 4));
  };
  auto run = [](const std::vector<std::string> &sets, const fs::path &dir) {
    std::vector<std::string> all = {"train.batch=32", "train.eval_every=10", "unroll.steps=3"};
    all.insert(all.end(), sets.begin(), sets.end());
    runtime::RunOptions o;
    o.quiet = true;
    o.terms = true;
    o.outDir = dir.string();
    o.steps = 20;
    REQUIRE(runtime::train(program(examplePath("bimodal1d_unrolled"), all), "terms", o) == 0);
  };
  fs::path second = scratch("terms2"), first = scratch("terms1");
  run({}, second);
  run({"unroll.order=first"}, first);
  CHECK(lastValue(second, "grad_G_direct") > 0);
  CHECK(lastValue(second, "grad_G_unrolled") > 0);
  CHECK(std::abs(lastValue(second, "grad_G_cosine")) <= 1);
  CHECK(lastValue(first, "grad_G_direct") > 0);
  CHECK(lastValue(first, "grad_G_unrolled") == 0);  // first order: the two compiled gradients agree exactly
  // The same run without --terms trains identically: measuring changes nothing.
  fs::path plain = scratch("terms0");
  runtime::RunOptions o;
  o.quiet = true;
  o.outDir = plain.string();
  o.steps = 20;
  REQUIRE(runtime::train(program(examplePath("bimodal1d_unrolled"), {"train.batch=32", "train.eval_every=10", "unroll.steps=3"}), "terms", o) == 0);
  auto a = readNpz((plain / "checkpoint.npz").string()), b = readNpz((second / "checkpoint.npz").string());
  for (const auto &[key, arr] : a) {
    INFO(key);
    CHECK(arr.data == b[key].data);
  }
  CHECK(readFile((plain / "metrics.jsonl").string()).find("grad_G") == std::string::npos);
  for (const fs::path &p : {second, first, plain}) fs::remove_all(p);
}

TEST_CASE("mean and standard error for the sweep table", "[sweep]") {
  runtime::MeanError m = runtime::meanError({2, 4, 9});
  CHECK(m.count == 3);
  CHECK(m.mean == Approx(5.0));
  CHECK(m.error == Approx(std::sqrt(13.0 / 3.0)));  // sample variance (9 + 1 + 16) / 2 = 13, over n = 3
  CHECK(runtime::meanAndError({2, 4, 9}, 2) == "5.00 ± 2.08");
  CHECK(runtime::meanAndError({7}, 1) == "7.0");
  CHECK(runtime::meanAndError({}, 1) == "—");
  CHECK(runtime::meanAndError({1, NAN, 3}, 1) == "2.0 ± 1.0");  // a reverse KL with no high-quality samples is left out
  runtime::SweepAxis axis = runtime::parseSweepAxis("unroll.steps=0,5,10");
  CHECK(axis.key == "unroll.steps");
  CHECK(axis.values == std::vector<std::string>{"0", "5", "10"});
  CHECK_THROWS_WITH(runtime::parseSweepAxis("unroll.steps=0,,5"), "'unroll.steps=0,,5' has an empty value");
  CHECK_THROWS_WITH(runtime::parseSweepAxis("steps"), "'steps' is not KEY=VALUE[,VALUE...]");
}

TEST_CASE("a sweep trains every combination, each run exactly as gantry run would", "[sweep][trainer]") {
  const std::string path = examplePath("bimodal1d_unrolled");
  const std::vector<std::string> fixed = {"train.batch=32", "train.eval_every=20"};
  auto compile = [&](const std::vector<std::string> &overrides) {
    std::vector<std::string> all = fixed;
    all.insert(all.end(), overrides.begin(), overrides.end());
    return program(path, all);
  };
  fs::path dir = scratch("sweep"), single = scratch("single");
  runtime::SweepOptions options;
  options.axes = {runtime::parseSweepAxis("unroll.steps=0,2")};
  options.seeds = {1, 2};
  options.steps = 20;
  options.outDir = dir.string();
  options.quiet = true;
  REQUIRE(runtime::sweep(compile, "bimodal1d_unrolled", options) == 0);
  for (const char *run : {"unroll.steps=0-seed1", "unroll.steps=0-seed2", "unroll.steps=2-seed1", "unroll.steps=2-seed2"}) {
    INFO(run);
    CHECK(fs::exists(dir / run / "checkpoint.npz"));
  }
  // The run with unroll 2 and seed 2 equals a plain run with the same settings.
  runtime::RunOptions o;
  o.quiet = true;
  o.outDir = single.string();
  o.steps = 20;
  o.seed = 2;
  REQUIRE(runtime::train(compile({"unroll.steps=2"}), "bimodal1d_unrolled", o) == 0);
  auto swept = readNpz((dir / "unroll.steps=2-seed2" / "checkpoint.npz").string());
  auto alone = readNpz((single / "checkpoint.npz").string());
  REQUIRE(swept.size() == alone.size());
  for (const auto &[key, arr] : alone) {
    INFO(key);
    CHECK(arr.data == swept[key].data);
  }
  // The tables: a header and one line per combination.
  std::string csv = readFile((dir / "sweep.csv").string());
  CHECK(csv.rfind("unroll.steps,runs,diverged,modes,modes_captured,modes_captured_se,", 0) == 0);
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 3);
  CHECK(csv.find("\n0,2,0,2,") != std::string::npos);
  CHECK(csv.find("\n2,2,0,2,") != std::string::npos);
  std::string md = readFile((dir / "sweep.md").string());
  // A mixture: the mode columns, no energy distance column.
  CHECK(md.rfind("| unroll.steps | runs | modes captured | high quality % | reverse KL | steps/s | compile s |\n| --- |", 0) == 0);
  fs::remove_all(dir);
  fs::remove_all(single);
}
