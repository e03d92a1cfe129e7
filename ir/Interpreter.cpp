#include "ir/Interpreter.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "ir/Printer.h"

namespace gantry::ir {
namespace {

using Index = std::vector<int64_t>;

Index unravel(int64_t linear, const Shape &shape) {
  Index idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = linear % shape[d];
    linear /= shape[d];
  }
  return idx;
}

int64_t ravel(const Index &idx, const Shape &shape) {
  int64_t linear = 0;
  for (size_t d = 0; d < shape.size(); ++d) linear = linear * shape[d] + idx[d];
  return linear;
}

double comparePred(const std::string &pred, double a, double b) {
  if (pred == "eq") return a == b;
  if (pred == "ne") return a != b;
  if (pred == "lt") return a < b;
  if (pred == "le") return a <= b;
  if (pred == "gt") return a > b;
  if (pred == "ge") return a >= b;
  throw std::logic_error("unknown compare predicate " + pred);
}

Tensor evalStructural(const Op &op, const TensorType &type, const std::vector<const Tensor *> &in) {
  Tensor out = Tensor::zeros(type);
  const int64_t n = type.numElements();
  switch (op.kind) {
    case OpKind::Constant: {
      const AttrValue &v = *op.attrs.find("value");
      if (const auto *list = std::get_if<std::vector<double>>(&v)) {
        out.data = *list;
      } else {
        std::fill(out.data.begin(), out.data.end(), std::get<double>(v));
      }
      return out;
    }
    case OpKind::Broadcast: {
      const auto &dims = op.attrs.getInts("dims");
      const Tensor &x = *in[0];
      for (int64_t i = 0; i < n; ++i) {
        Index o = unravel(i, type.shape), xi(dims.size());
        for (size_t d = 0; d < dims.size(); ++d) xi[d] = o[dims[d]];
        out.data[i] = x.data[ravel(xi, x.type.shape)];
      }
      return out;
    }
    case OpKind::Reshape:
      out.data = in[0]->data;
      return out;
    case OpKind::Transpose: {
      const auto &perm = op.attrs.getInts("perm");
      const Tensor &x = *in[0];
      for (int64_t i = 0; i < n; ++i) {
        Index o = unravel(i, type.shape), xi(perm.size());
        for (size_t d = 0; d < perm.size(); ++d) xi[perm[d]] = o[d];
        out.data[i] = x.data[ravel(xi, x.type.shape)];
      }
      return out;
    }
    case OpKind::Concat: {
      int64_t axis = op.attrs.getInt("axis"), offset = 0;
      for (const Tensor *x : in) {
        for (int64_t i = 0; i < x->type.numElements(); ++i) {
          Index xi = unravel(i, x->type.shape);
          xi[axis] += offset;
          out.data[ravel(xi, type.shape)] = x->data[i];
        }
        offset += x->type.shape[axis];
      }
      return out;
    }
    case OpKind::Slice: {
      const auto &start = op.attrs.getInts("start");
      for (int64_t i = 0; i < n; ++i) {
        Index o = unravel(i, type.shape);
        for (size_t d = 0; d < o.size(); ++d) o[d] += start[d];
        out.data[i] = in[0]->data[ravel(o, in[0]->type.shape)];
      }
      return out;
    }
    case OpKind::Pad: {
      const auto &low = op.attrs.getInts("low");
      const Tensor &x = *in[0];
      for (int64_t i = 0; i < x.type.numElements(); ++i) {
        Index xi = unravel(i, x.type.shape);
        for (size_t d = 0; d < xi.size(); ++d) xi[d] += low[d];
        out.data[ravel(xi, type.shape)] = x.data[i];
      }
      return out;
    }
    case OpKind::Matmul: {
      bool ta = op.attrs.getBool("transpose_a"), tb = op.attrs.getBool("transpose_b");
      const Tensor &a = *in[0], &b = *in[1];
      int64_t m = type.shape[0], cols = type.shape[1], k = ta ? a.type.shape[0] : a.type.shape[1];
      auto A = [&](int64_t r, int64_t c) { return ta ? a.data[c * a.type.shape[1] + r] : a.data[r * a.type.shape[1] + c]; };
      auto B = [&](int64_t r, int64_t c) { return tb ? b.data[c * b.type.shape[1] + r] : b.data[r * b.type.shape[1] + c]; };
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < cols; ++j) {
          double acc = 0;
          for (int64_t p = 0; p < k; ++p) acc += A(i, p) * B(p, j);
          out.data[i * cols + j] = acc;
        }
      return out;
    }
    case OpKind::ReduceSum:
    case OpKind::ReduceMean:
    case OpKind::ReduceMax: {
      const auto &axes = op.attrs.getInts("axes");
      const Tensor &x = *in[0];
      if (op.kind == OpKind::ReduceMax) std::fill(out.data.begin(), out.data.end(), -INFINITY);
      int64_t count = 1;
      for (int64_t a : axes) count *= x.type.shape[a];
      for (int64_t i = 0; i < x.type.numElements(); ++i) {
        Index xi = unravel(i, x.type.shape), o;
        for (size_t d = 0; d < xi.size(); ++d)
          if (!std::binary_search(axes.begin(), axes.end(), static_cast<int64_t>(d))) o.push_back(xi[d]);
        double &acc = out.data[ravel(o, type.shape)];
        if (op.kind == OpKind::ReduceMax) {
          acc = std::isnan(acc) || std::isnan(x.data[i]) ? NAN : std::max(acc, x.data[i]);
        } else {
          acc += x.data[i];
        }
      }
      if (op.kind == OpKind::ReduceMean)
        for (double &v : out.data) v /= static_cast<double>(count);
      return out;
    }
    default:
      throw std::logic_error(fmt::format("interpreter: no rule for op '{}'", opName(op.kind)));
  }
}

}  // namespace

