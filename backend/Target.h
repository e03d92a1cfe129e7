// What the backend knows about the machine it compiles for. This file's .cpp is, with the rest of backend/, the
// only place that includes LLVM headers; the rest of Gantry sees plain strings.
#pragma once

#include <string>
#include <vector>

namespace gantry::backend {

struct HostTarget {
  std::string triple;                 // x86_64-pc-linux-gnu
  std::string cpu;                    // znver4
  std::vector<std::string> features;  // the enabled features, sorted: avx2, avx512f, fma, ...
  bool has(const std::string &feature) const;
};

HostTarget detectHost();
std::string llvmVersion();  // "19.1.7"

}  // namespace gantry::backend
