#include "backend/Target.h"

#include <llvm/ADT/StringMap.h>
#include <llvm/ADT/StringRef.h>
#include <llvm/Config/llvm-config.h>
#include <llvm/TargetParser/Host.h>

#include <algorithm>

namespace gantry::backend {

bool HostTarget::has(const std::string &feature) const {
  return std::binary_search(features.begin(), features.end(), feature);
}

HostTarget detectHost() {
  HostTarget t;
  t.triple = llvm::sys::getProcessTriple();
  t.cpu = llvm::sys::getHostCPUName().str();
  for (const auto &entry : llvm::sys::getHostCPUFeatures())
    if (entry.second) t.features.push_back(entry.first().str());
  std::sort(t.features.begin(), t.features.end());
  return t;
}

std::string llvmVersion() { return LLVM_VERSION_STRING; }

}  // namespace gantry::backend
