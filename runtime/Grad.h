// `gantry grad`: D's loss and gradient and G's (unrolled, penalised) loss and gradient at given parameters,
// without updating anything, so Gantry can be checked against other frameworks.
//
// Arrays are named as PyTorch would name them: a linear layer's weight is `NET.LAYER.weight` with shape
// [out, in] (Gantry's IR keeps [in, out]: they are transposed at this boundary) and its bias `NET.LAYER.bias`;
// optimizer state `NET.LAYER.weight.m` (Adam's first moment), `.v` (second), `.momentum` (SGD), `.sq` (RMSProp),
// and `NET.adam.t` (Adam's step count); batch arrays by the .gan file's names (`x`, `z`) and the draws the passes
// introduce (`penalty.wgan_gp.a`, ...). Results: `loss.D`, `loss.G`, `grad.NAME` for every parameter.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ir/Module.h"
#include "support/Npz.h"

namespace gantry::runtime {

// The module `gantry grad` evaluates: @D.loss and @G.loss with their gradients (penalties and unrolling
// expanded), simplified and fused. With `terms` (unrolled objectives), also @G.loss.direct: G's loss with
// stop_gradient on θD^K, whose gradient is the direct term ∂f/∂θG at the unrolled D; the rest of G's gradient is
// the term through the K updates, ∂f/∂θD^K · dθD^K/dθG.
ir::Module prepareGrad(ir::Module lowered, bool terms = false);

struct RequiredInput {
  enum class Kind { Param, State, Batch } kind;
  std::string key;             // the array's name in its file
  std::vector<int64_t> shape;  // as the file must hold it
};
std::vector<RequiredInput> requiredInputs(const ir::Module &prepared);

struct GradInputs {
  std::map<std::string, NpyArray> params, state, batch;
  bool haveState = false;  // without an --opt-state file, every state array is zero (a fresh optimizer)
  std::string paramsFile = "the parameters", stateFile = "the optimizer state", batchFile = "the batch";
};

// Evaluates with the JIT (or, with `interpret`, the double-precision interpreter). Throws FileError naming a
// missing or mis-shaped array: key, file, expected and found shape. With @G.loss.direct in the module, the
// results also hold `grad_direct.NAME` and `grad_unrolled.NAME` (which sum to `grad.NAME`) for G's parameters.
std::map<std::string, NpyArray> computeGrad(const ir::Module &prepared, const GradInputs &in, bool interpret);

}  // namespace gantry::runtime
