#include "runtime/Trainer.h"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <chrono>
#include <cmath>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <algorithm>
#include <map>

#include "backend/Jit.h"
#include "ir/Cost.h"
#include "passes/GanSpec.h"
#include "passes/PassManager.h"
#include "runtime/Checkpoint.h"
#include "runtime/Data.h"
#include "runtime/FiniteScan.h"
#include "runtime/Grad.h"
#include "runtime/Init.h"
#include "runtime/Metrics.h"
#include "runtime/Plot.h"
#include "runtime/Sample.h"
#include "support/Files.h"
#include "support/Npz.h"

namespace gantry::runtime {
namespace {

std::atomic<bool> interrupted{false};
extern "C" void onInterrupt(int) { interrupted = true; }

constexpr int64_t kEvalSamples = 2500;
constexpr int64_t kEvalSamplesHighDim = 500;  // rows of each set for the energy distance above 16 dimensions
constexpr uint32_t kHeldOutStream = 0xffffffffu;  // the held-out data's stream within an evaluation's domain
constexpr uint64_t kEvalDomain = uint64_t{1} << 62;  // the streams' "step" for evaluation draws: never a training step

std::string jsonNumber(double v) { return std::isfinite(v) ? fmt::format("{}", v) : "null"; }

using Clock = std::chrono::steady_clock;

class Trainer {
 public:
  Trainer(const ir::Module &lowered, std::string name, RunOptions options) : name_(std::move(name)), opt_(std::move(options)) {
    m_ = lowered;
    spec_ = passes::ganSpecOf(m_);
    steps_ = opt_.steps.value_or(std::get<int64_t>(*m_.attrs.find("train.steps")));
    seed_ = opt_.seed.value_or(static_cast<uint64_t>(std::get<int64_t>(*m_.attrs.find("train.seed"))));
    evalEvery_ = std::get<int64_t>(*m_.attrs.find("train.eval_every"));
    data_ = makeDataset(m_);
  }

  int run() {
    prepare();
    std::signal(SIGINT, onInterrupt);
    auto start = Clock::now();
    auto lastPrint = start;
    double lossD = NAN, lossG = NAN;
    for (; step_ < steps_; ++step_) {
      if (interrupted) {
        saveCheckpoint();
        finishProgress();
        fmt::print(stderr, "interrupted at step {}: checkpoint saved in {}\n", step_, dir_);
        return 130;
      }
      sampleBatch();
      step_fn_->run(buffers_.data());
      lossD = results_[0][0];
      lossG = results_[1][0];
      if (std::string bad = firstNonFinite(); !bad.empty()) {
        finishProgress();
        fmt::print(stderr, "step {}: {}; stopped, the last good checkpoint (step {}) is in {}\n", step_ + 1, bad, lastCheckpoint_, dir_);
        return 1;
      }
      writeBack();
      const int64_t done = step_ + 1;
      if (done % evalEvery_ == 0 || done == steps_) {
        evaluate(done, lossD, lossG, std::chrono::duration<double>(Clock::now() - start).count());
      } else if (progress_ && Clock::now() - lastPrint > std::chrono::milliseconds(200)) {
        lastPrint = Clock::now();
        double elapsed = std::chrono::duration<double>(lastPrint - start).count();
        double rate = static_cast<double>(done - firstStep_) / std::max(elapsed, 1e-9);
        printProgress(done, lossD, lossG, rate);
      }
    }
    finishProgress();
    writeSummary(std::chrono::duration<double>(Clock::now() - start).count());
    return 0;
  }

