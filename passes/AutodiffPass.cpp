#include "passes/AutodiffPass.h"

#include <set>

#include "passes/Autodiff.h"

namespace gantry::passes {
namespace {

const ir::Result *findResult(const ir::Function &f, const std::string &name) {
  for (const ir::Result &r : f.results)
    if (r.name == name) return &r;
  return nullptr;
}

bool hasGradients(const ir::Function &f) {
  for (const ir::Result &r : f.results)
    if (r.name.rfind("grad.", 0) == 0) return true;
  return false;
}

// The names of the trainable parameters the loss of `f` is taken with respect to.
std::set<std::string> lossTargets(const ir::Module &m, const ir::Function &f) {
  const ir::Function *net = nullptr;
  const std::string suffix = ".loss";
  if (f.name.size() > suffix.size() && f.name.compare(f.name.size() - suffix.size(), suffix.size(), suffix) == 0)
    net = m.find(f.name.substr(0, f.name.size() - suffix.size()));
  std::set<std::string> names;
  for (const ir::Param &p : (net ? net : &f)->params)
    if (p.role == ir::ParamRole::Param) names.insert((net ? net : &f)->nameOf(p.value));
  return names;
}

}  // namespace

bool addLossGradients(ir::Module &m) {
  bool changed = false;
  for (ir::Function &f : m.functions) {
    const ir::Result *loss = findResult(f, "loss");
    if (!loss || hasGradients(f) || f.type(loss->value) != ir::TensorType::f32({})) continue;
    std::set<std::string> targets = lossTargets(m, f);
    std::vector<ir::Value> wrt;
    std::vector<std::string> names;
    for (const ir::Param &p : f.params) {
      if (p.role == ir::ParamRole::Param && f.type(p.value).dtype == ir::DType::F32 && targets.count(f.nameOf(p.value))) {
        wrt.push_back(p.value);
        names.push_back(f.nameOf(p.value));
      }
    }
    if (wrt.empty()) continue;
    ir::Value lossValue = loss->value;
    ir::Builder b(f);
    std::vector<ir::Value> grads = differentiate(b, lossValue, wrt);
    for (size_t i = 0; i < grads.size(); ++i) b.result("grad." + names[i], grads[i]);
    changed = true;
  }
  return changed;
}

}  // namespace gantry::passes
