// The `gantry` command line: a thin layer over the libraries. Each subcommand parses its flags, calls the library
// entry points, and turns errors into messages with a non-zero exit code:
//   1  the input is bad (located `FILE:LINE:COL: error: ...` diagnostics) or a file cannot be read or written;
//   2  the command line is bad (unknown flag, missing argument, unknown pass).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <optional>
#include <cstdio>
#include <string>

#include "backend/AmxKernels.h"
#include "backend/Jit.h"
#include "backend/ObjectFile.h"
#include "backend/Target.h"
#include "backend/ThreadPool.h"
#include "frontend/AstPrinter.h"
#include "frontend/Frontend.h"
#include "gantry_config.h"
#include "ir/Interpreter.h"
#include "ir/Parser.h"
#include "ir/Printer.h"
#include "passes/PassManager.h"
#include "runtime/Arguments.h"
#include "runtime/Grad.h"
#include "runtime/Trainer.h"
#include "runtime/Sample.h"
#include "runtime/Sweep.h"
#include "support/Npz.h"
#include "support/Diagnostic.h"
#include "support/Files.h"

namespace {

// What a bad program's diagnostics are rendered against (the source line under each message).
std::string currentSource;

std::string versionText() {
  gantry::backend::HostTarget host = gantry::backend::detectHost();
  return fmt::format("gantry {}\nLLVM {}, host {} ({}{}{})", GANTRY_VERSION, gantry::backend::llvmVersion(), host.cpu,
                     host.triple, host.has("avx512f") ? ", AVX-512" : host.has("avx2") ? ", AVX2" : "",
                     gantry::backend::amxEnabled() ? ", AMX for large matmuls" : "");
}

void emit(const std::string &text, const std::string &outPath) {
  if (outPath.empty() || outPath == "-") {
    std::fputs(text.c_str(), stdout);
  } else {
    gantry::writeFileAtomically(outPath, text);
  }
}

bool isGanFile(const std::string &path) { return path.size() > 4 && path.substr(path.size() - 4) == ".gan"; }

// Sources are read whole: a .gan program may be 1 MiB (frontend::kMaxSourceBytes), an IR file 256 MiB; anything
// larger is refused before it is read, so a wrong path cannot exhaust memory.
gantry::frontend::Source readSource(const std::string &path) {
  gantry::frontend::Source src{path, gantry::readFile(path, isGanFile(path) ? gantry::frontend::kMaxSourceBytes : size_t{256} << 20)};
  currentSource = src.text;
  return src;
}

// One line per result: the value itself when small, its mean, min and max otherwise.
std::string describeResult(const std::string &name, const gantry::ir::Tensor &t) {
  std::string head = fmt::format("  {}: {} =", name, t.type.str());
  if (t.type.rank() == 0) return fmt::format("{} {:.6g}\n", head, t.data[0]);
  if (t.data.size() <= 8) return fmt::format("{} [{:.6g}]\n", head, fmt::join(t.data, ", "));
  double sum = 0, lo = t.data[0], hi = t.data[0];
  for (double v : t.data) {
    sum += v;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  return fmt::format("{} mean {:.6g}, min {:.6g}, max {:.6g}\n", head, sum / static_cast<double>(t.data.size()), lo, hi);
}

// Evaluates every function with the interpreter, or with the JIT (reporting compile time and the cache).
std::string evaluateModule(const gantry::ir::Module &m, uint64_t seed, bool jit, bool useCache) {
  std::string report;
  for (const gantry::ir::Function &f : m.functions) {
    std::vector<gantry::ir::Tensor> args = gantry::runtime::sampleArguments(f, seed), results;
    if (jit) {
      auto compiled = gantry::backend::compile(f, {useCache, {}});
      results = compiled->run(args);
      report += fmt::format("@{} (seed {}, JIT: compiled in {:.3f} s{}, arena {} KiB):\n", f.name, seed, compiled->compileSeconds(),
                            compiled->fromCache() ? " from the cache" : "", compiled->arenaBytes() / 1024);
    } else {
      results = gantry::ir::evaluate(f, args);
      report += fmt::format("@{} (seed {}, reference interpreter):\n", f.name, seed);
    }
    for (size_t i = 0; i < results.size(); ++i) report += describeResult(f.results[i].name, results[i]);
  }
  return report;
}

struct IrOptions {
  std::string path, outPath, emit = "ir";
  std::vector<std::string> overrides;
  bool eval = false, jit = false, noCache = false;
  int threads = 0;  // 0: the machine's hardware threads
  uint64_t seed = 1;
  std::string passes;  // empty: none, unless an instrumentation flag asks for the default pipeline
  std::vector<std::string> printAfter;
  gantry::passes::Instrumentation inst;
};

// A bad --passes or --stop-after value: a command-line error (exit code 2).
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Runs the pipeline the flags ask for; dumps and the timing table go to standard error, as with LLVM's opt.
void runPasses(gantry::ir::Module &m, IrOptions o) {
  bool instrumented = !o.printAfter.empty() || o.inst.printAfterAll || o.inst.printChanged || o.inst.verifyEach ||
                      o.inst.timePasses || !o.inst.stopAfter.empty();
  if (o.passes.empty() && !instrumented) return;
  gantry::passes::Pipeline pipeline;
  try {
    pipeline = gantry::passes::parsePipeline(o.passes.empty() ? "default" : o.passes);
  } catch (const std::invalid_argument &e) {
    throw UsageError(fmt::format("--passes: {}", e.what()));
  }
  auto inPipeline = [&](const std::string &name) {
    for (const auto &step : pipeline)
      for (const auto *p : step.passes)
        if (p->name == name) return true;
    return false;
  };
  for (const std::string &name : o.printAfter) {
    if (!inPipeline(name)) throw UsageError(fmt::format("--print-after: '{}' is not in the pipeline {}", name, gantry::passes::pipelineStr(pipeline)));
    o.inst.printAfter.insert(name);
  }
  if (!o.inst.stopAfter.empty() && !inPipeline(o.inst.stopAfter))
    throw UsageError(fmt::format("--stop-after: '{}' is not in the pipeline {}", o.inst.stopAfter, gantry::passes::pipelineStr(pipeline)));
  gantry::passes::PipelineReport report = gantry::passes::runPipeline(m, pipeline, o.inst);
  std::fputs(report.log.c_str(), stderr);
  if (o.inst.timePasses) std::fputs(gantry::passes::timeReport(report).c_str(), stderr);
}

// `gantry ir FILE`: a .gir file is parsed, verified and printed; a .gan file is compiled by the frontend and its
// AST (--emit=ast) or IR (--emit=ir) printed. --eval evaluates every function instead, on arguments drawn from
// the seed (runtime/Arguments.h), with the reference interpreter.
int runIr(const IrOptions &o) {
  gantry::frontend::Source src = readSource(o.path);
  gantry::ir::Module m;
  if (isGanFile(o.path)) {
    if (o.emit == "ast") {
      if (o.eval) throw UsageError("--eval needs --emit=ir, not --emit=ast");
      emit(gantry::frontend::printAst(gantry::frontend::parse(src)), o.outPath);
      return 0;
    }
    m = gantry::frontend::compile(src, o.overrides);
  } else {
    if (o.emit == "ast") throw gantry::FileError(fmt::format("--emit=ast needs a .gan file, '{}' is IR", o.path));
    if (!o.overrides.empty()) throw gantry::FileError("--set applies to .gan files only");
    m = gantry::ir::parseModule(src.text, o.path);
  }
  runPasses(m, o);
  if (o.emit == "llvm" || o.emit == "asm") {
    if (o.eval) throw UsageError(fmt::format("--eval needs --emit=ir, not --emit={}", o.emit));
    std::string text;
    for (const gantry::ir::Function &f : m.functions)
      text += o.emit == "llvm" ? gantry::backend::llvmIr(f, true) : gantry::backend::assembly(f);
    emit(text, o.outPath);
    return 0;
  }
  if (o.jit && !o.eval) throw UsageError("--jit needs --eval");
  if (o.threads > 0) gantry::backend::setThreads(o.threads);
  emit(o.eval ? evaluateModule(m, o.seed, o.jit, !o.noCache) : gantry::ir::print(m), o.outPath);
  return 0;
}

// `gantry compile FILE -o model.o`: an object file and a C header (backend/ObjectFile.h).
struct CompileOptions {
  std::string path, outPath, headerPath, prefix, passes = "default";
  std::vector<std::string> overrides;
};

std::string defaultPrefix(const std::string &path) {
  std::string stem = std::filesystem::path(path).stem().string(), out;
  for (char c : stem) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  if (out.empty() || std::isdigit(static_cast<unsigned char>(out[0]))) out = "gantry_" + out;
  return out;
}

int runCompile(CompileOptions o) {
  gantry::frontend::Source src = readSource(o.path);
  gantry::ir::Module m = isGanFile(o.path) ? gantry::frontend::compile(src, o.overrides) : gantry::ir::parseModule(src.text, o.path);
  IrOptions pipeline;
  pipeline.passes = o.passes;
  runPasses(m, pipeline);
  if (o.prefix.empty()) o.prefix = defaultPrefix(o.path);
  if (o.headerPath.empty()) o.headerPath = std::filesystem::path(o.outPath).replace_extension(".h").string();
  auto start = std::chrono::steady_clock::now();
  gantry::backend::AotOutput out = gantry::backend::compileAheadOfTime(m, o.prefix, o.path);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  gantry::writeFileAtomically(o.outPath, out.object);
  gantry::writeFileAtomically(o.headerPath, out.header);
  fmt::print("{}: {} functions compiled in {:.2f} s -> {} and {}\n", o.path, m.functions.size(), seconds, o.outPath, o.headerPath);
  return 0;
}

// `gantry grad FILE.gan --params P.npz --batch B.npz -o OUT.npz`: losses and gradients at given parameters
// (runtime/Grad.h says how arrays are named).
struct GradOptions {
  std::string path, paramsPath, statePath, batchPath, outPath;
  std::vector<std::string> overrides;
  bool listInputs = false, interpret = false, terms = false;
};

int runGrad(const GradOptions &o) {
  gantry::frontend::Source src = readSource(o.path);
  gantry::ir::Module m = gantry::runtime::prepareGrad(gantry::frontend::compile(src, o.overrides), o.terms);
  if (o.listInputs) {
    const char *files[] = {"--params", "--opt-state", "--batch"};
    for (const auto &r : gantry::runtime::requiredInputs(m))
      fmt::print("{:<12} {:<28} [{}]\n", files[static_cast<int>(r.kind)], r.key, fmt::join(r.shape, ", "));
    return 0;
  }
  if (o.paramsPath.empty() || o.batchPath.empty() || o.outPath.empty())
    throw UsageError("grad needs --params, --batch and -o (or --list-inputs)");
  gantry::runtime::GradInputs in;
  in.params = gantry::readNpz(o.paramsPath);
  in.paramsFile = "'" + o.paramsPath + "'";
  in.batch = gantry::readNpz(o.batchPath);
  in.batchFile = "'" + o.batchPath + "'";
  if (!o.statePath.empty()) {
    in.state = gantry::readNpz(o.statePath);
    in.stateFile = "'" + o.statePath + "'";
    in.haveState = true;
  }
  auto out = gantry::runtime::computeGrad(m, in, o.interpret);
  gantry::writeNpzAtomically(o.outPath, out);
  fmt::print("{}: loss.D = {:.6g}, loss.G = {:.6g} -> {}\n", o.path, out.at("loss.D").data[0], out.at("loss.G").data[0], o.outPath);
  if (o.terms) {
    // How much D's lookahead changes G's step: the two parts of G's gradient over all its parameters.
    double direct = 0, unrolled = 0, dot = 0;
    for (const auto &[key, a] : out) {
      if (key.rfind("grad_direct.", 0) != 0) continue;
      const gantry::NpyArray &u = out.at("grad_unrolled." + key.substr(12));
      for (size_t i = 0; i < a.data.size(); ++i) {
        direct += double(a.data[i]) * a.data[i];
        unrolled += double(u.data[i]) * u.data[i];
        dot += double(a.data[i]) * u.data[i];
      }
    }
    if (direct == 0 && unrolled == 0) {
      fmt::print("G's gradient has no unrolled term: the objective is not unrolled\n");
    } else {
      fmt::print("G's gradient: |direct| = {:.6g}, |through the unrolled updates| = {:.6g}, cosine = {:.4f}\n", std::sqrt(direct),
                 std::sqrt(unrolled), dot / std::max(1e-300, std::sqrt(direct * unrolled)));
    }
  }
  return 0;
}

// What `run` and `sample` share: a program with its --set overrides, a seed and a thread count.
struct ProgramCommand {
  std::string path;
  std::vector<std::string> overrides;
  uint64_t seed = 0;
  bool seedGiven = false;  // CLI11 2.1 binds no std::optional with our validator
  int threads = 0;

  gantry::ir::Module load() const {
    gantry::frontend::Source src = readSource(path);
    if (threads > 0) gantry::backend::setThreads(threads);
    return gantry::frontend::compile(src, overrides);
  }
  std::optional<uint64_t> seedOption() const { return seedGiven ? std::optional<uint64_t>(seed) : std::nullopt; }
};

// `gantry run FILE.gan`: train (runtime/Trainer.h).
struct RunCommand : ProgramCommand {
  int64_t steps = 0;  // 0: the program's
  gantry::runtime::RunOptions options;
};

int runTrain(RunCommand c) {
  gantry::ir::Module m = c.load();
  if (c.steps > 0) c.options.steps = c.steps;
  c.options.seed = c.seedOption();
  return gantry::runtime::train(m, std::filesystem::path(c.path).stem().string(), c.options);
}

// `gantry sample FILE.gan --checkpoint DIR -n N -o OUT`: draw from a trained generator (runtime/Sample.h).
struct SampleCommand : ProgramCommand {
  gantry::runtime::SampleOptions options;
};

int runSample(SampleCommand c) {
  gantry::ir::Module m = c.load();
  c.options.seed = c.seedOption();
  gantry::runtime::sample(m, c.options);
  return 0;
}

// `gantry sweep FILE.gan --set KEY=V1,V2 ... --seeds 1,2,3`: train every combination (runtime/Sweep.h). A --set
// with one value is a fixed override; with several, an axis of the table.
struct SweepCommand {
  std::string path;
  std::vector<std::string> sets, seeds;
  int64_t steps = 0;
  int threads = 0;
  gantry::runtime::SweepOptions options;
};

int runSweep(SweepCommand c) {
  gantry::frontend::Source src = readSource(c.path);
  std::vector<std::string> fixed, keys;
  for (const std::string &text : c.sets) {
    gantry::runtime::SweepAxis axis;
    try {
      axis = gantry::runtime::parseSweepAxis(text);
    } catch (const std::invalid_argument &e) {
      throw UsageError(fmt::format("--set: {}", e.what()));
    }
    for (size_t i = 0; i < axis.values.size(); ++i)
      for (size_t j = 0; j < i; ++j)
        if (axis.values[i] == axis.values[j]) throw UsageError(fmt::format("--set: {} lists {} twice", axis.key, axis.values[i]));
    for (const std::string &key : keys)
      if (key == axis.key) throw UsageError(fmt::format("--set: {} is given twice", axis.key));
    keys.push_back(axis.key);
    if (axis.values.size() == 1) {
      fixed.push_back(text);
    } else {
      c.options.axes.push_back(axis);
    }
  }
  auto compile = [&](const std::vector<std::string> &overrides) {
    std::vector<std::string> all = fixed;
    all.insert(all.end(), overrides.begin(), overrides.end());
    return gantry::frontend::compile(src, all);
  };
  for (const std::string &s : c.seeds) {
    uint64_t seed = std::stoull(s);
    if (std::find(c.options.seeds.begin(), c.options.seeds.end(), seed) != c.options.seeds.end())
      throw UsageError(fmt::format("--seeds: {} is given twice", seed));
    c.options.seeds.push_back(seed);
  }
  if (c.options.seeds.empty())
    c.options.seeds.push_back(static_cast<uint64_t>(std::get<int64_t>(*compile({}).attrs.find("train.seed"))));
  if (c.steps > 0) c.options.steps = c.steps;
  if (c.threads > 0) gantry::backend::setThreads(c.threads);
  return gantry::runtime::sweep(compile, std::filesystem::path(c.path).stem().string(), c.options);
}

// `gantry check FILE.gan`: diagnostics only.
int runCheck(const std::string &path, const std::vector<std::string> &overrides) {
  gantry::frontend::Source src = readSource(path);
  gantry::frontend::Program program = gantry::frontend::parse(src);
  gantry::frontend::check(program, src, overrides);
  fmt::print("{}: ok\n", path);
  return 0;
}

// CLI11 2.1 reads "-5" into an unsigned option by wrapping and saturates out-of-range numbers: check the text.
const CLI::Validator unsignedInteger(
    [](std::string &text) -> std::string {
      uint64_t value = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (ec == std::errc::result_out_of_range) return fmt::format("{} is out of range (at most 2^64-1)", text);
      if (ec != std::errc() || end != text.data() + text.size())
        return fmt::format("'{}' is not a non-negative integer", text);
      return {};
    },
    "UINT", "unsigned integer");

const CLI::Validator positiveInteger(
    [](std::string &text) -> std::string {
      int value = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (ec != std::errc() || end != text.data() + text.size() || value < 1 || value > 1024)
        return fmt::format("'{}' is not a thread count from 1 to 1024", text);
      return {};
    },
    "N", "positive integer");

}  // namespace

int main(int argc, char **argv) {
  CLI::App app{"Gantry: a compiler for GAN training objectives", "gantry"};
  app.require_subcommand(0, 1);
  bool showVersion = false;
  app.add_flag("--version", showVersion, "Print the version, the LLVM version and the host CPU");

  IrOptions irOpts;
  CLI::App *ir = app.add_subcommand("ir", "Print the IR of a .gan program or an IR file (.gir)");
  ir->add_option("file", irOpts.path, "A .gan program or an IR text file")->required();
  ir->add_option("-o,--output", irOpts.outPath, "Write the output here (atomically) instead of to standard output");
  ir->add_option("--emit", irOpts.emit, "What to print: ast (.gan only), ir, llvm (optimised LLVM IR) or asm (host assembly)")
      ->check(CLI::IsMember({"ast", "ir", "llvm", "asm"}))
      ->capture_default_str();
  ir->add_option("--set", irOpts.overrides, "Override a setting of the program, as in train.batch=128 (repeatable)");
  ir->add_flag("--eval", irOpts.eval, "Evaluate each function on seeded arguments with the reference interpreter");
  ir->add_flag("--jit", irOpts.jit, "With --eval: run the JIT-compiled code instead of the interpreter");
  ir->add_option("--threads", irOpts.threads, "Threads for JIT-compiled code (default: all hardware threads)")
      ->check(positiveInteger);
  ir->add_flag("--no-cache", irOpts.noCache, "Compile afresh, without reading or writing the compile cache");
  ir->add_option("--seed", irOpts.seed, "Seed for --eval's arguments (0 to 2^64-1)")->check(unsignedInteger)->capture_default_str();

  ir->add_option("--passes", irOpts.passes, "Run these passes, as in 'cse,dce' or 'default' (" +
                                                std::string(gantry::passes::kDefaultPipeline) + ")");
  ir->add_option("--print-after", irOpts.printAfter, "Print the IR after these passes (comma-separated)")->delimiter(',');
  ir->add_flag("--print-after-all", irOpts.inst.printAfterAll, "Print the IR after every pass");
  ir->add_flag("--print-changed", irOpts.inst.printChanged, "Print the IR after each pass that changed it");
  ir->add_flag("--verify-each", irOpts.inst.verifyEach, "Verify the IR after every pass");
  ir->add_flag("--time-passes", irOpts.inst.timePasses, "Print time and op counts per pass");
  ir->add_option("--stop-after", irOpts.inst.stopAfter, "Stop the pipeline after this pass");

  CLI::App *passesCmd = app.add_subcommand("passes", "List the passes and the default pipeline");

  CompileOptions compileOpts;
  CLI::App *compileCmd = app.add_subcommand("compile", "Compile to an object file and a C header, to embed without LLVM");
  compileCmd->add_option("file", compileOpts.path, "A .gan program or an IR file (.gir)")->required();
  compileCmd->add_option("-o,--output", compileOpts.outPath, "The object file to write")->required();
  compileCmd->add_option("--header", compileOpts.headerPath, "The C header to write (default: the object's name with .h)");
  compileCmd->add_option("--prefix", compileOpts.prefix, "Prefix of the C symbols (default: the file's name)")
      ->check([](const std::string &p) { return !p.empty() && (std::isalpha(static_cast<unsigned char>(p[0])) || p[0] == '_') &&
                                                 std::all_of(p.begin(), p.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; })
                                             ? std::string() : std::string("must be a C identifier"); });
  compileCmd->add_option("--passes", compileOpts.passes, "Passes to run first")->capture_default_str();
  compileCmd->add_option("--set", compileOpts.overrides, "Override a setting of the program (repeatable)");