 private:
  void prepare() {
    dir_ = !opt_.outDir.empty() ? opt_.outDir : !opt_.resumeDir.empty() ? opt_.resumeDir : defaultRunDir(name_);
    progress_ = (!opt_.quiet || opt_.progressBar) && !opt_.json && ::isatty(STDOUT_FILENO);
    auto compileStart = Clock::now();
    if (opt_.terms && spec_.unrollSteps > 0) {
      ir::Module grads = prepareGrad(m_, true);
      gTotal_ = backend::compile(*grads.find(spec_.lossOf(spec_.generator)));
      gDirect_ = backend::compile(*grads.find(spec_.lossOf(spec_.generator) + ".direct"));
    } else if (opt_.terms) {
      say(fmt::format("note: {} is not unrolled: G's gradient has only its direct term, --terms shows nothing", name_));
    }
    passes::runPipeline(m_, passes::parsePipeline(passes::kTrainingPipeline));
    const ir::Function &step = *m_.find("step");
    // G's sampler (and the 1-D critic picture) compile on a second thread while this one compiles the step.
    auto sampler = std::async(std::launch::async, [this] { return backend::compile(*m_.find(spec_.generator)); });
    auto critic = std::async(std::launch::async, [this] {
      return data_->dim() == 1 ? backend::compile(*m_.find(spec_.discriminator)) : nullptr;
    });
    step_fn_ = backend::compile(step);
    sampler_ = sampler.get();
    critic_ = critic.get();
    compileSeconds_ = std::chrono::duration<double>(Clock::now() - compileStart).count();
    makeDirectories(dir_);  // only now: a program that cannot compile (or fit in memory) leaves no folder behind
    say(fmt::format("{}: compiled in {:.2f} s{} ({} ops in the step), {} steps, seed {}, output in {}", name_, compileSeconds_,
                    step_fn_->fromCache() ? " (cached)" : "", step.ops.size(), steps_, seed_, dir_));

    // One buffer per parameter, then one per result.
    for (const ir::Param &p : step.params) storage_.emplace_back(static_cast<size_t>(step.type(p.value).numElements()), 0.0f);
    for (const ir::Result &r : step.results) results_.emplace_back(static_cast<size_t>(step.type(r.value).numElements()), 0.0f);
    for (auto &s : storage_) buffers_.push_back(s.data());
    for (auto &r : results_) buffers_.push_back(r.data());
    for (size_t i = 0; i < step.params.size(); ++i) index_[step.nameOf(step.params[i].value)] = i;
    for (size_t i = 0; i < step.params.size(); ++i)
      if (step.params[i].role == ir::ParamRole::Param)
        initialiseParameter(m_, step.nameOf(step.params[i].value), step.type(step.params[i].value), seed_, static_cast<uint32_t>(i), storage_[i]);
    if (!opt_.resumeDir.empty()) {
      loadCheckpoint();
    } else {
      saveCheckpoint();  // the initial state: there is always a good checkpoint to fall back to
    }
    firstStep_ = step_;
  }

  // Flushed line by line so that `tail -f` on redirected output and scripts reading --json see each
  // evaluation when it happens, not when the run ends.
  void say(const std::string &line) {
    if (opt_.quiet || opt_.json) return;
    fmt::print("{}\n", line);
    std::fflush(stdout);
  }

  void sampleBatch() {
    const ir::Function &step = *m_.find("step");
    for (size_t i = 0; i < step.params.size(); ++i) {
      const ir::Param &p = step.params[i];
      RandomKey key{seed_, static_cast<uint64_t>(step_), static_cast<uint32_t>(i)};
      const std::string &name = step.nameOf(p.value);
      if (p.role == ir::ParamRole::Input && (name == spec_.dataVar || name.ends_with("." + spec_.dataVar))) {
        data_->sample(key, storage_[i]);
      } else if (p.role == ir::ParamRole::Random) {
        fillFromDistribution(*p.dist, key, storage_[i]);
      }
    }
  }

  std::string firstNonFinite() const {
    const ir::Function &step = *m_.find("step");
    for (size_t j = 0; j < results_.size(); ++j)
      if (size_t at = firstNonFiniteIndex(results_[j].data(), results_[j].size()); at < results_[j].size())
        return fmt::format("{} is {}", step.results[j].name, results_[j][at]);
    return {};
  }

  // Results after the two losses are the updated parameters and state, named after their parameters.
  void writeBack() {
    const ir::Function &step = *m_.find("step");
    for (size_t j = 2; j < step.results.size(); ++j) storage_[index_.at(step.results[j].name)].swap(results_[j]);
    // swap moved the result buffers: point the step's buffers at the new ones.
    for (size_t i = 0; i < storage_.size(); ++i) buffers_[i] = storage_[i].data();
    for (size_t j = 0; j < results_.size(); ++j) buffers_[storage_.size() + j] = results_[j].data();
  }

