#include "passes/Fuse.h"

#include <algorithm>
#include <map>
#include <optional>

namespace gantry::passes {
namespace {

using ir::OpKind;

bool isReduction(OpKind k) { return k == OpKind::ReduceSum || k == OpKind::ReduceMean || k == OpKind::ReduceMax; }

bool isSplatConstant(const ir::Op &op) {
  return op.kind == OpKind::Constant && std::holds_alternative<double>(*op.attrs.find("value"));
}

// The iteration shape an op runs over if it can be in a group (its own shape), or nothing.
std::optional<ir::Shape> domainOf(const ir::Function &f, const ir::Op &op) {
  if (ir::opDef(op.kind).cls != ir::OpClass::Structural || op.kind == OpKind::Broadcast || isSplatConstant(op))
    return f.type(op.result).shape;
  return std::nullopt;
}

using Groups = std::vector<std::optional<int64_t>>;  // each op's group, by index; nothing for ops in none

// The groups of f's ops as they stand: maximal contiguous runs (the header's rule), numbered from 0.
Groups groupRuns(const ir::Function &f) {
  Groups after(f.ops.size());
  int64_t next = 0;
  size_t start = 0;  // first op of the current run
  std::optional<ir::Shape> domain;
  auto close = [&](size_t end) {  // ops [start, end) form a run
    if (end - start >= 2) {
      for (size_t i = start; i < end; ++i) after[i] = next;
      ++next;
    }
  };
  for (size_t i = 0; i < f.ops.size(); ++i) {
    const ir::Op &op = f.ops[i];
    std::optional<ir::Shape> own = domainOf(f, op);
    bool joins = domain && ((own && *own == *domain) || (isReduction(op.kind) && f.type(op.operands[0]).shape == *domain));
    // A broadcast of a value computed in the run would need that value at other indices: not inline.
    if (joins && op.kind == OpKind::Broadcast)
      for (size_t k = start; k < i; ++k) joins = joins && f.ops[k].result != op.operands[0];
    if (joins) {
      if (isReduction(op.kind)) {  // a reduction ends its run
        close(i + 1);
        domain.reset();
        start = i + 1;
      }
      continue;
    }
    close(i);
    start = i;
    domain = own;
    if (!domain) start = i + 1;
  }
  if (domain) close(f.ops.size());
  return after;
}

bool isCheap(const ir::Op &op) { return isSplatConstant(op) || op.kind == OpKind::Broadcast; }

// A splat constant or a broadcast read by ops of other groups than its own would be stored as a whole tensor
// for them (cse merges the zeros of every ReLU mask into one constant, and a layer's broadcast bias is shared
// by the forward passes of real and fake samples): each such group gets its own copy instead, placed right
// before the group's first op, where the next grouping takes it in. A producer left without readers is
// dropped. Returns whether anything was cloned.
bool cloneCheapProducers(ir::Function &f, const Groups &groups) {
  std::vector<int64_t> index(f.values.size(), -1);  // value id -> index of the op defining it
  for (size_t i = 0; i < f.ops.size(); ++i) index[f.ops[i].result.id] = static_cast<int64_t>(i);
  // For each group, the cheap producers (op indices, in order) it reads from outside.
  std::map<int64_t, std::vector<size_t>> wanted;
  for (size_t j = 0; j < f.ops.size(); ++j) {
    if (!groups[j]) continue;
    for (ir::Value v : f.ops[j].operands) {
      const int64_t i = index[v.id];
      if (i < 0 || !isCheap(f.ops[i]) || groups[i] == groups[j]) continue;
      std::vector<size_t> &list = wanted[*groups[j]];
      if (std::find(list.begin(), list.end(), static_cast<size_t>(i)) == list.end()) list.push_back(static_cast<size_t>(i));
    }
  }
  if (wanted.empty()) return false;

  std::vector<ir::Op> ops;
  ops.reserve(f.ops.size() + wanted.size());
  std::map<int64_t, std::map<int64_t, ir::Value>> copies;  // group -> original value id -> its copy
  for (size_t j = 0; j < f.ops.size(); ++j) {
    if (groups[j] && !copies.count(*groups[j])) {  // the group's first op: its copies go right before it
      std::map<int64_t, ir::Value> &mine = copies[*groups[j]];
      if (auto w = wanted.find(*groups[j]); w != wanted.end()) {
        std::vector<size_t> producers = w->second;
        std::sort(producers.begin(), producers.end());
        for (size_t i : producers) {
          ir::Op copy = f.ops[i];
          copy.result = f.newValue(f.type(f.ops[i].result));
          mine[f.ops[i].result.id] = copy.result;
          ops.push_back(copy);
        }
      }
    }
    ir::Op op = f.ops[j];
    if (groups[j])
      for (ir::Value &v : op.operands)
        if (auto c = copies[*groups[j]].find(v.id); c != copies[*groups[j]].end()) v = c->second;
    ops.push_back(op);
  }

  // Drop the producers nothing reads any more (results count as readers).
  std::vector<bool> read(f.values.size(), false);
  for (const ir::Op &op : ops)
    for (ir::Value v : op.operands) read[v.id] = true;
  for (const ir::Result &r : f.results) read[r.value.id] = true;
  std::vector<bool> cloned(f.values.size(), false);
  for (const auto &[group, list] : wanted)
    for (size_t i : list) cloned[f.ops[i].result.id] = true;
  std::erase_if(ops, [&](const ir::Op &op) { return cloned[op.result.id] && !read[op.result.id]; });
  f.ops = std::move(ops);
  return true;
}

}  // namespace

bool fuseElementwise(ir::Module &m) {
  bool changed = false;
  for (ir::Function &f : m.functions) {
    Groups before(f.ops.size());
    for (size_t i = 0; i < f.ops.size(); ++i)
      if (const ir::AttrValue *g = f.ops[i].attrs.find(ir::kFusionAttr)) before[i] = std::get<int64_t>(*g);
    Groups after = groupRuns(f);
    if (cloneCheapProducers(f, after)) {
      changed = true;
      after = groupRuns(f);
      before.assign(f.ops.size(), std::nullopt);
      for (size_t i = 0; i < f.ops.size(); ++i)
        if (const ir::AttrValue *g = f.ops[i].attrs.find(ir::kFusionAttr)) before[i] = std::get<int64_t>(*g);
    }

    for (size_t i = 0; i < f.ops.size(); ++i) {
      if (before[i] == after[i]) continue;
      changed = true;
      ir::Attrs attrs;
      for (const auto &[name, value] : f.ops[i].attrs.entries())
        if (name != ir::kFusionAttr) attrs.set(name, value);
      if (after[i]) attrs.set(ir::kFusionAttr, *after[i]);
      f.ops[i].attrs = attrs;
    }
  }
  return changed;
}

}  // namespace gantry::passes
