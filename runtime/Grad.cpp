#include "runtime/Grad.h"

#include <fmt/format.h>

#include "backend/Jit.h"
#include "ir/Interpreter.h"
#include "passes/Autodiff.h"
#include "passes/AutodiffPass.h"
#include "ir/Builder.h"
#include "passes/GanSpec.h"
#include "passes/PassManager.h"

namespace gantry::runtime {
namespace {

// IR name -> file key, and whether the array is transposed at the boundary: NET.LAYER.w -> NET.LAYER.weight.
struct External {
  std::string key;
  bool transposed = false;
};

External externalName(const std::string &irName) {
  // A weight or bias, or the state of one: NET.LAYER.(w|b)[.STATE]
  for (const auto &[from, to, transposed] : std::vector<std::tuple<std::string, std::string, bool>>{{".w", ".weight", true}, {".b", ".bias", false}}) {
    if (irName.ends_with(from)) return {irName.substr(0, irName.size() - from.size()) + to, transposed};
    for (const char *state : {".m", ".v", ".momentum", ".sq"}) {
      std::string suffix = from + state;
      if (irName.ends_with(suffix)) return {irName.substr(0, irName.size() - suffix.size()) + to + state, transposed};
    }
  }
  return {irName, false};
}

std::vector<int64_t> externalShape(const ir::TensorType &t, bool transposed) {
  std::vector<int64_t> s = t.shape;
  if (transposed && s.size() == 2) std::swap(s[0], s[1]);
  return s;
}

std::string shapeText(const std::vector<int64_t> &s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

// Row-major [a, b] <-> [b, a].
std::vector<double> transpose(const std::vector<double> &v, int64_t rows, int64_t cols) {
  std::vector<double> out(v.size());
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) out[static_cast<size_t>(j * rows + i)] = v[static_cast<size_t>(i * cols + j)];
  return out;
}

RequiredInput::Kind kindOf(ir::ParamRole role) {
  switch (role) {
    case ir::ParamRole::Param: return RequiredInput::Kind::Param;
    case ir::ParamRole::State: return RequiredInput::Kind::State;
    default: return RequiredInput::Kind::Batch;
  }
}

}  // namespace

ir::Module prepareGrad(ir::Module m, bool terms) {
  passes::Instrumentation verify;
  verify.verifyEach = true;
  passes::GanSpec spec = passes::ganSpecOf(m);
  if (terms && spec.unrollSteps > 0) {
    // The same objective at first order: its G gradient is the direct term.
    ir::Module first = m;
    first.attrs.set("unroll.order", ir::Symbol{"first"});
    passes::runPipeline(first, passes::parsePipeline("penalty,unroll,cse"), verify);
    ir::Function direct = *first.find(spec.lossOf(spec.generator));
    direct.name = spec.lossOf(spec.generator) + ".direct";
    std::vector<ir::Value> wrt;
    std::vector<std::string> names;
    for (const ir::Param &p : direct.params)
      if (p.role == ir::ParamRole::Param && direct.nameOf(p.value).rfind(spec.generator + ".", 0) == 0) {
        wrt.push_back(p.value);
        names.push_back(direct.nameOf(p.value));
      }
    ir::Value loss = direct.results[0].value;
    ir::Builder b(direct);
    std::vector<ir::Value> grads = passes::differentiate(b, loss, wrt);
    for (size_t i = 0; i < grads.size(); ++i) b.result("grad." + names[i], grads[i]);
    m.functions.push_back(std::move(direct));
  }
  passes::runPipeline(m, passes::parsePipeline(passes::kGradPipeline), verify);
  return m;
}

std::vector<RequiredInput> requiredInputs(const ir::Module &m) {
  passes::GanSpec spec = passes::ganSpecOf(m);
  std::vector<RequiredInput> out;
  for (const std::string &fn : {spec.lossOf(spec.discriminator), spec.lossOf(spec.generator)}) {
    const ir::Function &f = *m.find(fn);
    for (const ir::Param &p : f.params) {
      External e = p.role == ir::ParamRole::Param || p.role == ir::ParamRole::State ? externalName(f.nameOf(p.value))
                                                                                  : External{f.nameOf(p.value), false};
      bool seen = false;
      for (const RequiredInput &r : out) seen = seen || r.key == e.key;
      if (!seen) out.push_back({kindOf(p.role), e.key, externalShape(f.type(p.value), e.transposed)});
    }
  }
  return out;
}

std::map<std::string, NpyArray> computeGrad(const ir::Module &m, const GradInputs &in, bool interpret) {
  passes::GanSpec spec = passes::ganSpecOf(m);
  std::map<std::string, NpyArray> out;
  std::vector<std::pair<std::string, std::string>> functions = {{"D", spec.lossOf(spec.discriminator)}, {"G", spec.lossOf(spec.generator)}};
  const bool terms = m.find(spec.lossOf(spec.generator) + ".direct") != nullptr;
  if (terms) functions.push_back({"G.direct", spec.lossOf(spec.generator) + ".direct"});
  for (const auto &[net, fn] : functions) {
    const ir::Function &f = *m.find(fn);
    std::vector<ir::Tensor> args;
    for (const ir::Param &p : f.params) {
      const ir::TensorType &type = f.type(p.value);
      const bool weightLike = p.role == ir::ParamRole::Param || p.role == ir::ParamRole::State;
      External e = weightLike ? externalName(f.nameOf(p.value)) : External{f.nameOf(p.value), false};
      const std::vector<int64_t> want = externalShape(type, e.transposed);
      const std::map<std::string, NpyArray> &file = p.role == ir::ParamRole::Param ? in.params : p.role == ir::ParamRole::State ? in.state : in.batch;
      const std::string &fileName = p.role == ir::ParamRole::Param ? in.paramsFile : p.role == ir::ParamRole::State ? in.stateFile : in.batchFile;
      ir::Tensor t = ir::Tensor::zeros(type);
      if (p.role == ir::ParamRole::State && !in.haveState) {
        args.push_back(t);  // a fresh optimizer
        continue;
      }
      auto it = file.find(e.key);
      if (it == file.end()) throw FileError(fmt::format("{} has no array '{}' (expected shape {})", fileName, e.key, shapeText(want)));
      if (it->second.shape != want)
        throw FileError(fmt::format("array '{}' in {} has shape {}, expected {}", e.key, fileName, shapeText(it->second.shape), shapeText(want)));
      std::vector<double> values(it->second.data.begin(), it->second.data.end());
      t.data = e.transposed ? transpose(values, want[0], want[1]) : values;
      args.push_back(std::move(t));
    }
    std::vector<ir::Tensor> results = interpret ? ir::evaluate(f, args) : backend::compile(f)->run(args);
    for (size_t j = 0; j < f.results.size(); ++j) {
      const std::string &name = f.results[j].name;
      const ir::Tensor &r = results[j];
      if (name == "loss") {
        if (net != "G.direct") out["loss." + net] = {{}, {static_cast<float>(r.data[0])}, {}};
        continue;
      }
      External e = externalName(name.substr(5));  // grad.NAME
      std::vector<int64_t> shape = externalShape(r.type, e.transposed);
      std::vector<double> values = e.transposed ? transpose(r.data, r.type.shape[0], r.type.shape[1]) : r.data;
      out[(net == "G.direct" ? "grad_direct." : "grad.") + e.key] = {shape, std::vector<float>(values.begin(), values.end()), {}};
    }
  }
  if (terms) {
    std::vector<std::string> directKeys;
    for (const auto &[key, a] : out)
      if (key.rfind("grad_direct.", 0) == 0) directKeys.push_back(key);
    for (const std::string &key : directKeys) {
      std::string param = key.substr(12);
      NpyArray unrolled = out.at("grad." + param);
      for (size_t i = 0; i < unrolled.data.size(); ++i) unrolled.data[i] -= out.at(key).data[i];
      out["grad_unrolled." + param] = unrolled;
    }
  }
  return out;
}

}  // namespace gantry::runtime