  // Runs a function of the step's parameters and batch (by name) and returns its results by name.
  std::map<std::string, std::vector<float>> runOnStepInputs(backend::CompiledFunction &fn) {
    const ir::Function &f = fn.function();
    CallBuffers call = bindByName(f, [&](const std::string &name) -> const std::vector<float> & {
      auto it = index_.find(name);
      if (it == index_.end()) throw std::logic_error(fmt::format("--terms: the step has no input '{}'", name));
      return storage_[it->second];
    });
    fn.run(call.pointers.data());
    std::map<std::string, std::vector<float>> out;
    for (size_t j = 0; j < f.results.size(); ++j) out[f.results[j].name] = std::move(call.result(j));
    return out;
  }

  // G's gradient = direct term (at the unrolled D, held constant) + the term through D's K updates.
  void measureTerms() {
    auto total = runOnStepInputs(*gTotal_), direct = runOnStepInputs(*gDirect_);
    double dd = 0, uu = 0, du = 0;
    for (const auto &[name, d] : direct) {
      if (!name.starts_with("grad.")) continue;
      const std::vector<float> &t = total.at(name);
      for (size_t i = 0; i < d.size(); ++i) {
        const double unrolled = static_cast<double>(t[i]) - d[i];
        dd += static_cast<double>(d[i]) * d[i];
        uu += unrolled * unrolled;
        du += static_cast<double>(d[i]) * unrolled;
      }
    }
    terms_ = {std::sqrt(dd), std::sqrt(uu), dd > 0 && uu > 0 ? du / std::sqrt(dd * uu) : NAN};
  }

  std::vector<float> drawSamples(uint64_t evalIndex) {
    return drawFromGenerator(
        *sampler_, [&](const std::string &name) -> const std::vector<float> & { return storage_[index_.at(name)]; }, seed_,
        kEvalDomain + evalIndex, kEvalSamples);
  }

  void evaluate(int64_t done, double lossD, double lossG, double seconds) {
    std::vector<float> samples = drawSamples(static_cast<uint64_t>(done));
    double rate = static_cast<double>(done - firstStep_) / std::max(seconds, 1e-9);
    std::string line = fmt::format("{{\"step\": {}, \"loss_D\": {}, \"loss_G\": {}, \"steps_per_second\": {:.1f}", done,
                                   jsonNumber(lossD), jsonNumber(lossG), rate);
    std::string text = fmt::format("step {:>7}  loss D {:8.4f}  G {:8.4f}  {:7.1f} steps/s", done, lossD, lossG, rate);
    if (!data_->modes().empty()) {
      last_ = modeMetrics(samples, data_->dim(), data_->modes(), data_->modeStd());
      line += fmt::format(", \"modes_captured\": {}, \"modes\": {}, \"high_quality\": {}, \"reverse_kl\": {}", last_.modesCaptured,
                          last_.modes, jsonNumber(last_.highQualityFraction), jsonNumber(last_.reverseKl));
      text += fmt::format("  modes {:>2}/{}  high quality {:5.1f}%  reverse KL {}", last_.modesCaptured, last_.modes,
                          100 * last_.highQualityFraction, reverseKlText(last_.reverseKl));
    } else {
      // No modes: the energy distance to rows training never saw (fewer of them in many dimensions: it is quadratic).
      const int64_t rows = data_->dim() <= 16 ? kEvalSamples : kEvalSamplesHighDim;
      std::vector<float> reference(static_cast<size_t>(rows * data_->dim()));
      data_->sampleHeldOut({seed_, kEvalDomain + static_cast<uint64_t>(done), kHeldOutStream}, reference);
      energy_ = energyDistance(std::span<const float>(samples).first(reference.size()), reference, data_->dim());
      line += fmt::format(", \"energy_distance\": {}", jsonNumber(energy_));
      text += fmt::format("  energy distance {:.4f}", energy_);
    }
    if (gTotal_) {
      measureTerms();
      line += fmt::format(", \"grad_G_direct\": {}, \"grad_G_unrolled\": {}, \"grad_G_cosine\": {}", jsonNumber(terms_.direct),
                          jsonNumber(terms_.unrolled), jsonNumber(terms_.cosine));
      text += fmt::format("  |∇G| direct {:.3g} unrolled {:.3g} cos {:+.2f}", terms_.direct, terms_.unrolled, terms_.cosine);
    }
    line += "}";
    metrics_ += line + "\n";
    history_.push_back({done, lossD, lossG, last_, energy_, samples, criticOnGrid()});
    drawPictures();
    writeFileAtomically(dir_ + "/metrics.jsonl", metrics_);
    NpyArray s{{kEvalSamples, data_->dim()}, samples, {}};
    writeFileAtomically(dir_ + "/samples.npy", serializeNpy(s));
    step_ = done;  // the checkpoint holds the state after `done` steps
    saveCheckpoint();
    step_ = done - 1;
    finishProgress();
    if (opt_.json) {
      fmt::print("{}\n", line);
      std::fflush(stdout);
    }
    say(text);
  }

