#include "frontend/Lower.h"

#include <fmt/format.h>

#include <map>

#include "ir/Builder.h"
#include "passes/Autodiff.h"

namespace gantry::frontend {
namespace {

using ir::Builder;
using ir::OpKind;
using ir::TensorType;
using ir::Value;

std::string paramName(const NetSpec &net, const LayerStep &layer, const char *which) {
  return fmt::format("{}.{}.{}", net.name, layer.name, which);
}

// Adds a network's weights ([in, out]) and biases ([out]) as parameters, in layer order.
void addNetParams(Builder &b, const NetSpec &net, std::map<std::string, Value> &params) {
  int64_t width = net.inWidth;
  for (const LayerStep &s : net.steps) {
    if (s.kind != LayerStep::Kind::Linear) continue;
    std::string w = paramName(net, s, "w"), bias = paramName(net, s, "b");
    params[w] = b.param(w, TensorType::f32({width, s.width}), ir::ParamRole::Param);
    if (s.bias) params[bias] = b.param(bias, TensorType::f32({s.width}), ir::ParamRole::Param);
    width = s.width;
  }
}

ir::RandomDist noiseDist(const NoiseSpec &n) {
  return {n.kind == "normal" ? ir::RandomDist::Kind::Normal : ir::RandomDist::Kind::Uniform, n.a, n.b};
}

class FunctionLowering {
 public:
  FunctionLowering(const CheckedProgram &p, ir::Function &f) : p_(p), b_(f) {}

  Builder &builder() { return b_; }
  std::map<std::string, Value> &params() { return params_; }
  std::map<std::string, Value> &env() { return env_; }

  // Applies a network to samples [batch, in]: linear layers and activations, as the net's steps say.
  Value applyNet(const NetSpec &net, Value h) {
    const int64_t batch = b_.type(h).shape[0];
    std::string last = net.name;
    for (const LayerStep &s : net.steps) {
      if (s.kind == LayerStep::Kind::Linear) {
        last = fmt::format("{}.{}", net.name, s.name);
        h = b_.create(OpKind::Matmul, {h, params_.at(paramName(net, s, "w"))}, {}, std::nullopt, last);
        if (s.bias) {
          Value bias = b_.broadcast(params_.at(paramName(net, s, "b")), {batch, s.width}, {1});
          h = b_.create(OpKind::Add, {h, bias}, {}, std::nullopt, last + ".bias");
        }
      } else {
        h = activation(s, h, last + "." + s.activation);
      }
    }
    return h;
  }

  Value lowerExpr(const Expr &e) {
    switch (e.kind) {
      case Expr::Kind::Number: return b_.constant(e.number, TensorType::f32({}));
      case Expr::Kind::Name: return env_.at(e.text);
      case Expr::Kind::Neg: return b_.unary(OpKind::Neg, lowerExpr(*e.lhs));
      case Expr::Kind::Binary: {
        Value a = lowerExpr(*e.lhs), c = lowerExpr(*e.rhs);
        ExprShape shape;
        broadcastShapes(b_.type(a).shape, b_.type(c).shape, shape);
        a = broadcastTo(a, shape);
        c = broadcastTo(c, shape);
        static const std::map<std::string, OpKind> ops = {
            {"+", OpKind::Add}, {"-", OpKind::Sub}, {"*", OpKind::Mul}, {"/", OpKind::Div}, {"^", OpKind::Pow}};
        return b_.binary(ops.at(e.text), a, c);
      }
      case Expr::Kind::Call: return lowerCall(e);
      case Expr::Kind::String: break;
    }
    throw ir::IrError("lowering: unexpected expression");  // the checker rejects strings in the objective
  }

  // Random draws of the objective (uniform(dim: k), normal(dim: k)) are parameters of the function: they must
  // exist before the first op, so they are found before lowering.
  void addDraws(const Expr &e, int64_t batch) {
    if (e.kind == Expr::Kind::Call && (e.text == "uniform" || e.text == "normal") && !p_.net(e.text)) {
      int64_t dim = 1;
      for (const Arg &a : e.args) dim = static_cast<int64_t>(a.value->number);
      std::string name = fmt::format("draw{}", draws_.size() + 1);
      ir::RandomDist dist{e.text == "normal" ? ir::RandomDist::Kind::Normal : ir::RandomDist::Kind::Uniform, 0.0, 1.0};
      draws_[&e] = b_.param(name, TensorType::f32({batch, dim}), ir::ParamRole::Random, dist);
    }
    if (e.lhs) addDraws(*e.lhs, batch);
    if (e.rhs) addDraws(*e.rhs, batch);
    for (const Arg &a : e.args) addDraws(*a.value, batch);
  }

