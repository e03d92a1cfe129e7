#include "passes/Cse.h"

#include <algorithm>
#include <charconv>
#include <string>
#include <vector>
#include <unordered_map>

#include "passes/Rewriter.h"

namespace gantry::passes {
namespace {

bool commutes(ir::OpKind k) {
  return k == ir::OpKind::Add || k == ir::OpKind::Mul || k == ir::OpKind::Max || k == ir::OpKind::Min;
}

// A canonical text for an op of the new function: kind, operand ids (sorted for commutative ops, so x + y and
// y + x meet), every attribute, result type. Built by appending into one reused buffer (no formatting calls):
// cse runs on every op of a step several times, and its keys were most of its time. `key` and `ids` are
// scratch the caller reuses.
void keyOf(const ir::Function &f, const ir::Op &op, std::string &key, std::vector<uint32_t> &ids) {
  key.assign(ir::opName(op.kind));
  ids.clear();
  for (ir::Value v : op.operands) ids.push_back(v.id);
  if (commutes(op.kind)) std::sort(ids.begin(), ids.end());
  char digits[16];
  for (uint32_t id : ids) {
    key += " %";
    key.append(digits, std::to_chars(digits, digits + sizeof digits, id).ptr);
  }
  for (const auto &[name, value] : op.attrs.entries()) {
    key += ' ';
    key += name;
    key += '=';
    key += ir::attrValueStr(value);
  }
  key += " : ";
  const ir::TensorType &t = f.type(op.result);
  key += t.dtype == ir::DType::F32 ? "f32[" : "i1[";
  for (size_t i = 0; i < t.shape.size(); ++i) {
    if (i) key += ',';
    key.append(digits, std::to_chars(digits, digits + sizeof digits, t.shape[i]).ptr);
  }
  key += ']';
}

}  // namespace

bool eliminateCommonSubexpressions(ir::Module &m) {
  bool changed = false;
  for (ir::Function &f : m.functions) {
    Rewriter rw(f);
    std::unordered_map<std::string, ir::Value> seen;
    seen.reserve(f.ops.size());
    std::string key;
    std::vector<uint32_t> ids;
    for (const ir::Op &op : f.ops) {
      ir::Value v = rw.copy(op);
      const ir::Function &now = rw.function();
      keyOf(now, now.ops.back(), key, ids);
      auto [it, fresh] = seen.try_emplace(key, v);
      if (!fresh) {
        rw.set(op.result, it->second);
        changed = true;
      }
    }
    f = rw.finish();
  }
  return changed;
}

}  // namespace gantry::passes
