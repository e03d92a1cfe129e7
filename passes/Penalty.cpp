#include "passes/Penalty.h"

#include "passes/Autodiff.h"
#include "passes/GanSpec.h"
#include "passes/Inline.h"
#include "passes/Rewriter.h"

namespace gantry::passes {
namespace {

using ir::OpKind;
using ir::TensorType;
using ir::Value;

std::vector<int64_t> allAxes(const ir::Builder &b, Value v) {
  std::vector<int64_t> axes(b.type(v).shape.size());
  for (size_t i = 0; i < axes.size(); ++i) axes[i] = static_cast<int64_t>(i);
  return axes;
}

class PenaltyBuilder {
 public:
  PenaltyBuilder(const ir::Module &m, const GanSpec &spec, const ir::Function &oldLoss, Rewriter &rw)
      : m_(m), spec_(spec), old_(oldLoss), rw_(rw), b_(rw.builder()) {}

  // The value in the rebuilt loss function of the old parameter called `name`.
  Value param(const std::string &name) { return rw_.map(paramNamed(old_, name).value); }

  // Applies a network function by inlining it: its input is `input`, its weights the loss function's own.
  Value apply(const std::string &net, const std::string &inputName, Value input) {
    const ir::Function &f = *m_.find(net);
    std::vector<Value> args;
    for (const ir::Param &p : f.params) args.push_back(f.nameOf(p.value) == inputName ? input : param(f.nameOf(p.value)));
    return inlineFunction(b_, f, args)[0];
  }

  // ∇ sum(D(at)) with respect to `at`: one row per sample.
  Value inputGradient(Value at) {
    Value d = apply(spec_.discriminator, spec_.dataVar, at);
    Value total = b_.reduce(OpKind::ReduceSum, d, allAxes(b_, d));
    return differentiate(b_, total, std::span<const Value>(&at, 1))[0];
  }

  // Squared norm of each row of g: [batch].
  Value rowNormSquared(Value g) { return b_.reduce(OpKind::ReduceSum, b_.unary(OpKind::Square, g), {1}); }

  // mean((‖g‖ - target)^2) over the batch.
  Value normPenalty(Value g, double target) {
    Value norm = b_.unary(OpKind::Sqrt, rowNormSquared(g));
    Value diff = b_.sub(norm, b_.constant(target, b_.type(norm)));
    return b_.reduce(OpKind::ReduceMean, b_.unary(OpKind::Square, diff), {0});
  }

  // A per-sample [batch, 1] draw spread over the batch's feature dimension.
  Value perSample(Value a, const ir::Shape &shape) {
    Value flat = b_.reshape(a, {shape[0]});
    return b_.broadcast(flat, shape, {0});
  }

  Value scaled(double c, Value scalar) { return b_.mul(b_.constant(c, b_.type(scalar)), scalar); }

  Value term(const std::string &kind, const std::map<std::string, double> &p) {
    Value x = param(spec_.dataVar);
    const ir::Shape shape = b_.type(x).shape;
    if (kind == "r1") return scaled(p.at("gamma"), b_.reduce(OpKind::ReduceMean, rowNormSquared(inputGradient(x)), {0}));
    if (kind == "r2") {
      Value fake = apply(spec_.generator, spec_.noiseVar, param(spec_.noiseVar));
      return scaled(p.at("gamma"), b_.reduce(OpKind::ReduceMean, rowNormSquared(inputGradient(fake)), {0}));
    }
    if (kind == "wgan_gp") {
      Value fake = apply(spec_.generator, spec_.noiseVar, param(spec_.noiseVar));
      Value a = perSample(draws_.at("penalty.wgan_gp.a"), shape);
      Value oneMinusA = b_.sub(b_.constant(1.0, b_.type(a)), a);
      Value fromReal = b_.mul(a, x);  // named first: argument evaluation order is unspecified in C++
      Value between = b_.add(fromReal, b_.mul(oneMinusA, fake));
      return scaled(p.at("lambda"), normPenalty(inputGradient(between), 1.0));
    }
    // dragan
    Value mean = b_.reduce(OpKind::ReduceMean, x, allAxes(b_, x));
    Value centred = b_.sub(x, b_.broadcast(mean, shape, {}));
    Value std = b_.unary(OpKind::Sqrt, b_.reduce(OpKind::ReduceMean, b_.unary(OpKind::Square, centred), allAxes(b_, x)));
    Value spread = b_.mul(b_.broadcast(scaled(p.at("c"), std), shape, {}), draws_.at("penalty.dragan.u"));
    Value perturbed = b_.add(x, spread);
    Value a = perSample(draws_.at("penalty.dragan.a"), shape);
    Value between = b_.add(x, b_.mul(a, b_.sub(perturbed, x)));
    return scaled(p.at("lambda"), normPenalty(inputGradient(between), p.at("k")));
  }

  std::map<std::string, Value> draws_;

 private:
  const ir::Module &m_;
  const GanSpec &spec_;
  const ir::Function &old_;
  Rewriter &rw_;
  ir::Builder &b_;
};

}  // namespace

bool expandPenalties(ir::Module &m) {
  if (!isGanModule(m)) return false;
  GanSpec spec = ganSpecOf(m);
  if (spec.penalties.empty()) return false;
  ir::Function &loss = *m.find(spec.lossOf(spec.discriminator));
  for (const ir::Param &p : loss.params)
    if (loss.nameOf(p.value).rfind("penalty.", 0) == 0) return false;  // already expanded

  const ir::Function old = loss;
  const ir::Shape batch = old.type(paramNamed(old, spec.dataVar).value).shape;
  Rewriter rw(old);
  PenaltyBuilder pb(m, spec, old, rw);
  ir::Builder &b = rw.builder();
  const ir::RandomDist unit{ir::RandomDist::Kind::Uniform, 0.0, 1.0};
  // New draws first: parameters come before ops.
  if (spec.penalties.count("wgan_gp")) pb.draws_["penalty.wgan_gp.a"] = b.param("penalty.wgan_gp.a", TensorType::f32({batch[0], 1}), ir::ParamRole::Random, unit);
  if (spec.penalties.count("dragan")) {
    pb.draws_["penalty.dragan.u"] = b.param("penalty.dragan.u", TensorType::f32(batch), ir::ParamRole::Random, unit);
    pb.draws_["penalty.dragan.a"] = b.param("penalty.dragan.a", TensorType::f32({batch[0], 1}), ir::ParamRole::Random, unit);
  }
  for (const ir::Op &op : old.ops) rw.copy(op);
  ir::Value oldLoss;
  for (const ir::Result &r : old.results)
    if (r.name == "loss") oldLoss = r.value;
  Value total = rw.map(oldLoss);
  for (const auto &[kind, params] : spec.penalties) total = b.add(total, pb.term(kind, params));
  rw.set(oldLoss, total);
  loss = rw.finish();
  return true;
}

}  // namespace gantry::passes