  // The x range of the 1-D picture: every mode with room for its tails.
  std::pair<double, double> range1d() const {
    double lo = -1, hi = 1;
    for (const auto &mode : data_->modes()) {
      lo = std::min(lo, mode[0] - 5 * data_->modeStd() - 0.5);
      hi = std::max(hi, mode[0] + 5 * data_->modeStd() + 0.5);
    }
    return {lo, hi};
  }

  // D(x) on an even grid of the 1-D range, as many points as one batch.
  std::vector<double> criticOnGrid() {
    if (!critic_) return {};
    const ir::Function &d = critic_->function();
    auto [lo, hi] = range1d();
    CallBuffers call = bindByName(
        d, [&](const std::string &name) -> const std::vector<float> & { return storage_[index_.at(name)]; }, ir::ParamRole::Input);
    std::vector<float> &grid = call.store[call.freeSlot];
    const size_t n = grid.size();
    for (size_t i = 0; i < n; ++i) grid[i] = static_cast<float>(lo + (hi - lo) * static_cast<double>(i) / static_cast<double>(n - 1 ? n - 1 : 1));
    critic_->run(call.pointers.data());
    return std::vector<double>(call.result(0).begin(), call.result(0).end());
  }

  // samples.png (a strip of at most 12 evaluations, evenly chosen, the last included) and curves.png.
  void drawPictures() {
    std::vector<size_t> chosen;
    const size_t n = history_.size(), shown = std::min<size_t>(n, 12);
    for (size_t k = 0; k < shown; ++k) chosen.push_back(shown == 1 ? n - 1 : k * (n - 1) / (shown - 1));
    if (data_->dim() == 2) {
      double extent = 1;
      for (const auto &mode : data_->modes()) extent = std::max({extent, std::abs(mode[0]) + 1, std::abs(mode[1]) + 1});
      if (data_->modes().empty())
        for (float v : history_.back().samples) extent = std::max(extent, std::min(10.0, std::abs(static_cast<double>(v)) * 1.1));
      std::vector<Panel2d> panels;
      for (size_t k : chosen) panels.push_back({history_[k].step, history_[k].samples});
      samplesFigure2d(panels, data_->modes(), extent).writePng(dir_ + "/samples.png");
    } else if (data_->dim() == 1) {
      auto [lo, hi] = range1d();
      std::vector<Panel1d> panels;
      for (size_t k : chosen) {
        Panel1d p{history_[k].step, history_[k].samples, {}, {}, history_[k].critic};
        for (size_t i = 0; i < p.critic.size(); ++i) {
          double x = lo + (hi - lo) * static_cast<double>(i) / static_cast<double>(p.critic.size() - 1);
          double density = 0;
          for (const auto &mode : data_->modes())
            density += std::exp(-0.5 * std::pow((x - mode[0]) / data_->modeStd(), 2)) / (data_->modeStd() * std::sqrt(2 * M_PI));
          p.grid.push_back(x);
          p.density.push_back(density / static_cast<double>(std::max<size_t>(1, data_->modes().size())));
        }
        panels.push_back(p);
      }
      samplesFigure1d(panels, lo, hi).writePng(dir_ + "/samples.png");
    }
    std::vector<double> steps, lossD, lossG, modes, quality, kl, energy;
    for (const Evaluation &e : history_) {
      steps.push_back(static_cast<double>(e.step));
      lossD.push_back(e.lossD);
      lossG.push_back(e.lossG);
      modes.push_back(static_cast<double>(e.metrics.modesCaptured));
      quality.push_back(100 * e.metrics.highQualityFraction);
      kl.push_back(e.metrics.reverseKl);
      energy.push_back(e.energy);
    }
    std::vector<std::vector<Series>> charts = {{{"LOSS D", steps, lossD, {31, 119, 180}}, {"LOSS G", steps, lossG, {255, 127, 14}}}};
    if (!data_->modes().empty()) {
      charts.push_back({{fmt::format("MODES CAPTURED OF {}", data_->modes().size()), steps, modes, {44, 160, 44}}});
      charts.push_back({{"HIGH QUALITY %", steps, quality, {148, 103, 189}}});
      charts.push_back({{"REVERSE KL", steps, kl, {214, 39, 40}}});
    } else {
      charts.push_back({{"ENERGY DISTANCE TO HELD-OUT DATA", steps, energy, {214, 39, 40}}});
    }
    curvesFigure(charts).writePng(dir_ + "/curves.png");
  }