 private:
  Value activation(const LayerStep &s, Value h, const std::string &name) {
    const TensorType t = b_.type(h);
    auto zeros = [&] { return b_.constant(0.0, t); };
    if (s.activation == "relu") return b_.create(OpKind::Relu, {h}, {}, std::nullopt, name);
    if (s.activation == "tanh") return b_.create(OpKind::Tanh, {h}, {}, std::nullopt, name);
    if (s.activation == "sigmoid") return b_.create(OpKind::Sigmoid, {h}, {}, std::nullopt, name);
    if (s.activation == "softplus") return b_.create(OpKind::Softplus, {h}, {}, std::nullopt, name);
    Value positive = b_.compare("gt", h, zeros());
    if (s.activation == "leaky_relu") {
      Value scaled = b_.mul(h, b_.constant(s.alpha, t));
      return b_.create(OpKind::Select, {positive, h, scaled}, {}, std::nullopt, name);
    }
    // elu: alpha * (e^x - 1) for x <= 0. expm1 sees min(x, 0), so the branch select discards cannot overflow
    // and poison the gradient with inf * 0.
    Value negativePart = b_.create(OpKind::Min, {h, zeros()});
    Value alpha = b_.constant(s.alpha, t);  // named first: C++ leaves argument evaluation order unspecified
    Value scaled = b_.mul(alpha, b_.unary(OpKind::Expm1, negativePart));
    return b_.create(OpKind::Select, {positive, h, scaled}, {}, std::nullopt, name);
  }

  // numpy broadcasting: align trailing dimensions, drop the size-1 ones with a reshape, then broadcast.
  Value broadcastTo(Value v, const ExprShape &shape) {
    const ir::Shape &from = b_.type(v).shape;
    if (from == shape) return v;
    size_t offset = shape.size() - from.size();
    ir::Shape kept;
    std::vector<int64_t> dims;
    for (size_t i = 0; i < from.size(); ++i) {
      if (from[i] == shape[offset + i]) {
        kept.push_back(from[i]);
        dims.push_back(static_cast<int64_t>(offset + i));
      }
    }
    if (kept != from) v = b_.reshape(v, kept);
    return b_.broadcast(v, shape, dims);
  }

  std::vector<int64_t> allAxes(Value v) {
    std::vector<int64_t> axes(b_.type(v).shape.size());
    for (size_t i = 0; i < axes.size(); ++i) axes[i] = static_cast<int64_t>(i);
    return axes;
  }

  Value lowerCall(const Expr &e) {
    if (const NetSpec *net = p_.net(e.text)) return applyNet(*net, lowerExpr(*e.args[0].value));
    if (auto it = draws_.find(&e); it != draws_.end()) return it->second;
    static const std::map<std::string, OpKind> unary = {
        {"exp", OpKind::Exp},           {"log", OpKind::Log},         {"sqrt", OpKind::Sqrt},
        {"abs", OpKind::Abs},           {"square", OpKind::Square},   {"softplus", OpKind::Softplus},
        {"sigmoid", OpKind::Sigmoid},   {"tanh", OpKind::Tanh},       {"relu", OpKind::Relu},
        {"stop_gradient", OpKind::StopGradient}};
    if (auto it = unary.find(e.text); it != unary.end()) return b_.unary(it->second, lowerExpr(*e.args[0].value));
    if (e.text == "grad") {
      const Expr &of = *e.args[0].value, &wrt = *e.args[1].value;
      Value target = lowerExpr(of);
      Value total = b_.reduce(OpKind::ReduceSum, target, allAxes(target));
      Value x = env_.at(wrt.text);
      return passes::differentiate(b_, total, std::span<const Value>(&x, 1))[0];
    }
    // mean, sum, norm: over every axis, or the one named.
    Value x = lowerExpr(*e.args[0].value);
    std::vector<int64_t> axes = allAxes(x);
    for (size_t i = 1; i < e.args.size(); ++i) {
      auto axis = static_cast<int64_t>(e.args[i].value->kind == Expr::Kind::Neg ? -e.args[i].value->lhs->number
                                                                              : e.args[i].value->number);
      axes = {axis < 0 ? axis + static_cast<int64_t>(axes.size()) : axis};
    }
    if (e.text == "mean") return b_.reduce(OpKind::ReduceMean, x, axes);
    if (e.text == "sum") return b_.reduce(OpKind::ReduceSum, x, axes);
    return b_.unary(OpKind::Sqrt, b_.reduce(OpKind::ReduceSum, b_.unary(OpKind::Square, x), axes));  // norm
  }

