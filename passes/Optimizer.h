// The optimizers of the .gan language as IR: one update of one network's parameters, emitted with ordinary ops
// (so the unroll pass can differentiate through it, Adam's moments included). Semantics follow torch.optim:
//   sgd(lr, momentum)            b' = momentum b + g (b starts at 0);          p' = p - lr b'   (b absent if momentum = 0)
//   adam(lr, beta1, beta2, eps)  t' = t + 1; m' = b1 m + (1 - b1) g; v' = b2 v + (1 - b2) g^2;
//                                p' = p - lr (m' / (1 - b1^t')) / (sqrt(v' / (1 - b2^t')) + eps)
//   rmsprop(lr, alpha, eps)      s' = alpha s + (1 - alpha) g^2;               p' = p - lr g / (sqrt(s') + eps)
// The optimizer of network NET is read from the module attributes `optimizer.NET` and `optimizer.NET.*`.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ir/Builder.h"

namespace gantry::passes {

struct OptimizerConfig {
  std::string kind;                      // sgd, adam, rmsprop
  std::map<std::string, double> hyper;   // lr, momentum, beta1, beta2, eps, alpha
};

OptimizerConfig optimizerOf(const ir::Module &m, const std::string &net);

// One state tensor of an optimizer: its name (from the parameter's) and type.
struct StateSlot {
  std::string name;
  ir::TensorType type;
};

// The state the optimizer keeps for parameters `params` (names and types) of network `net`, in the order
// emitUpdate takes and returns it: per parameter its buffers (`P.momentum`, `P.m` and `P.v`, or `P.sq`), then, for
// Adam, the step count `NET.adam.t` (f32[]).
std::vector<StateSlot> optimizerState(const OptimizerConfig &opt, const std::string &net,
                                      const std::vector<std::pair<std::string, ir::TensorType>> &params);

struct Update {
  std::vector<ir::Value> params;  // the updated parameters
  std::vector<ir::Value> state;   // the updated state, in optimizerState's order
};

Update emitUpdate(ir::Builder &b, const OptimizerConfig &opt, const std::vector<ir::Value> &params,
                  const std::vector<ir::Value> &grads, const std::vector<ir::Value> &state);

}  // namespace gantry::passes
