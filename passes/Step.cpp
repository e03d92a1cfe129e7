#include "passes/Step.h"

#include <fmt/format.h>

#include <map>

#include "passes/Autodiff.h"
#include "passes/GanSpec.h"
#include "passes/Inline.h"
#include "passes/Optimizer.h"
#include "passes/Rewriter.h"

namespace gantry::passes {
namespace {

std::vector<std::pair<std::string, ir::TensorType>> trainable(const ir::Function &net) {
  std::vector<std::pair<std::string, ir::TensorType>> out;
  for (const ir::Param &p : net.params)
    if (p.role == ir::ParamRole::Param) out.push_back({net.nameOf(p.value), net.type(p.value)});
  return out;
}

class StepBuilder {
 public:
  StepBuilder(ir::Module &m, const GanSpec &spec) : m_(m), spec_(spec) {}

  ir::Function build() {
    ir::Function step;
    step.name = "step";
    ir::Builder b(step);
    const ir::Function &dLoss = *m_.find(spec_.lossOf(spec_.discriminator));
    const ir::Function &gLoss = *m_.find(spec_.lossOf(spec_.generator));
    const auto dParams = trainable(*m_.find(spec_.discriminator)), gParams = trainable(*m_.find(spec_.generator));
    const OptimizerConfig dOpt = optimizerOf(m_, spec_.discriminator), gOpt = optimizerOf(m_, spec_.generator);
    const auto dSlots = optimizerState(dOpt, spec_.discriminator, dParams);
    const auto gSlots = optimizerState(gOpt, spec_.generator, gParams);

    // Parameters. Batches and draws: per critic step when n_critic > 1, then G's (plain names).
    std::map<std::string, ir::Value> weights;  // trainable parameters and optimizer state, by name
    auto addShared = [&](const std::string &name, const ir::TensorType &type, ir::ParamRole role) {
      if (!weights.count(name)) weights[name] = b.param(name, type, role);
    };
    std::vector<std::map<std::string, ir::Value>> critic(static_cast<size_t>(spec_.nCritic));
    std::map<std::string, ir::Value> gBatch;
    auto isBatch = [](const ir::Param &p) { return p.role == ir::ParamRole::Input || p.role == ir::ParamRole::Random; };
    for (int64_t c = 0; c < spec_.nCritic; ++c)
      for (const ir::Param &p : dLoss.params)
        if (isBatch(p)) {
          std::string name = spec_.nCritic == 1 ? dLoss.nameOf(p.value) : fmt::format("critic.{}.{}", c, dLoss.nameOf(p.value));
          critic[c][dLoss.nameOf(p.value)] = b.param(name, dLoss.type(p.value), p.role, p.dist);
        }
    for (const ir::Param &p : gLoss.params) {
      if (!isBatch(p)) continue;
      const std::string &name = gLoss.nameOf(p.value);
      if (spec_.nCritic == 1 && critic[0].count(name)) {
        gBatch[name] = critic[0][name];  // one batch for both updates
      } else {
        gBatch[name] = b.param(name, gLoss.type(p.value), p.role, p.dist);
      }
    }
    for (const auto &[name, type] : gParams) addShared(name, type, ir::ParamRole::Param);
    for (const auto &[name, type] : dParams) addShared(name, type, ir::ParamRole::Param);
    for (const StateSlot &s : dSlots) addShared(s.name, s.type, ir::ParamRole::State);
    for (const StateSlot &s : gSlots) addShared(s.name, s.type, ir::ParamRole::State);

    // D's update(s).
    std::vector<ir::Value> thetaD = valuesOf(weights, dParams), stateD = valuesOf(weights, dSlots);
    ir::Value lossD;
    for (int64_t c = 0; c < spec_.nCritic; ++c) {
      std::map<std::string, ir::Value> args = critic[c];
      for (const auto &[name, v] : weights) args.emplace(name, v);
      for (size_t i = 0; i < dParams.size(); ++i) args[dParams[i].first] = thetaD[i];
      lossD = call(b, dLoss, args);
      Update u = emitUpdate(b, dOpt, thetaD, differentiate(b, lossD, thetaD), stateD);
      thetaD = u.params;
      stateD = u.state;
    }
    // G's update, against D after its update(s). D's update is a fact for G, not something to differentiate
    // through (that is what `unroll` asks for, inside G's loss): stop_gradient cuts θD's dependence on θG.
    std::map<std::string, ir::Value> args = gBatch;
    for (const auto &[name, v] : weights) args.emplace(name, v);
    for (size_t i = 0; i < dParams.size(); ++i) args[dParams[i].first] = b.unary(ir::OpKind::StopGradient, thetaD[i]);
    for (size_t i = 0; i < dSlots.size(); ++i) args[dSlots[i].name] = b.unary(ir::OpKind::StopGradient, stateD[i]);
    std::vector<ir::Value> thetaG = valuesOf(weights, gParams), stateG = valuesOf(weights, gSlots);
    ir::Value lossG = call(b, gLoss, args);
    Update g = emitUpdate(b, gOpt, thetaG, differentiate(b, lossG, thetaG), stateG);

    b.result("loss.D", lossD);
    b.result("loss.G", lossG);
    for (size_t i = 0; i < gParams.size(); ++i) b.result(gParams[i].first, g.params[i]);
    for (size_t i = 0; i < dParams.size(); ++i) b.result(dParams[i].first, thetaD[i]);
    for (size_t i = 0; i < dSlots.size(); ++i) b.result(dSlots[i].name, stateD[i]);
    for (size_t i = 0; i < gSlots.size(); ++i) b.result(gSlots[i].name, g.state[i]);
    return step;
  }

 private:
  template <class Named>
  static std::vector<ir::Value> valuesOf(const std::map<std::string, ir::Value> &weights, const std::vector<Named> &items) {
    std::vector<ir::Value> out;
    for (const auto &item : items) {
      if constexpr (std::is_same_v<Named, StateSlot>) {
        out.push_back(weights.at(item.name));
      } else {
        out.push_back(weights.at(item.first));
      }
    }
    return out;
  }

  // Inlines `f` with its parameters taken from `args` by name.
  static ir::Value call(ir::Builder &b, const ir::Function &f, const std::map<std::string, ir::Value> &args) {
    std::vector<ir::Value> in;
    for (const ir::Param &p : f.params) {
      auto it = args.find(f.nameOf(p.value));
      if (it == args.end()) throw ir::IrError(fmt::format("step: nothing to pass for %{} of @{}", f.nameOf(p.value), f.name));
      in.push_back(it->second);
    }
    return inlineFunction(b, f, in)[0];
  }

  ir::Module &m_;
  const GanSpec &spec_;
};

}  // namespace

bool buildTrainingStep(ir::Module &m) {
  if (!isGanModule(m) || m.find("step")) return false;
  GanSpec spec = ganSpecOf(m);
  ir::Function step = StepBuilder(m, spec).build();
  // Every derivative @step needs has been taken above, and nothing differentiates @step: its stop_gradients
  // (G's view of D after the critic steps, a first-order unroll's cut) are identities now, and left in they
  // would each be a copy of a weight or an optimizer state in the compiled step.
  Rewriter rw(step);
  for (const ir::Op &op : step.ops) {
    if (op.kind == ir::OpKind::StopGradient) {
      rw.set(op.result, rw.map(op.operands[0]));
    } else {
      rw.copy(op);
    }
  }
  m.functions.push_back(rw.finish());
  return true;
}

}  // namespace gantry::passes