  GradOptions gradOpts;
  CLI::App *gradCmd = app.add_subcommand("grad", "Losses and gradients at given parameters, to check against other frameworks");
  gradCmd->add_option("file", gradOpts.path, "The .gan program")->required();
  gradCmd->add_option("--params", gradOpts.paramsPath, "Parameters (.npz, PyTorch layout: NET.LAYER.weight [out, in], .bias)");
  gradCmd->add_option("--opt-state", gradOpts.statePath, "Optimizer state (.npz); default: a fresh optimizer");
  gradCmd->add_option("--batch", gradOpts.batchPath, "The batch and random draws (.npz)");
  gradCmd->add_option("-o,--output", gradOpts.outPath, "Where to write loss.D, loss.G and grad.* (.npz)");
  gradCmd->add_option("--set", gradOpts.overrides, "Override a setting of the program (repeatable)");
  gradCmd->add_flag("--list-inputs", gradOpts.listInputs, "Print every array the files must hold, with its shape");
  gradCmd->add_flag("--terms", gradOpts.terms, "Also write G's gradient split into its direct and unrolled terms");
  gradCmd->add_flag("--interpret", gradOpts.interpret, "Compute in double precision with the interpreter, not the JIT");

  RunCommand runOpts;
  CLI::App *runCmd = app.add_subcommand("run", "Train a .gan program: progress, metrics, checkpoints");
  runCmd->add_option("file", runOpts.path, "The .gan program")->required();
  runCmd->add_option("--steps", runOpts.steps, "Training steps (default: the program's)")->check(CLI::Range(int64_t{1}, int64_t{1000000000}));
  runCmd->add_option("--seed", runOpts.seed, "Seed (default: the program's)")->check(unsignedInteger)->each([&](const std::string &) { runOpts.seedGiven = true; });
  runCmd->add_option("--threads", runOpts.threads, "Threads (default: all hardware threads)")->check(positiveInteger);
  runCmd->add_option("--out", runOpts.options.outDir, "Output folder (default: runs/NAME-TIMESTAMP)");
  runCmd->add_option("--resume", runOpts.options.resumeDir, "Continue the run saved in this folder");
  runCmd->add_option("--set", runOpts.overrides, "Override a setting of the program (repeatable)");
  runCmd->add_flag("--quiet", runOpts.options.quiet, "Print nothing but errors");
  runCmd->add_flag("--json", runOpts.options.json, "Print one JSON line per evaluation, nothing else");
  runCmd->add_flag("--terms", runOpts.options.terms, "At each evaluation, split G's gradient into its direct and unrolled terms");

