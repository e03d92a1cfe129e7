#include "passes/Fuse.h"

#include <algorithm>
#include <functional>
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

// Values computed from broadcasts and splat constants alone (a broadcast, a splat constant, or an elementwise op
// whose operands are all such values: an outer product u v^T as mul(broadcast u, broadcast v)) cost an op or
// two per element to recompute, and a whole tensor written and read back to store.
// A value stays cheap while the ops it is computed from number at most kMaxCheapOps (counted along every path,
// so shared operands count more than once): a 4-term short contraction plus bias and ReLU is 18. The bound
// keeps copies linear in the program's size, whatever IR is given.
constexpr int64_t kMaxCheapOps = 24;

std::vector<bool> cheapOps(const ir::Function &f) {
  std::vector<int64_t> cost(f.values.size(), 0);  // 0: not a cheap value
  std::vector<bool> cheap(f.ops.size(), false);
  for (size_t i = 0; i < f.ops.size(); ++i) {
    const ir::Op &op = f.ops[i];
    int64_t c = isSplatConstant(op) || op.kind == OpKind::Broadcast ? 1 : 0;
    if (!c && ir::opDef(op.kind).cls != ir::OpClass::Structural && !op.operands.empty()) {
      c = 1;
      for (ir::Value v : op.operands) c = cost[v.id] == 0 ? 0 : c == 0 ? 0 : std::min(c + cost[v.id], kMaxCheapOps + 1);
    }
    if (c > kMaxCheapOps) c = 0;
    cost[op.result.id] = c;
    cheap[i] = c > 0;
  }
  return cheap;
}

// A cheap value (above) read by ops of other groups than its own would be stored as a whole tensor for them (cse
// merges the zeros of every ReLU mask into one constant, a layer's broadcast bias serves the forward passes of
// real and fake samples, and an outer product is often computed before a matmul that separates it from its
// reader): each such group gets its own copy of it, and of the cheap values it is computed from, placed right
// before the group's first op that reads it, where the next grouping takes it in. (Before the reader, not at
// the group's start: then a second run of the pipeline, whose cse merges the copies back, puts them where they
// were, and the pass stays idempotent.) A broadcast of the group reads its operand as it is: no copy for it.
// Producers and copies left without readers are dropped. Returns whether anything was cloned.
bool cloneCheapProducers(ir::Function &f, const Groups &groups) {
  const std::vector<bool> cheap = cheapOps(f);
  std::vector<int64_t> index(f.values.size(), -1);  // value id -> index of the op defining it
  for (size_t i = 0; i < f.ops.size(); ++i) index[f.ops[i].result.id] = static_cast<int64_t>(i);
  auto fromOutside = [&](size_t j, ir::Value v) {
    const int64_t i = index[v.id];
    return i >= 0 && cheap[i] && groups[i] != groups[j];
  };
  bool any = false;
  for (size_t j = 0; j < f.ops.size() && !any; ++j)
    if (groups[j] && f.ops[j].kind != OpKind::Broadcast)
      for (ir::Value v : f.ops[j].operands) any = any || fromOutside(j, v);
  if (!any) return false;

  std::vector<ir::Op> ops;
  ops.reserve(f.ops.size());
  // Groups are contiguous runs, so only the current group's copies are ever looked up: copyOf[id] is the copy of
  // value id made for the current group (invalid if none), reset when the next group starts.
  std::vector<ir::Value> copyOf(f.values.size());
  std::vector<uint32_t> copiedIds;
  std::optional<int64_t> current;
  std::vector<bool> droppable(f.values.size(), false);  // cloned originals and their copies
  auto remap = [&](ir::Op &op) {
    for (ir::Value &v : op.operands)
      if (v.id < copyOf.size() && copyOf[v.id].valid()) v = copyOf[v.id];
  };
  std::vector<size_t> needed, stack;
  for (size_t j = 0; j < f.ops.size(); ++j) {
    ir::Op op = f.ops[j];
    if (groups[j] != current) {
      for (uint32_t id : copiedIds) copyOf[id] = ir::Value{};
      copiedIds.clear();
      current = groups[j];
    }
    if (groups[j] && op.kind != OpKind::Broadcast) {
      // What this op needs copied that the group has no copy of yet: the cheap values it reads from outside,
      // and the cheap values those are computed from (a broadcast's operand is read as it is), in op order.
      needed.clear();
      stack.clear();
      for (ir::Value v : op.operands)
        if (fromOutside(j, v) && !copyOf[v.id].valid()) stack.push_back(static_cast<size_t>(index[v.id]));
      while (!stack.empty()) {
        const size_t i = stack.back();
        stack.pop_back();
        if (std::find(needed.begin(), needed.end(), i) != needed.end()) continue;
        needed.push_back(i);
        if (f.ops[i].kind == OpKind::Broadcast) continue;
        for (ir::Value v : f.ops[i].operands)
          if (!copyOf[v.id].valid()) stack.push_back(static_cast<size_t>(index[v.id]));
      }
      std::sort(needed.begin(), needed.end());
      for (size_t i : needed) {
        ir::Op copy = f.ops[i];
        remap(copy);
        const ir::Value original = f.ops[i].result;
        copy.result = f.newValue(f.type(original));
        copyOf.resize(f.values.size());
        droppable.resize(f.values.size(), false);
        copyOf[original.id] = copy.result;
        copiedIds.push_back(original.id);
        droppable[original.id] = droppable[copy.result.id] = true;
        ops.push_back(copy);
      }
      remap(op);
    }
    ops.push_back(op);
  }

  // Drop what nothing reads any more (results count as readers), readers first. (A group whose only reader of a
  // copy was itself cloned away leaves that copy unread.)
  std::vector<int> readers(f.values.size(), 0);
  for (const ir::Op &op : ops)
    for (ir::Value v : op.operands) ++readers[v.id];
  for (const ir::Result &r : f.results) ++readers[r.value.id];
  std::vector<bool> dropped(f.values.size(), false);
  for (auto op = ops.rbegin(); op != ops.rend(); ++op)
    if (droppable[op->result.id] && readers[op->result.id] == 0) {
      dropped[op->result.id] = true;
      for (ir::Value v : op->operands) --readers[v.id];
    }
  std::erase_if(ops, [&](const ir::Op &op) { return dropped[op.result.id]; });
  f.ops = std::move(ops);
  return true;
}