  void printProgress(int64_t done, double lossD, double lossG, double rate) {
    const int width = 24;
    int filled = static_cast<int>(width * done / std::max<int64_t>(steps_, 1));
    double eta = static_cast<double>(steps_ - done) / std::max(rate, 1e-9);
    fmt::print("\r[{}{}] {}/{}  loss D {:.4f} G {:.4f}  {:.0f} steps/s  ETA {:.0f}s ", std::string(filled, '#'),
               std::string(width - filled, '.'), done, steps_, lossD, lossG, rate, eta);
    std::fflush(stdout);
    progressShown_ = true;
  }

  void finishProgress() {
    if (progressShown_) fmt::print("\r\033[K");
    progressShown_ = false;
  }

  // Parameters and optimizer state by IR name, the step, and the seed (as float64: exact).
  void saveCheckpoint() {
    const ir::Function &step = *m_.find("step");
    std::map<std::string, NpyArray> arrays;
    for (size_t i = 0; i < step.params.size(); ++i) {
      const ir::Param &p = step.params[i];
      if (p.role != ir::ParamRole::Param && p.role != ir::ParamRole::State) continue;
      arrays[step.nameOf(p.value)] = {step.type(p.value).shape, storage_[i], {}};
    }
    writeCheckpoint(dir_ + "/checkpoint.npz", arrays, step_, seed_);
    lastCheckpoint_ = step_;
  }

  void loadCheckpoint() {
    const std::string path = opt_.resumeDir + "/checkpoint.npz";
    const ir::Function &step = *m_.find("step");
    std::vector<CheckpointArray> wanted;
    for (const ir::Param &p : step.params)
      if (p.role == ir::ParamRole::Param || p.role == ir::ParamRole::State) wanted.push_back({step.nameOf(p.value), step.type(p.value).shape});
    Checkpoint c = readCheckpoint(path, wanted);
    if (opt_.seed && *opt_.seed != c.seed) throw FileError(fmt::format("'{}' was trained with seed {}, not {}", path, c.seed, *opt_.seed));
    if (c.step > steps_) throw FileError(fmt::format("'{}' is at step {}, past the run's {} steps", path, c.step, steps_));
    step_ = c.step;
    seed_ = c.seed;
    for (size_t i = 0; i < step.params.size(); ++i) {
      auto it = c.arrays.find(step.nameOf(step.params[i].value));
      if (it == c.arrays.end()) continue;
      storage_[i] = std::move(it->second);
      buffers_[i] = storage_[i].data();
    }
    say(fmt::format("resuming at step {} from {}", step_, path));
  }