  SampleCommand sampleOpts;
  CLI::App *sampleCmd = app.add_subcommand("sample", "Draw samples from a trained generator");
  sampleCmd->add_option("file", sampleOpts.path, "The .gan program the checkpoint was trained from")->required();
  sampleCmd->add_option("--checkpoint", sampleOpts.options.checkpoint, "A run folder (or its checkpoint.npz)")->required();
  sampleCmd->add_option("-n", sampleOpts.options.count, "How many samples")->capture_default_str()->check(CLI::Range(int64_t{1}, int64_t{100000000}));
  sampleCmd->add_option("-o", sampleOpts.options.output, "Output file, .npy or .csv")->required();
  sampleCmd->add_option("--seed", sampleOpts.seed, "Seed of the noise (default: the checkpoint's)")->check(unsignedInteger)->each([&](const std::string &) { sampleOpts.seedGiven = true; });
  sampleCmd->add_option("--threads", sampleOpts.threads, "Threads (default: all hardware threads)")->check(positiveInteger);
  sampleCmd->add_option("--set", sampleOpts.overrides, "Override a setting of the program (repeatable)");

  SweepCommand sweepOpts;
  CLI::App *sweepCmd = app.add_subcommand("sweep", "Train every combination of settings over seeds and tabulate mode collapse");
  sweepCmd->add_option("file", sweepOpts.path, "The .gan program")->required();
  sweepCmd->add_option("--set", sweepOpts.sets, "KEY=V1,V2,... an axis of the table; KEY=V a fixed override (repeatable)");
  sweepCmd->add_option("--seeds", sweepOpts.seeds, "Seeds, comma-separated (default: the program's)")->delimiter(',')->check(unsignedInteger);
  sweepCmd->add_option("--steps", sweepOpts.steps, "Training steps of every run (default: the program's)")->check(CLI::Range(int64_t{1}, int64_t{1000000000}));
  sweepCmd->add_option("--threads", sweepOpts.threads, "Threads (default: all hardware threads)")->check(positiveInteger);
  sweepCmd->add_option("--out", sweepOpts.options.outDir, "Output folder (default: runs/NAME-sweep-TIMESTAMP)");
  sweepCmd->add_flag("--quiet", sweepOpts.options.quiet, "Print nothing but errors");

