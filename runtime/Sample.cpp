#include "runtime/Sample.h"

#include <fmt/format.h>

#include <filesystem>
#include <map>

#include "backend/Jit.h"
#include "passes/GanSpec.h"
#include "runtime/Checkpoint.h"
#include "runtime/Data.h"
#include "runtime/Trainer.h"
#include "support/Files.h"
#include "support/Npz.h"

namespace gantry::runtime {
namespace {

constexpr uint64_t kSampleDomain = uint64_t{3} << 62;  // the streams' "step" for `gantry sample`: never used by a run

std::string csvText(const std::vector<float> &samples, int64_t width) {
  std::string text;
  for (size_t i = 0; i < samples.size(); ++i) {
    text += fmt::format("{}", samples[i]);
    text += (static_cast<int64_t>(i + 1) % width == 0) ? '\n' : ',';
  }
  return text;
}

}  // namespace

CallBuffers bindByName(const ir::Function &f, const ParameterLookup &parameter, std::optional<ir::ParamRole> free) {
  CallBuffers c;
  for (size_t i = 0; i < f.params.size(); ++i) {
    if (free && f.params[i].role == *free) {
      c.freeSlot = i;
      c.store.emplace_back(static_cast<size_t>(f.type(f.params[i].value).numElements()));
    } else {
      c.store.push_back(parameter(f.nameOf(f.params[i].value)));
    }
  }
  for (const ir::Result &r : f.results) c.store.emplace_back(static_cast<size_t>(f.type(r.value).numElements()));
  c.results = f.results.size();
  for (auto &b : c.store) c.pointers.push_back(b.data());
  return c;
}

std::vector<float> drawFromGenerator(backend::CompiledFunction &generator, const ParameterLookup &parameter, uint64_t seed,
                                     uint64_t domain, int64_t count) {
  const ir::Function &g = generator.function();
  CallBuffers call = bindByName(g, parameter, ir::ParamRole::Random);
  const auto &out = g.type(g.results[0].value);
  const size_t width = out.shape.size() > 1 ? static_cast<size_t>(out.shape.back()) : 1;
  std::vector<float> samples;
  const size_t wanted = static_cast<size_t>(count) * width;
  for (uint32_t k = 0; samples.size() < wanted; ++k) {
    fillFromDistribution(*g.params[call.freeSlot].dist, {seed, domain, k}, call.store[call.freeSlot]);
    generator.run(call.pointers.data());
    samples.insert(samples.end(), call.result(0).begin(), call.result(0).end());
  }
  samples.resize(wanted);
  return samples;
}

void sample(const ir::Module &lowered, const SampleOptions &options) {
  if (!options.output.ends_with(".npy") && !options.output.ends_with(".csv"))
    throw FileError(fmt::format("'{}': the output must end in .npy or .csv", options.output));
  const std::string path = options.checkpoint.ends_with(".npz") ? options.checkpoint : options.checkpoint + "/checkpoint.npz";
  passes::GanSpec spec = passes::ganSpecOf(lowered);
  const ir::Function &g = *lowered.find(spec.generator);
  bool takesNoise = false;
  std::vector<CheckpointArray> wanted;
  for (const ir::Param &p : g.params) {
    if (p.role == ir::ParamRole::Random) {
      takesNoise = true;
    } else {
      wanted.push_back({g.nameOf(p.value), g.type(p.value).shape});
    }
  }
  Checkpoint checkpoint = readCheckpoint(path, wanted);
  const uint64_t seed = options.seed ? *options.seed : checkpoint.seed;
  if (!takesNoise) throw FileError(fmt::format("{} takes no noise: there is nothing to sample", spec.generator));
  const auto &out = g.type(g.results[0].value);
  const int64_t width = out.shape.size() > 1 ? out.shape.back() : 1;
  std::unique_ptr<backend::CompiledFunction> generator = backend::compile(g);
  std::vector<float> samples = drawFromGenerator(
      *generator, [&](const std::string &name) -> const std::vector<float> & { return checkpoint.arrays.at(name); }, seed, kSampleDomain,
      options.count);
  if (options.output.ends_with(".npy")) {
    writeFileAtomically(options.output, serializeNpy(NpyArray{{options.count, width}, samples, {}}));
  } else {
    writeFileAtomically(options.output, csvText(samples, width));
  }
}

}  // namespace gantry::runtime
