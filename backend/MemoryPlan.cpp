#include "backend/MemoryPlan.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>

namespace gantry::backend {
namespace {

constexpr size_t kAlign = 16;
size_t aligned(size_t floats) { return (std::max<size_t>(floats, 1) + kAlign - 1) / kAlign * kAlign; }

// Best-fit allocation of aligned blocks in one growing arena.
class Arena {
 public:
  size_t allocate(size_t size) {
    auto best = free_.end();
    for (auto it = free_.begin(); it != free_.end(); ++it)
      if (it->second >= size && (best == free_.end() || it->second < best->second)) best = it;
    if (best == free_.end()) {
      // Grow, absorbing a free block at the end of the arena.
      size_t offset = top_;
      if (!free_.empty() && std::prev(free_.end())->first + std::prev(free_.end())->second == top_) {
        offset = std::prev(free_.end())->first;
        free_.erase(std::prev(free_.end()));
      }
      top_ = offset + size;
      return offset;
    }
    size_t offset = best->first, rest = best->second - size;
    free_.erase(best);
    if (rest > 0) free_[offset + size] = rest;
    return offset;
  }

  void release(size_t offset, size_t size) {
    auto [it, inserted] = free_.insert({offset, size});
    // Merge with the neighbours.
    if (auto next = std::next(it); next != free_.end() && it->first + it->second == next->first) {
      it->second += next->second;
      free_.erase(next);
    }
    if (it != free_.begin()) {
      auto prev = std::prev(it);
      if (prev->first + prev->second == it->first) {
        prev->second += it->second;
        free_.erase(it);
      }
    }
  }

  size_t size() const { return top_; }