  void writeSummary(double seconds) {
    std::string s = fmt::format("{{\n  \"program\": \"{}\",\n  \"steps\": {},\n  \"seed\": {},\n  \"compile_seconds\": {:.3f},\n  \"compile_cached\": {},\n  \"train_seconds\": {:.3f}",
                                name_, steps_, seed_, compileSeconds_, step_fn_->fromCache(), seconds);
    const ir::Function &step = *m_.find("step");
    s += fmt::format(",\n  \"step_ops\": {},\n  \"flops_per_step\": {:.0f}", step.ops.size(), ir::flopCount(step));
    if (!data_->modes().empty())
      s += fmt::format(",\n  \"modes_captured\": {},\n  \"modes\": {},\n  \"high_quality\": {},\n  \"reverse_kl\": {}", last_.modesCaptured, last_.modes,
                       jsonNumber(last_.highQualityFraction), jsonNumber(last_.reverseKl));
    else
      s += fmt::format(",\n  \"energy_distance\": {}", jsonNumber(energy_));
    writeFileAtomically(dir_ + "/summary.json", s + "\n}\n");
    if (opt_.summary) {
      *opt_.summary = {!data_->modes().empty(), last_.modesCaptured, last_.modes, last_.highQualityFraction, last_.reverseKl, energy_,
                       static_cast<double>(steps_ - firstStep_) / std::max(seconds, 1e-9), compileSeconds_};
    }
    say(fmt::format("done: {} in {:.1f} s", dir_, seconds));
    sayFinalTable(seconds);
  }

  // The run's result in the shape of a sweep row, so that one run and a sweep read alike.
  void sayFinalTable(double seconds) {
    const double rate = static_cast<double>(steps_ - firstStep_) / std::max(seconds, 1e-9);
    if (!data_->modes().empty()) {
      say("| modes captured | high quality % | reverse KL | steps/s | compile s |\n| --- | --- | --- | --- | --- |");
      say(fmt::format("| {} of {} | {:.1f} | {} | {:.0f} | {:.2f} |", last_.modesCaptured, last_.modes, 100 * last_.highQualityFraction,
                      reverseKlText(last_.reverseKl), rate, compileSeconds_));
    } else {
      say("| energy distance | steps/s | compile s |\n| --- | --- | --- |");
      say(fmt::format("| {:.4f} | {:.0f} | {:.2f} |", energy_, rate, compileSeconds_));
    }
    say(fmt::format("pictures: {0}/samples.png, {0}/curves.png", dir_));
  }

  ir::Module m_;
  passes::GanSpec spec_;
  std::string name_;
  RunOptions opt_;
  std::string dir_, metrics_;
  int64_t steps_ = 0, evalEvery_ = 1, step_ = 0, firstStep_ = 0, lastCheckpoint_ = 0;
  uint64_t seed_ = 0;
  double compileSeconds_ = 0;
  bool progress_ = false, progressShown_ = false;
  std::unique_ptr<Dataset> data_;
  std::unique_ptr<backend::CompiledFunction> step_fn_, sampler_, critic_;
  std::unique_ptr<backend::CompiledFunction> gTotal_, gDirect_;  // --terms: G's unrolled loss, and at first order
  struct {
    double direct = NAN, unrolled = NAN, cosine = NAN;  // norms over all of G's parameters
  } terms_;
  struct Evaluation {
    int64_t step;
    double lossD, lossG;
    ModeMetrics metrics;
    double energy;  // the energy distance to held-out data (datasets without modes)
    std::vector<float> samples;
    std::vector<double> critic;  // D on the picture's grid (1-D data)
  };
  std::vector<Evaluation> history_;
  std::vector<std::vector<float>> storage_, results_;
  std::vector<float *> buffers_;
  std::map<std::string, size_t> index_;
  ModeMetrics last_;
  double energy_ = NAN;
};

}  // namespace

std::string defaultRunDir(const std::string &name) {
  std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return fmt::format("runs/{}-{}", name, stamp);
}

int train(const ir::Module &lowered, const std::string &name, const RunOptions &options) {
  interrupted = false;
  return Trainer(lowered, name, options).run();
}

}  // namespace gantry::runtime