// Within each group, every cheap value goes right before its first reader in the group (its own cheap operands
// before it, in operand order); one the group never reads (a result, or read only by later ops) goes to the
// group's start. The order of a group's ops then depends only on its other ops, not on where cse left the
// cheap ones or which of them are copies: what makes a second run of the pipeline print the same IR.
void sinkCheapOps(ir::Function &f, const Groups &groups) {
  const std::vector<bool> cheap = cheapOps(f);
  std::vector<int64_t> index(f.values.size(), -1);
  for (size_t i = 0; i < f.ops.size(); ++i) index[f.ops[i].result.id] = static_cast<int64_t>(i);
  std::vector<ir::Op> ops;
  ops.reserve(f.ops.size());
  for (size_t start = 0; start < f.ops.size();) {
    size_t end = start + 1;
    if (!groups[start]) {
      ops.push_back(std::move(f.ops[start]));
      start = end;
      continue;
    }
    while (end < f.ops.size() && groups[end] == groups[start]) ++end;
    std::vector<bool> emitted(end - start, false), readInRun(end - start, false);
    auto inRun = [&](ir::Value v) {
      const int64_t i = index[v.id];
      return i >= static_cast<int64_t>(start) && i < static_cast<int64_t>(end) ? i : int64_t{-1};
    };
    for (size_t i = start; i < end; ++i)
      for (ir::Value v : f.ops[i].operands)
        if (int64_t d = inRun(v); d >= 0) readInRun[static_cast<size_t>(d) - start] = true;
    std::vector<size_t> run;  // the run's ops in their new order
    std::function<void(size_t)> emit = [&](size_t i) {
      if (emitted[i - start]) return;
      emitted[i - start] = true;
      for (ir::Value v : f.ops[i].operands)
        if (int64_t d = inRun(v); d >= 0 && cheap[static_cast<size_t>(d)]) emit(static_cast<size_t>(d));
      run.push_back(i);
    };
    for (size_t i = start; i < end; ++i)
      if (cheap[i] && !readInRun[i - start]) emit(i);
    for (size_t i = start; i < end; ++i)
      if (!cheap[i]) emit(i);
    for (size_t i = start; i < end; ++i) emit(i);  // cheap ops read only by cheap ops nothing else reads
    for (size_t i : run) ops.push_back(std::move(f.ops[i]));
    start = end;
  }
  f.ops = std::move(ops);
}

}  // namespace

bool fuseElementwise(ir::Module &m) {
  bool changed = false;
  for (ir::Function &f : m.functions) {
    std::vector<ir::Value> original;  // the op order before, by result
    original.reserve(f.ops.size());
    for (const ir::Op &op : f.ops) original.push_back(op.result);
    Groups after = groupRuns(f);
    if (cloneCheapProducers(f, after)) after = groupRuns(f);
    sinkCheapOps(f, after);
    bool reordered = f.ops.size() != original.size();
    for (size_t i = 0; i < f.ops.size() && !reordered; ++i) reordered = f.ops[i].result != original[i];
    changed = changed || reordered;
    Groups before(f.ops.size());
    for (size_t i = 0; i < f.ops.size(); ++i)
      if (const ir::AttrValue *g = f.ops[i].attrs.find(ir::kFusionAttr)) before[i] = std::get<int64_t>(*g);

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
