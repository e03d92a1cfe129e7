#include "ir/Module.h"

#include <fmt/format.h>

namespace gantry::ir {

const char *roleName(ParamRole r) {
  switch (r) {
    case ParamRole::Input: return "input";
    case ParamRole::Param: return "param";
    case ParamRole::State: return "state";
    case ParamRole::Random: return "random";
  }
  return "?";
}

std::string RandomDist::str() const {
  return fmt::format("{}({}, {})", kind == Kind::Normal ? "normal" : "uniform", formatFloat(a), formatFloat(b));
}

Value Function::newValue(TensorType t, std::string n) {
  values.push_back({std::move(t), std::move(n)});
  return Value{static_cast<uint32_t>(values.size() - 1)};
}

const Param *Function::findParam(const std::string &n) const {
  for (const Param &p : params)
    if (nameOf(p.value) == n) return &p;
  return nullptr;
}

Function *Module::find(const std::string &n) {
  for (Function &f : functions)
    if (f.name == n) return &f;
  return nullptr;
}

const Function *Module::find(const std::string &n) const {
  for (const Function &f : functions)
    if (f.name == n) return &f;
  return nullptr;
}

}  // namespace gantry::ir
