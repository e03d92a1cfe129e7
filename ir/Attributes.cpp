#include "ir/Attributes.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace gantry::ir {

AttrKind kindOf(const AttrValue &v) { return static_cast<AttrKind>(v.index()); }

const char *attrKindName(AttrKind k) {
  switch (k) {
    case AttrKind::Int: return "integer";
    case AttrKind::Float: return "float";
    case AttrKind::Bool: return "bool";
    case AttrKind::Symbol: return "symbol";
    case AttrKind::Ints: return "integer list";
    case AttrKind::Floats: return "float list";
    case AttrKind::String: return "string";
  }
  return "?";
}

std::string formatFloat(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  std::string s = fmt::format("{}", v);  // shortest representation that round-trips
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

std::string quoteString(const std::string &v) {
  std::string s = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') s += '\\';
    if (c == '\n') {
      s += "\\n";
      continue;
    }
    s += c;
  }
  return s + "\"";
}

namespace {
struct ValuePrinter {
  std::string operator()(int64_t v) const { return std::to_string(v); }
  std::string operator()(double v) const { return formatFloat(v); }
  std::string operator()(bool v) const { return v ? "true" : "false"; }
  std::string operator()(const Symbol &v) const { return v.name; }
  std::string operator()(const std::vector<int64_t> &v) const { return fmt::format("[{}]", fmt::join(v, ", ")); }
  std::string operator()(const std::string &v) const { return quoteString(v); }
  std::string operator()(const std::vector<double> &v) const {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + formatFloat(v[i]);
    return s + "]";
  }
};
}  // namespace

std::string attrValueStr(const AttrValue &v) { return std::visit(ValuePrinter{}, v); }

Attrs::Attrs(std::initializer_list<std::pair<std::string, AttrValue>> init) {
  for (const auto &[name, value] : init) set(name, value);
}

void Attrs::set(const std::string &name, AttrValue v) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), name,
                             [](const auto &entry, const std::string &n) { return entry.first < n; });
  if (it != entries_.end() && it->first == name) {
    it->second = std::move(v);
  } else {
    entries_.insert(it, {name, std::move(v)});
  }
}

const AttrValue *Attrs::find(const std::string &name) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), name,
                             [](const auto &entry, const std::string &n) { return entry.first < n; });
  return it != entries_.end() && it->first == name ? &it->second : nullptr;
}

const AttrValue &Attrs::at(const std::string &name) const {
  const AttrValue *v = find(name);
  if (!v) throw std::logic_error("missing attribute '" + name + "'");
  return *v;
}

int64_t Attrs::getInt(const std::string &name) const { return std::get<int64_t>(at(name)); }
double Attrs::getFloat(const std::string &name) const { return std::get<double>(at(name)); }
bool Attrs::getBool(const std::string &name) const { return std::get<bool>(at(name)); }
const std::string &Attrs::getSymbol(const std::string &name) const { return std::get<Symbol>(at(name)).name; }
const std::vector<int64_t> &Attrs::getInts(const std::string &name) const {
  return std::get<std::vector<int64_t>>(at(name));
}
const std::string &Attrs::getString(const std::string &name) const { return std::get<std::string>(at(name)); }
const std::vector<double> &Attrs::getFloats(const std::string &name) const {
  return std::get<std::vector<double>>(at(name));
}

}  // namespace gantry::ir
