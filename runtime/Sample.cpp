#include "runtime/Sample.h"

#include <fmt/format.h>

#include <filesystem>
#include <map>

#include "backend/Jit.h"
#include "passes/GanSpec.h"
#include "runtime/Data.h"
#include "support/Files.h"
#include "support/Npz.h"

namespace gantry::runtime {
namespace {

constexpr uint64_t kSampleDomain = uint64_t{3} << 62;  // the streams' "step" for `gantry sample`: never used by a run

bool endsWith(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string csvText(const std::vector<float> &samples, int64_t width) {
  std::string text;
  for (size_t i = 0; i < samples.size(); ++i) {
    text += fmt::format("{}", samples[i]);
    text += (static_cast<int64_t>(i + 1) % width == 0) ? '\n' : ',';
  }
  return text;
}

}  // namespace

void sample(const ir::Module &lowered, const SampleOptions &options) {
  if (!endsWith(options.output, ".npy") && !endsWith(options.output, ".csv"))
    throw FileError(fmt::format("'{}': the output must end in .npy or .csv", options.output));
  const std::string path = endsWith(options.checkpoint, ".npz") ? options.checkpoint : options.checkpoint + "/checkpoint.npz";
  std::map<std::string, NpyArray> arrays = readNpz(path);

  passes::GanSpec spec = passes::ganSpecOf(lowered);
  const ir::Function &g = *lowered.find(spec.generator);
  uint64_t seed = 0;
  if (options.seed) {
    seed = *options.seed;
  } else {
    auto hi = arrays.find("meta.seed_hi"), lo = arrays.find("meta.seed_lo");
    if (hi == arrays.end() || lo == arrays.end() || hi->second.wide.size() != 1 || lo->second.wide.size() != 1)
      throw FileError(fmt::format("'{}' has no seed (is it a Gantry checkpoint?)", path));
    seed = (static_cast<uint64_t>(hi->second.wide[0]) << 32) | static_cast<uint64_t>(lo->second.wide[0]);
  }

  std::vector<std::vector<float>> store;
  size_t noiseSlot = g.params.size();
  for (const ir::Param &p : g.params) {
    const auto &type = g.type(p.value);
    if (p.role == ir::ParamRole::Random) {
      noiseSlot = store.size();
      store.emplace_back(static_cast<size_t>(type.numElements()));
      continue;
    }
    const std::string &name = g.nameOf(p.value);
    auto it = arrays.find(name);
    if (it == arrays.end()) throw FileError(fmt::format("'{}' has no array '{}': it is from another model", path, name));
    if (it->second.shape != type.shape)
      throw FileError(fmt::format("array '{}' in '{}' has shape [{}], expected [{}]", name, path, fmt::join(it->second.shape, ", "),
                                  fmt::join(type.shape, ", ")));
    store.push_back(it->second.data);
  }
  if (noiseSlot == g.params.size()) throw FileError(fmt::format("{} takes no noise: there is nothing to sample", spec.generator));
  const auto &out = g.type(g.results[0].value);
  const int64_t width = out.shape.size() > 1 ? out.shape.back() : 1;
  store.emplace_back(static_cast<size_t>(out.numElements()));
  std::vector<float *> buffers;
  for (auto &s : store) buffers.push_back(s.data());

  std::unique_ptr<backend::CompiledFunction> generator = backend::compile(g);
  std::vector<float> samples;
  const size_t wanted = static_cast<size_t>(options.count * width);
  for (uint32_t call = 0; samples.size() < wanted; ++call) {
    fillFromDistribution(*g.params[noiseSlot].dist, {seed, kSampleDomain, call}, store[noiseSlot]);
    generator->run(buffers.data());
    samples.insert(samples.end(), store.back().begin(), store.back().end());
  }
  samples.resize(wanted);
  if (endsWith(options.output, ".npy")) {
    writeFileAtomically(options.output, serializeNpy(NpyArray{{options.count, width}, samples, {}}));
  } else {
    writeFileAtomically(options.output, csvText(samples, width));
  }
}

}  // namespace gantry::runtime
