#include "passes/PassManager.h"

#include <fmt/format.h>

#include <chrono>
#include <stdexcept>

#include "ir/Builder.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"

namespace gantry::passes {
namespace {

const PassInfo &lookup(std::string_view name) {
  if (const PassInfo *p = findPass(name)) return *p;
  std::vector<std::string_view> known;
  for (const PassInfo &p : allPasses()) known.push_back(p.name);
  throw std::invalid_argument(fmt::format("unknown pass '{}' (passes: {})", name, fmt::join(known, ", ")));
}

class Runner {
 public:
  Runner(ir::Module &m, const Instrumentation &inst) : m_(m), inst_(inst) {}

  PipelineReport run(const Pipeline &pipeline) {
    report_.opsBefore = opCount(m_);
    for (const PipelineStep &step : pipeline) {
      if (!step.fixedPoint) {
        for (const PassInfo *p : step.passes)
          if (!runPass(*p)) return finish();
        continue;
      }
      for (int round = 0; round < kMaxFixedPointRounds; ++round) {
        bool anyChange = false;
        for (const PassInfo *p : step.passes) {
          bool changed = false;
          if (!runPass(*p, &changed)) return finish();
          anyChange = anyChange || changed;
        }
        if (!anyChange) break;
      }
    }
    return finish();
  }

 private:
  PipelineReport finish() {
    report_.opsAfter = opCount(m_);
    return std::move(report_);
  }

  PassStats &stats(std::string_view name) {
    for (PassStats &s : report_.passes)
      if (s.name == name) return s;
    report_.passes.push_back({std::string(name)});
    return report_.passes.back();
  }

  // Runs one pass with its instrumentation; false when the pipeline must stop here.
  bool runPass(const PassInfo &pass, bool *changedOut = nullptr) {
    PassStats &s = stats(pass.name);
    size_t before = opCount(m_);
    auto start = std::chrono::steady_clock::now();
    bool changed = pass.run(m_);
    s.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    s.runs += 1;
    s.changed += changed;
    s.opsDelta += static_cast<long>(opCount(m_)) - static_cast<long>(before);
    if (changedOut) *changedOut = changed;
    if (inst_.verifyEach) {
      std::vector<std::string> errors = ir::verify(m_);
      if (!errors.empty())
        throw ir::IrError(fmt::format("invalid IR after pass '{}':\n  {}", pass.name, fmt::join(errors, "\n  ")));
    }
    bool wanted = inst_.printAfterAll || inst_.printAfter.count(std::string(pass.name));
    if (inst_.printChanged && !changed) {
      report_.log += fmt::format("// *** IR Dump After {} *** (unchanged)\n", pass.name);
    } else if (wanted || (inst_.printChanged && changed)) {
      report_.log += fmt::format("// *** IR Dump After {} ***\n{}", pass.name, ir::print(m_));
    }
    if (inst_.stopAfter == pass.name) {
      report_.stopped = true;
      return false;
    }
    return true;
  }

  ir::Module &m_;
  const Instrumentation &inst_;
  PipelineReport report_;
};

}  // namespace

size_t opCount(const ir::Module &m) {
  size_t n = 0;
  for (const ir::Function &f : m.functions) n += f.ops.size();
  return n;
}

Pipeline parsePipeline(std::string_view text) {
  if (text == "default") text = kDefaultPipeline;
  Pipeline out;
  size_t i = 0;
  auto name = [&]() {
    size_t start = i;
    while (i < text.size() && text[i] != ',' && text[i] != '(' && text[i] != ')' && text[i] != '*') ++i;
    std::string_view n = text.substr(start, i - start);
    if (n.empty()) throw std::invalid_argument(fmt::format("pipeline '{}': expected a pass name at position {}", text, start + 1));
    return &lookup(n);
  };
  while (i < text.size()) {
    PipelineStep step;
    if (text[i] == '(') {
      ++i;
      while (true) {
        step.passes.push_back(name());
        if (i < text.size() && text[i] == ',') {
          ++i;
          continue;
        }
        break;
      }
      if (i >= text.size() || text[i] != ')') throw std::invalid_argument(fmt::format("pipeline '{}': missing ')'", text));
      ++i;
      if (i >= text.size() || text[i] != '*')
        throw std::invalid_argument(fmt::format("pipeline '{}': a group in parentheses must end with '*' (repeat to a fixed point)", text));
      ++i;
      step.fixedPoint = true;
    } else {
      step.passes.push_back(name());
    }
    out.push_back(std::move(step));
    if (i < text.size()) {
      if (text[i] != ',') throw std::invalid_argument(fmt::format("pipeline '{}': expected ',' at position {}", text, i + 1));
      ++i;
      if (i == text.size()) throw std::invalid_argument(fmt::format("pipeline '{}': ends with ','", text));
    }
  }
  if (out.empty()) throw std::invalid_argument("the pipeline is empty");
  return out;
}

std::string pipelineStr(const Pipeline &p) {
  std::vector<std::string> steps;
  for (const PipelineStep &s : p) {
    std::vector<std::string_view> names;
    for (const PassInfo *pass : s.passes) names.push_back(pass->name);
    steps.push_back(s.fixedPoint ? fmt::format("({})*", fmt::join(names, ",")) : fmt::format("{}", fmt::join(names, ",")));
  }
  return fmt::format("{}", fmt::join(steps, ","));
}

std::string timeReport(const PipelineReport &r) {
  std::string s = "// === Pass execution timing report ===\n";
  s += fmt::format("// {:<12} {:>5} {:>8} {:>10}  {:>8}\n", "pass", "runs", "changed", "time (ms)", "ops +/-");
  double total = 0;
  for (const PassStats &p : r.passes) {
    s += fmt::format("// {:<12} {:>5} {:>8} {:>10.3f}  {:>+8}\n", p.name, p.runs, p.changed, p.seconds * 1e3, p.opsDelta);
    total += p.seconds;
  }
  s += fmt::format("// {:<12} {:>5} {:>8} {:>10.3f}  {} ops -> {}\n", "total", "", "", total * 1e3, r.opsBefore, r.opsAfter);
  return s;
}

}  // namespace gantry::passes

namespace gantry::passes {

PipelineReport runPipeline(ir::Module &m, const Pipeline &pipeline, const Instrumentation &inst) {
  return Runner(m, inst).run(pipeline);
}

}  // namespace gantry::passes