  std::string checkPath;
  std::vector<std::string> checkOverrides;
  CLI::App *check = app.add_subcommand("check", "Check a .gan program and report every error");
  check->add_option("file", checkPath, "The .gan program")->required();
  check->add_option("--set", checkOverrides, "Override a setting of the program, as in train.steps=1000 (repeatable)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    fmt::print(stderr, "gantry: error: {}\nRun 'gantry --help' for usage.\n", e.what());
    return 2;
  }

  try {
    if (showVersion) {
      fmt::print("{}\n", versionText());
      return 0;
    }
    if (*ir) return runIr(irOpts);
    if (*check) return runCheck(checkPath, checkOverrides);
    if (*compileCmd) return runCompile(compileOpts);
    if (*gradCmd) return runGrad(gradOpts);
    if (*runCmd) return runTrain(runOpts);
    if (*sampleCmd) return runSample(sampleOpts);
    if (*sweepCmd) return runSweep(sweepOpts);
    if (*passesCmd) {
      for (const gantry::passes::PassInfo &p : gantry::passes::allPasses()) fmt::print("{:<12} {}\n", p.name, p.summary);
      fmt::print("\ndefault pipeline: {}\n", gantry::passes::kDefaultPipeline);
      return 0;
    }
    fmt::print("{}", app.help());
    return 0;
  } catch (const UsageError &e) {
    fmt::print(stderr, "gantry: error: {}\n", e.what());
    return 2;
  } catch (const gantry::ProgramError &e) {
    const gantry::DiagnosticList &d = e.diagnostics();
    fmt::print(stderr, "{}{} error{} generated.\n", d.render(currentSource), d.errorCount(), d.errorCount() == 1 ? "" : "s");
  } catch (const gantry::CompileError &e) {
    fmt::print(stderr, "{}\n", e.diagnostic().str());
  } catch (const gantry::FileError &e) {
    fmt::print(stderr, "gantry: error: {}\n", e.what());
  } catch (const gantry::backend::ResourceError &e) {
    fmt::print(stderr, "gantry: error: {}\n", e.what());
  } catch (const std::bad_alloc &) {
    fmt::print(stderr, "gantry: error: out of memory\n");
  } catch (const std::exception &e) {
    fmt::print(stderr, "gantry: internal error: {}\n", e.what());
  }
  return 1;
}