 private:
  std::map<size_t, size_t> free_;  // offset -> size
  size_t top_ = 0;
};

bool isElementwise(ir::OpKind k) { return ir::opDef(k).cls != ir::OpClass::Structural; }

std::optional<int64_t> groupOf(const ir::Op &op) {
  const ir::AttrValue *g = op.attrs.find(ir::kFusionAttr);
  if (!g) return std::nullopt;
  return std::get<int64_t>(*g);
}

}  // namespace

std::vector<Step> stepsOf(const ir::Function &f) {
  std::vector<Step> steps;
  for (size_t i = 0; i < f.ops.size();) {
    size_t end = i + 1;
    if (std::optional<int64_t> g = groupOf(f.ops[i]))
      while (end < f.ops.size() && groupOf(f.ops[end]) == g) ++end;
    steps.push_back({i, end});
    i = end;
  }
  return steps;
}

MemoryPlan planMemory(const ir::Function &f, const std::vector<PackRequest> &packs) {
  MemoryPlan plan;
  plan.storage.resize(f.values.size());
  plan.packA.assign(f.ops.size(), 0);
  plan.packB.assign(f.ops.size(), 0);
  const std::vector<Step> steps = stepsOf(f);
  const size_t end = steps.size();
  constexpr size_t kNever = SIZE_MAX;

  for (size_t i = 0; i < f.params.size(); ++i) plan.storage[f.params[i].value.id] = {Storage::Kind::Param, i};

  // The step of every op, the last step that reads each value (end for results, kNever for none), and whether a
  // value defined in a fusion group is read outside it.
  std::vector<size_t> stepOfOp(f.ops.size());
  for (size_t s = 0; s < steps.size(); ++s)
    for (size_t i = steps[s].begin; i < steps[s].end; ++i) stepOfOp[i] = s;
  std::vector<size_t> defStep(f.values.size(), kNever), lastUse(f.values.size(), kNever);
  for (size_t i = 0; i < f.ops.size(); ++i) defStep[f.ops[i].result.id] = stepOfOp[i];
  std::vector<bool> readOutside(f.values.size(), false);
  for (size_t i = 0; i < f.ops.size(); ++i)
    for (ir::Value v : f.ops[i].operands) {
      size_t s = stepOfOp[i];
      if (lastUse[v.id] == kNever || lastUse[v.id] < s) lastUse[v.id] = s;
      if (defStep[v.id] != s) readOutside[v.id] = true;
    }
  std::vector<bool> isParam(f.values.size(), false), inResult(f.values.size(), false);
  for (const ir::Param &p : f.params) isParam[p.value.id] = true;
  plan.copyResult.assign(f.results.size(), true);
  for (size_t j = 0; j < f.results.size(); ++j) {
    ir::Value v = f.results[j].value;
    lastUse[v.id] = end;
    readOutside[v.id] = true;
    if (!isParam[v.id] && !inResult[v.id]) {
      inResult[v.id] = true;
      plan.storage[v.id] = {Storage::Kind::Result, j};
      plan.copyResult[j] = false;
    }
  }

  // The step after which each packed B is released: its own matmul's, or the last matmul that reads it.
  std::vector<size_t> packBEnd(f.ops.size(), kNever);
  for (size_t i = 0; i < f.ops.size(); ++i) {
    if (packs[i].bFloats > 0) packBEnd[i] = stepOfOp[i];
    if (packs[i].bFrom != kNever) {
      const size_t from = packs[i].bFrom;
      if (from >= i || packs[from].bFloats == 0) throw std::logic_error("a matmul reads a packed B no earlier matmul made");
      packBEnd[from] = std::max(packBEnd[from], stepOfOp[i]);
    }
  }
  std::vector<std::vector<size_t>> packBReleasedAt(steps.size());
  for (size_t i = 0; i < f.ops.size(); ++i)
    if (packBEnd[i] != kNever) packBReleasedAt[packBEnd[i]].push_back(i);

  Arena arena;
  std::vector<size_t> sizeOf(f.values.size(), 0);
  std::vector<bool> inArena(f.values.size(), false);
  auto sizeOfValue = [&](ir::Value v) { return aligned(static_cast<size_t>(f.type(v).numElements())); };

  for (size_t s = 0; s < steps.size(); ++s) {
    const Step step = steps[s];
    // Inputs read here for the last time, in first-use order; those a group broadcasts cannot be overwritten.
    std::vector<ir::Value> dying;
    std::vector<bool> broadcastHere(f.values.size(), false);
    for (size_t i = step.begin; i < step.end; ++i)
      for (ir::Value v : f.ops[i].operands) {
        if (defStep[v.id] == s) continue;
        if (f.ops[i].kind == ir::OpKind::Broadcast) broadcastHere[v.id] = true;
        if (lastUse[v.id] == s && std::find(dying.begin(), dying.end(), v) == dying.end()) dying.push_back(v);
      }
    for (size_t i = step.begin; i < step.end; ++i) {
      if (packs[i].aFloats > 0) plan.packA[i] = arena.allocate(aligned(packs[i].aFloats));
      if (packs[i].bFloats > 0) plan.packB[i] = arena.allocate(aligned(packs[i].bFloats));
      if (packs[i].bFrom != kNever) plan.packB[i] = plan.packB[packs[i].bFrom];
      plan.naiveFloats += (packs[i].aFloats > 0 ? aligned(packs[i].aFloats) : 0) + (packs[i].bFloats > 0 ? aligned(packs[i].bFloats) : 0);
    }
    // The step's outputs: every op result of a single-op step, the values read outside a group.
    for (size_t i = step.begin; i < step.end; ++i) {
      const ir::Op &op = f.ops[i];
      const size_t size = sizeOfValue(op.result);
      plan.naiveFloats += size;
      if (step.fused() && !readOutside[op.result.id]) continue;  // lives in registers: Storage::Kind::None
      if (plan.storage[op.result.id].kind == Storage::Kind::Result) continue;
      bool placed = false;
      if (isElementwise(op.kind) || (step.fused() && op.kind != ir::OpKind::ReduceSum && op.kind != ir::OpKind::ReduceMean &&
                                     op.kind != ir::OpKind::ReduceMax)) {
        for (ir::Value v : dying) {
          if (inArena[v.id] && sizeOf[v.id] == size && !broadcastHere[v.id]) {
            plan.storage[op.result.id] = {Storage::Kind::Arena, plan.storage[v.id].index};
            inArena[v.id] = false;  // the block passes to the output
            placed = true;
            break;
          }
        }
      }
      if (!placed) plan.storage[op.result.id] = {Storage::Kind::Arena, arena.allocate(size)};
      inArena[op.result.id] = true;
      sizeOf[op.result.id] = size;
    }
    for (size_t i = step.begin; i < step.end; ++i)
      if (packs[i].aFloats > 0) arena.release(plan.packA[i], aligned(packs[i].aFloats));
    for (size_t i : packBReleasedAt[s]) arena.release(plan.packB[i], aligned(packs[i].bFloats));
    for (ir::Value v : dying)
      if (inArena[v.id]) {
        arena.release(plan.storage[v.id].index, sizeOf[v.id]);
        inArena[v.id] = false;
      }
    // Outputs nothing reads die where they are born.
    for (size_t i = step.begin; i < step.end; ++i) {
      ir::Value v = f.ops[i].result;
      if (lastUse[v.id] == kNever && inArena[v.id]) {
        arena.release(plan.storage[v.id].index, sizeOf[v.id]);
        inArena[v.id] = false;
      }
    }
  }
  plan.arenaFloats = arena.size();
  return plan;
}

}  // namespace gantry::backend
