#include "passes/Unroll.h"

#include <fmt/format.h>

#include <map>

#include "passes/Autodiff.h"
#include "passes/GanSpec.h"
#include "passes/Inline.h"
#include "passes/Optimizer.h"
#include "passes/Rewriter.h"

namespace gantry::passes {

bool unrollDiscriminator(ir::Module &m) {
  if (!isGanModule(m)) return false;
  GanSpec spec = ganSpecOf(m);
  if (spec.unrollSteps == 0) return false;
  ir::Function &gLoss = *m.find(spec.lossOf(spec.generator));
  for (const ir::Param &p : gLoss.params)
    if (p.role == ir::ParamRole::State) return false;  // already unrolled
  const ir::Function &dLoss = *m.find(spec.lossOf(spec.discriminator));
  const ir::Function &dNet = *m.find(spec.discriminator);
  OptimizerConfig opt = optimizerOf(m, spec.discriminator);

  // D's trainable parameters, in @D's order.
  std::vector<std::pair<std::string, ir::TensorType>> dParams;
  for (const ir::Param &p : dNet.params)
    if (p.role == ir::ParamRole::Param) dParams.push_back({dNet.nameOf(p.value), dNet.type(p.value)});
  std::vector<StateSlot> slots = optimizerState(opt, spec.discriminator, dParams);

  const ir::Function old = gLoss;
  Rewriter rw(old);
  ir::Builder &b = rw.builder();
  // The values every inlined copy of D's loss reads, by parameter name: G's loss's own parameters, then D's loss's
  // parameters G's loss lacks (penalty draws, its own objective draws), added here.
  std::map<std::string, ir::Value> shared;
  for (const ir::Param &p : old.params) shared[old.nameOf(p.value)] = rw.map(p.value);
  std::vector<std::map<std::string, ir::Value>> perStep(static_cast<size_t>(spec.unrollSteps) + 1, shared);
  for (const ir::Param &p : dLoss.params) {
    const std::string &name = dLoss.nameOf(p.value);
    bool isInput = p.role == ir::ParamRole::Input || p.role == ir::ParamRole::Random;
    for (int64_t k = 1; k <= spec.unrollSteps; ++k) {
      if (spec.fresh && isInput) {
        perStep[k][name] = b.param(fmt::format("unroll.{}.{}", k, name), dLoss.type(p.value), p.role, p.dist);
      } else if (!shared.count(name)) {
        shared[name] = b.param(name, dLoss.type(p.value), p.role, p.dist);
        for (auto &step : perStep) step.emplace(name, shared[name]);
      }
    }
  }
  std::vector<ir::Value> state;
  for (const StateSlot &s : slots) state.push_back(b.param(s.name, s.type, ir::ParamRole::State));
  for (const ir::Op &op : old.ops) rw.copy(op);

  // θD^0 is the loss's own D parameters; each step differentiates D's loss at the current θD and updates it.
  std::vector<ir::Value> theta;
  for (const auto &[name, type] : dParams) theta.push_back(shared.at(name));
  for (int64_t k = 1; k <= spec.unrollSteps; ++k) {
    std::map<std::string, ir::Value> args = perStep[k];
    for (size_t i = 0; i < dParams.size(); ++i) args[dParams[i].first] = theta[i];
    std::vector<ir::Value> callArgs;
    for (const ir::Param &p : dLoss.params) callArgs.push_back(args.at(dLoss.nameOf(p.value)));
    ir::Value loss = inlineFunction(b, dLoss, callArgs)[0];
    std::vector<ir::Value> grads = differentiate(b, loss, theta);
    Update u = emitUpdate(b, opt, theta, grads, state);
    theta = u.params;
    state = u.state;
  }
  if (!spec.secondOrder)
    for (ir::Value &t : theta) t = b.unary(ir::OpKind::StopGradient, t);
  // G's loss again, now at θD^K: a second copy of its body with D's parameters replaced. (The first copy, at θD,
  // is left for dce: it is what G's loss was.)
  std::vector<ir::Value> args;
  for (const ir::Param &p : old.params) {
    const std::string &name = old.nameOf(p.value);
    ir::Value v = rw.map(p.value);
    for (size_t i = 0; i < dParams.size(); ++i)
      if (dParams[i].first == name) v = theta[i];
    args.push_back(v);
  }
  std::vector<ir::Value> unrolled = inlineFunction(b, old, args);
  for (size_t j = 0; j < old.results.size(); ++j) rw.set(old.results[j].value, unrolled[j]);
  gLoss = rw.finish();
  return true;
}

}  // namespace gantry::passes
