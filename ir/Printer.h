// Prints IR as text that ir/Parser.h reads back: print(parse(print(m))) == print(m).
//
//   func @d_loss(
//       input %x: f32[4,2],
//       param %w: f32[2,3],
//       random %u: f32[4,1] ~ uniform(0.0, 1.0)
//   ) -> (loss: f32[]) {
//     %0 = matmul %x, %w : f32[4,3]
//     %1 = reduce_sum %0 {axes = [0, 1]} : f32[]
//     return %1
//   }
//
// Parameters keep their names. An op result prints under its name hint when it has one (made unique with a
// `.N` suffix), otherwise as the next number; attributes equal to their default are left out.
#pragma once

#include <string>
#include <vector>

#include "ir/Module.h"

namespace gantry::ir {

// The printed name (`%x`, `%3`, `%h.1`) of every value of a function; the verifier uses it too, so its messages
// name values as a dump shows them.
class ValueNamer {
 public:
  explicit ValueNamer(const Function &f);
  const std::string &operator()(Value v) const { return names_.at(v.id); }

 private:
  std::vector<std::string> names_;
};

bool isIdentifier(const std::string &s);  // [A-Za-z_][A-Za-z0-9_.]*

std::string printOp(const Function &f, const Op &op, const ValueNamer &names);
std::string print(const Function &f);
std::string print(const Module &m);

}  // namespace gantry::ir
