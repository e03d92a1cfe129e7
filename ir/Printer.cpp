#include "ir/Printer.h"

#include <fmt/format.h>

#include <cctype>
#include <unordered_set>

namespace gantry::ir {

bool isIdentifier(const std::string &s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.')) return false;
  return true;
}

ValueNamer::ValueNamer(const Function &f) : names_(f.values.size()) {
  std::unordered_set<std::string> used;
  for (const Param &p : f.params) {
    names_[p.value.id] = "%" + f.nameOf(p.value);
    used.insert(f.nameOf(p.value));
  }
  int next = 0;
  for (const Op &op : f.ops) {
    if (!names_[op.result.id].empty()) continue;  // defined twice: the verifier reports it under its first name
    const std::string &hint = f.nameOf(op.result);
    std::string name;
    if (isIdentifier(hint)) {
      name = hint;
      for (int suffix = 1; used.count(name); ++suffix) name = fmt::format("{}.{}", hint, suffix);
    } else {
      name = std::to_string(next++);
    }
    used.insert(name);
    names_[op.result.id] = "%" + name;
  }
}

std::string printOp(const Function &f, const Op &op, const ValueNamer &names) {
  const OpDef &def = opDef(op.kind);
  std::string s = fmt::format("{} = {}", names(op.result), def.name);
  for (size_t i = 0; i < op.operands.size(); ++i) s += (i ? ", " : " ") + names(op.operands[i]);
  std::vector<std::string> attrs;
  for (const auto &[name, value] : op.attrs.entries()) {
    bool isDefault = false;
    for (const AttrSpec &spec : def.attrs)
      if (name == spec.name && spec.defaultValue && *spec.defaultValue == value) isDefault = true;
    if (!isDefault) attrs.push_back(fmt::format("{} = {}", name, attrValueStr(value)));
  }
  if (!attrs.empty()) s += fmt::format(" {{{}}}", fmt::join(attrs, ", "));
  return s + " : " + f.type(op.result).str();
}

std::string print(const Function &f) {
  ValueNamer names(f);
  std::string s = fmt::format("func @{}(", f.name);
  for (size_t i = 0; i < f.params.size(); ++i) {
    const Param &p = f.params[i];
    s += fmt::format("\n    {} {}: {}", roleName(p.role), names(p.value), f.type(p.value).str());
    if (p.dist) s += " ~ " + p.dist->str();
    if (i + 1 < f.params.size()) s += ",";
  }
  s += f.params.empty() ? ") -> (" : "\n) -> (";
  for (size_t i = 0; i < f.results.size(); ++i)
    s += fmt::format("{}{}: {}", i ? ", " : "", f.results[i].name, f.type(f.results[i].value).str());
  s += ") {\n";
  for (const Op &op : f.ops) s += "  " + printOp(f, op, names) + "\n";
  s += "  return";
  for (size_t i = 0; i < f.results.size(); ++i) s += (i ? ", " : " ") + names(f.results[i].value);
  return s + "\n}\n";
}

std::string print(const Module &m) {
  std::string s;
  if (!m.attrs.entries().empty()) {
    s += "module {\n";
    for (const auto &[name, value] : m.attrs.entries()) s += fmt::format("  {} = {}\n", name, attrValueStr(value));
    s += "}\n";
  }
  for (size_t i = 0; i < m.functions.size(); ++i) s += (i || !s.empty() ? "\n" : "") + print(m.functions[i]);
  return s;
}

}  // namespace gantry::ir
