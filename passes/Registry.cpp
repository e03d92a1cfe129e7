#include "passes/Registry.h"

#include "passes/Algebraic.h"
#include "passes/AutodiffPass.h"
#include "passes/Cse.h"
#include "passes/Dce.h"
#include "passes/Fold.h"
#include "passes/Fuse.h"
#include "passes/Penalty.h"
#include "passes/Reassociate.h"
#include "passes/Step.h"
#include "passes/Unroll.h"

namespace gantry::passes {
namespace {

const PassInfo kPasses[] = {
    {"autodiff", "add d(loss)/d(param) results to every loss function", addLossGradients},
    {"penalty", "add the discriminator's gradient penalties to its loss (double backprop)", expandPenalties},
    {"unroll", "compute G's loss against D after K differentiable optimizer steps", unrollDiscriminator},
    {"step", "build @step: D's update(s) and G's update as one function", buildTrainingStep},
    {"fold", "evaluate ops whose operands are all constants", foldConstants},
    {"algebraic", "local algebraic rewrites: identities, shape no-ops, broadcasts, selects", simplifyAlgebra},
    {"cse", "merge ops that compute the same thing", eliminateCommonSubexpressions},
    {"dce", "remove ops no result depends on", eliminateDeadCode},
    {"reassociate", "compute a penalty's head-weight gradient from the product its hidden-weight gradient needs", reassociateColumnScales},
    {"fuse", "group runs of elementwise ops (and a closing reduction) into single loop nests", fuseElementwise},
};

}  // namespace

std::span<const PassInfo> allPasses() { return kPasses; }

const PassInfo *findPass(std::string_view name) {
  for (const PassInfo &p : kPasses)
    if (p.name == name) return &p;
  return nullptr;
}

}  // namespace gantry::passes
