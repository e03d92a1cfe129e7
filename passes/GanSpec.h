// What the GAN passes read from a module lowered by the frontend: which functions are the networks and their
// losses, and the options in the module attributes (docs/language.md, "Lowering").
#pragma once

#include <map>
#include <string>

#include "ir/Module.h"

namespace gantry::passes {

struct GanSpec {
  std::string generator, discriminator;  // function names of the networks: @G, @D
  std::string dataVar, noiseVar;         // parameter names of the real batch and the noise
  int64_t unrollSteps = 0;
  bool secondOrder = true, fresh = false;
  int64_t nCritic = 1;
  std::map<std::string, std::map<std::string, double>> penalties;  // kind -> its parameters

  std::string lossOf(const std::string &net) const { return net + ".loss"; }
};

// Throws ir::IrError naming what is missing when the module is not a lowered GAN program.
GanSpec ganSpecOf(const ir::Module &m);
bool isGanModule(const ir::Module &m);

// The parameter of `f` called `name`, or throws.
const ir::Param &paramNamed(const ir::Function &f, const std::string &name);

}  // namespace gantry::passes
