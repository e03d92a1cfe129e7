#include "passes/Optimizer.h"

#include <fmt/format.h>

namespace gantry::passes {
namespace {

using ir::OpKind;
using ir::Value;

// A hyperparameter as a constant of v's shape.
Value splat(ir::Builder &b, double c, Value like) { return b.constant(c, b.type(like)); }

Value broadcastScalar(ir::Builder &b, Value scalar, Value like) {
  const ir::Shape shape = b.type(like).shape;
  return shape.empty() ? scalar : b.broadcast(scalar, shape, {});
}

}  // namespace

OptimizerConfig optimizerOf(const ir::Module &m, const std::string &net) {
  const std::string prefix = "optimizer." + net;
  const ir::AttrValue *kind = m.attrs.find(prefix);
  if (!kind || !std::holds_alternative<ir::Symbol>(*kind))
    throw ir::IrError(fmt::format("the module has no optimizer for '{}' (attribute '{}')", net, prefix));
  OptimizerConfig opt{std::get<ir::Symbol>(*kind).name, {}};
  for (const auto &[name, value] : m.attrs.entries())
    if (name.rfind(prefix + ".", 0) == 0 && std::holds_alternative<double>(value))
      opt.hyper[name.substr(prefix.size() + 1)] = std::get<double>(value);
  for (const char *required : {"lr"})
    if (!opt.hyper.count(required)) throw ir::IrError(fmt::format("optimizer of '{}' has no '{}'", net, required));
  return opt;
}

std::vector<StateSlot> optimizerState(const OptimizerConfig &opt, const std::string &net,
                                      const std::vector<std::pair<std::string, ir::TensorType>> &params) {
  std::vector<StateSlot> slots;
  for (const auto &[name, type] : params) {
    if (opt.kind == "sgd" && opt.hyper.at("momentum") != 0) slots.push_back({name + ".momentum", type});
    if (opt.kind == "adam") {
      slots.push_back({name + ".m", type});
      slots.push_back({name + ".v", type});
    }
    if (opt.kind == "rmsprop") slots.push_back({name + ".sq", type});
  }
  if (opt.kind == "adam") slots.push_back({net + ".adam.t", ir::TensorType::f32({})});
  return slots;
}

Update emitUpdate(ir::Builder &b, const OptimizerConfig &opt, const std::vector<Value> &params,
                  const std::vector<Value> &grads, const std::vector<Value> &state) {
  Update out;
  const double lr = opt.hyper.at("lr");
  size_t next = 0;  // position in `state`
  if (opt.kind == "sgd") {
    const double momentum = opt.hyper.at("momentum");
    for (size_t i = 0; i < params.size(); ++i) {
      Value step = grads[i];
      if (momentum != 0) {
        Value buffer = state[next++];
        step = b.add(b.mul(splat(b, momentum, buffer), buffer), grads[i]);
        out.state.push_back(step);
      }
      out.params.push_back(b.sub(params[i], b.mul(splat(b, lr, step), step)));
    }
    return out;
  }
  if (opt.kind == "rmsprop") {
    const double alpha = opt.hyper.at("alpha"), eps = opt.hyper.at("eps");
    for (size_t i = 0; i < params.size(); ++i) {
      Value g = grads[i], sq = state[next++];
      // Each operand that emits ops is named first: argument evaluation order is unspecified in C++, and the IR
      // must not depend on the compiler that built Gantry.
      Value decayed = b.mul(splat(b, alpha, sq), sq);
      Value weight = splat(b, 1 - alpha, g);
      Value fresh = b.mul(weight, b.unary(OpKind::Square, g));
      Value sq2 = b.add(decayed, fresh);
      out.state.push_back(sq2);
      Value root = b.unary(OpKind::Sqrt, sq2);
      Value denom = b.add(root, splat(b, eps, sq2));
      out.params.push_back(b.sub(params[i], b.div(b.mul(splat(b, lr, g), g), denom)));
    }
    return out;
  }
  if (opt.kind != "adam") throw ir::IrError("unknown optimizer '" + opt.kind + "'");
  const double beta1 = opt.hyper.at("beta1"), beta2 = opt.hyper.at("beta2"), eps = opt.hyper.at("eps");
  Value t = state.back();
  Value t2 = b.add(t, b.constant(1.0, ir::TensorType::f32({})));
  // Bias corrections 1 - beta^t', scalars shared by every parameter.
  // (Operands that emit ops are named first, as above.)
  auto biasCorrection = [&](double beta) {
    Value one = b.constant(1.0, ir::TensorType::f32({}));
    Value base = b.constant(beta, ir::TensorType::f32({}));
    return b.sub(one, b.binary(OpKind::Pow, base, t2));
  };
  Value bc1 = biasCorrection(beta1);
  Value bc2 = biasCorrection(beta2);
  for (size_t i = 0; i < params.size(); ++i) {
    Value g = grads[i], m = state[next++], v = state[next++];
    Value mDecayed = b.mul(splat(b, beta1, m), m);
    Value m2 = b.add(mDecayed, b.mul(splat(b, 1 - beta1, g), g));
    Value vDecayed = b.mul(splat(b, beta2, v), v);
    Value vWeight = splat(b, 1 - beta2, g);
    Value vFresh = b.mul(vWeight, b.unary(OpKind::Square, g));
    Value v2 = b.add(vDecayed, vFresh);
    out.state.push_back(m2);
    out.state.push_back(v2);
    Value mHat = b.div(m2, broadcastScalar(b, bc1, m2));
    Value vHat = b.div(v2, broadcastScalar(b, bc2, v2));
    Value root = b.unary(OpKind::Sqrt, vHat);
    Value denom = b.add(root, splat(b, eps, vHat));
    Value rate = splat(b, lr, mHat);
    out.params.push_back(b.sub(params[i], b.mul(rate, b.div(mHat, denom))));
  }
  out.state.push_back(t2);
  return out;
}

}  // namespace gantry::passes