  const CheckedProgram &p_;
  Builder b_;
  std::map<std::string, Value> params_;
  std::map<std::string, Value> env_;
  std::map<const Expr *, Value> draws_;
};

void lowerNetFunction(ir::Module &m, const CheckedProgram &p, const NetSpec &net, bool isGenerator) {
  ir::Function &f = m.functions.emplace_back();
  f.name = net.name;
  FunctionLowering l(p, f);
  Builder &b = l.builder();
  addNetParams(b, net, l.params());
  const int64_t batch = p.train.batch;
  Value in = isGenerator ? b.param(p.noise.var, TensorType::f32({batch, p.noise.dim}), ir::ParamRole::Random, noiseDist(p.noise))
                         : b.param(p.data.var, TensorType::f32({batch, p.data.dim}), ir::ParamRole::Input);
  b.result(isGenerator ? "samples" : "scores", l.applyNet(net, in));
}

void lowerLossFunction(ir::Module &m, const CheckedProgram &p, const NetSpec &net, const Expr &loss) {
  ir::Function &f = m.functions.emplace_back();
  f.name = net.name + ".loss";
  FunctionLowering l(p, f);
  Builder &b = l.builder();
  const int64_t batch = p.train.batch;
  l.env()[p.data.var] = b.param(p.data.var, TensorType::f32({batch, p.data.dim}), ir::ParamRole::Input);
  l.env()[p.noise.var] = b.param(p.noise.var, TensorType::f32({batch, p.noise.dim}), ir::ParamRole::Random, noiseDist(p.noise));
  addNetParams(b, p.generator, l.params());
  addNetParams(b, p.discriminator, l.params());
  for (const LetStmt *let : p.lets) l.addDraws(*let->value, batch);
  l.addDraws(loss, batch);
  for (const LetStmt *let : p.lets) {
    Value v = l.lowerExpr(*let->value);
    // Name the let's value after it, so dumps read like the program (parameters keep their own names).
    ir::Function &fn = b.function();
    if (v.id >= fn.params.size()) fn.values[v.id].name = let->name.text;
    l.env()[let->name.text] = v;
  }
  b.result("loss", l.lowerExpr(loss));
}

void setAttrs(ir::Module &m, const CheckedProgram &p) {
  ir::Attrs &a = m.attrs;
  using ir::Symbol;
  a.set("generator", Symbol{p.generator.name});
  a.set("discriminator", Symbol{p.discriminator.name});
  if (!p.lossFamily.empty()) a.set("losses", Symbol{p.lossFamily});
  a.set("data", Symbol{p.data.kind});
  a.set("data.var", Symbol{p.data.var});
  a.set("data.dim", p.data.dim);
  for (const auto &[k, v] : p.data.params) a.set("data." + k, v);
  if (!p.data.path.empty()) {
    a.set("data.path", p.data.path);
    a.set("data.standardize", p.data.standardize);
  }
  a.set("noise", Symbol{p.noise.kind});
  a.set("noise.var", Symbol{p.noise.var});
  a.set("noise.dim", p.noise.dim);
  a.set(p.noise.kind == "normal" ? "noise.mean" : "noise.low", p.noise.a);
  a.set(p.noise.kind == "normal" ? "noise.std" : "noise.high", p.noise.b);
  for (const NetSpec *n : {&p.generator, &p.discriminator}) {
    a.set("init." + n->name, Symbol{n->init.kind});
    if (n->init.kind == "orthogonal") a.set("init." + n->name + ".gain", n->init.param);
    if (n->init.kind == "normal") a.set("init." + n->name + ".std", n->init.param);
  }
  for (const auto &[net, opt] : {std::pair{&p.generator, &p.generatorOptimizer}, std::pair{&p.discriminator, &p.discriminatorOptimizer}}) {
    a.set("optimizer." + net->name, Symbol{opt->kind});
    for (const auto &[k, v] : opt->params) a.set(fmt::format("optimizer.{}.{}", net->name, k), v);
  }
  a.set("unroll.steps", p.unroll.steps);
  a.set("unroll.order", Symbol{p.unroll.secondOrder ? "second" : "first"});
  a.set("unroll.fresh", p.unroll.fresh);
  for (const PenaltySpec &pen : p.penalties)
    for (const auto &[k, v] : pen.params) a.set(fmt::format("penalty.{}.{}", pen.kind, k), v);
  a.set("n_critic", p.nCritic);
  a.set("train.batch", p.train.batch);
  a.set("train.steps", p.train.steps);
  a.set("train.seed", p.train.seed);
  a.set("train.eval_every", p.train.evalEvery);
}

}  // namespace

ir::Module lowerProgram(const CheckedProgram &p) {
  ir::Module m;
  setAttrs(m, p);
  lowerNetFunction(m, p, p.generator, true);
  lowerNetFunction(m, p, p.discriminator, false);
  lowerLossFunction(m, p, p.discriminator, *p.discriminatorLoss);
  lowerLossFunction(m, p, p.generator, *p.generatorLoss);
  return m;
}

}  // namespace gantry::frontend
