// Op attributes: compile-time constants attached to an op (`{axes = [0], transpose_b = true}`).
//
// Each op declares the attributes it takes, with their kinds and defaults, in the op table (ir/Ops.cpp); the
// builder and the parser fill in defaults, so every declared attribute is always present on an op, and the
// printer leaves out those equal to their default.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace gantry::ir {

enum class AttrKind : uint8_t { Int, Float, Bool, Symbol, Ints, Floats, String };

// A symbol is a bare identifier such as `gt`; strings (file paths, say) are written in double quotes.
struct Symbol {
  std::string name;
  bool operator==(const Symbol &) const = default;
};

using AttrValue = std::variant<int64_t, double, bool, Symbol, std::vector<int64_t>, std::vector<double>, std::string>;

AttrKind kindOf(const AttrValue &v);
const char *attrKindName(AttrKind k);

// Text form. Floats always carry a '.', an exponent, or are inf/nan, so they read back as floats; the digits are
// the shortest that round-trip exactly.
std::string attrValueStr(const AttrValue &v);
std::string formatFloat(double v);
std::string quoteString(const std::string &v);  // "..." with \\, \" and \n escaped

// Attributes of one op, sorted by name (so printing and comparison are canonical).
class Attrs {
 public:
  Attrs() = default;
  Attrs(std::initializer_list<std::pair<std::string, AttrValue>> init);

  void set(const std::string &name, AttrValue v);
  const AttrValue *find(const std::string &name) const;
  bool has(const std::string &name) const { return find(name) != nullptr; }

  // Typed accessors; the attribute must be present with that kind (guaranteed after verification).
  int64_t getInt(const std::string &name) const;
  double getFloat(const std::string &name) const;
  bool getBool(const std::string &name) const;
  const std::string &getSymbol(const std::string &name) const;
  const std::vector<int64_t> &getInts(const std::string &name) const;
  const std::vector<double> &getFloats(const std::string &name) const;
  const std::string &getString(const std::string &name) const;

  const std::vector<std::pair<std::string, AttrValue>> &entries() const { return entries_; }
  bool operator==(const Attrs &) const = default;

 private:
  const AttrValue &at(const std::string &name) const;
  std::vector<std::pair<std::string, AttrValue>> entries_;
};

}  // namespace gantry::ir