Tensor Tensor::zeros(TensorType t) {
  auto n = static_cast<size_t>(t.numElements());
  return {std::move(t), std::vector<double>(n, 0.0)};
}

Tensor Tensor::f32(Shape shape, std::vector<double> values) {
  Tensor t{TensorType::f32(std::move(shape)), std::move(values)};
  if (static_cast<int64_t>(t.data.size()) != t.type.numElements())
    throw std::invalid_argument(fmt::format("{} values for a tensor of type {}", t.data.size(), t.type.str()));
  return t;
}

double Tensor::at(std::initializer_list<int64_t> index) const {
  return data.at(static_cast<size_t>(ravel(Index(index), type.shape)));
}

std::vector<Tensor> evaluate(const Function &f, std::span<const Tensor> args) {
  if (args.size() != f.params.size())
    throw std::invalid_argument(fmt::format("@{} takes {} arguments, {} given", f.name, f.params.size(), args.size()));
  std::vector<Tensor> env(f.values.size());
  for (size_t i = 0; i < args.size(); ++i) {
    const Param &p = f.params[i];
    if (args[i].type != f.type(p.value) || static_cast<int64_t>(args[i].data.size()) != args[i].type.numElements())
      throw std::invalid_argument(fmt::format("argument %{} of @{} must be {}, given {} with {} values", f.nameOf(p.value),
                                              f.name, f.type(p.value).str(), args[i].type.str(), args[i].data.size()));
    env[p.value.id] = args[i];
  }
  for (const Op &op : f.ops) {
    const OpDef &def = opDef(op.kind);
    const TensorType &type = f.type(op.result);
    std::vector<const Tensor *> in;
    for (Value v : op.operands) in.push_back(&env[v.id]);
    Tensor out = Tensor::zeros(type);
    const size_t n = out.data.size();
    switch (def.cls) {
      case OpClass::Unary:
        for (size_t i = 0; i < n; ++i) out.data[i] = def.unary(in[0]->data[i]);
        break;
      case OpClass::Binary:
        for (size_t i = 0; i < n; ++i) out.data[i] = def.binary(in[0]->data[i], in[1]->data[i]);
        break;
      case OpClass::Compare: {
        const std::string &pred = op.attrs.getSymbol("pred");
        for (size_t i = 0; i < n; ++i) out.data[i] = comparePred(pred, in[0]->data[i], in[1]->data[i]);
        break;
      }
      case OpClass::Select:
        for (size_t i = 0; i < n; ++i) out.data[i] = in[0]->data[i] != 0.0 ? in[1]->data[i] : in[2]->data[i];
        break;
      case OpClass::Structural:
        out = evalStructural(op, type, in);
        break;
    }
    env[op.result.id] = std::move(out);
  }
  std::vector<Tensor> results;
  for (const Result &r : f.results) results.push_back(env[r.value.id]);
  return results;
}

}  // namespace gantry::ir
