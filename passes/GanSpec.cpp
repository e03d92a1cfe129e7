#include "passes/GanSpec.h"

#include <fmt/format.h>

#include "ir/Builder.h"

namespace gantry::passes {
namespace {

const ir::AttrValue &attr(const ir::Module &m, const std::string &name) {
  const ir::AttrValue *v = m.attrs.find(name);
  if (!v) throw ir::IrError(fmt::format("the module has no attribute '{}': is it a lowered .gan program?", name));
  return *v;
}

std::string symbol(const ir::Module &m, const std::string &name) {
  const ir::AttrValue &v = attr(m, name);
  if (!std::holds_alternative<ir::Symbol>(v)) throw ir::IrError(fmt::format("module attribute '{}' must be a symbol", name));
  return std::get<ir::Symbol>(v).name;
}

}  // namespace

bool isGanModule(const ir::Module &m) { return m.attrs.has("generator") && m.attrs.has("discriminator"); }

GanSpec ganSpecOf(const ir::Module &m) {
  GanSpec s;
  s.generator = symbol(m, "generator");
  s.discriminator = symbol(m, "discriminator");
  s.dataVar = symbol(m, "data.var");
  s.noiseVar = symbol(m, "noise.var");
  if (const ir::AttrValue *k = m.attrs.find("unroll.steps")) s.unrollSteps = std::get<int64_t>(*k);
  if (m.attrs.has("unroll.order")) s.secondOrder = symbol(m, "unroll.order") == "second";
  if (const ir::AttrValue *f = m.attrs.find("unroll.fresh")) s.fresh = std::get<bool>(*f);
  if (const ir::AttrValue *n = m.attrs.find("n_critic")) s.nCritic = std::get<int64_t>(*n);
  for (const auto &[name, value] : m.attrs.entries()) {
    if (name.rfind("penalty.", 0) != 0 || !std::holds_alternative<double>(value)) continue;
    size_t dot = name.find('.', 8);
    s.penalties[name.substr(8, dot - 8)][name.substr(dot + 1)] = std::get<double>(value);
  }
  for (const std::string &f : {s.generator, s.discriminator, s.lossOf(s.generator), s.lossOf(s.discriminator)})
    if (!m.find(f)) throw ir::IrError(fmt::format("the module has no function @{}", f));
  return s;
}

const ir::Param &paramNamed(const ir::Function &f, const std::string &name) {
  for (const ir::Param &p : f.params)
    if (f.nameOf(p.value) == name) return p;
  throw ir::IrError(fmt::format("@{} has no parameter %{}", f.name, name));
}

}  // namespace gantry::passes
