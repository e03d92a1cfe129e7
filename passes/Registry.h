// The passes by name: one table shared by the default pipeline and the command line (`--passes=`,
// `--print-after=`, `gantry passes`).
#pragma once

#include <span>
#include <string_view>

#include "ir/Module.h"

namespace gantry::passes {

struct PassInfo {
  std::string_view name;
  std::string_view summary;
  bool (*run)(ir::Module &);  // returns whether the module changed
};

std::span<const PassInfo> allPasses();
const PassInfo *findPass(std::string_view name);

}  // namespace gantry::passes
