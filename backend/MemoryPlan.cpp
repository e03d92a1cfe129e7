#include "backend/MemoryPlan.h"

#include <algorithm>
#include <cstdint>
#include <map>

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

}  // namespace

MemoryPlan planMemory(const ir::Function &f, const std::vector<std::pair<size_t, size_t>> &packFloats) {
  MemoryPlan plan;
  plan.storage.resize(f.values.size());
  plan.packA.assign(f.ops.size(), 0);
  plan.packB.assign(f.ops.size(), 0);
  const size_t end = f.ops.size();

  for (size_t i = 0; i < f.params.size(); ++i) plan.storage[f.params[i].value.id] = {Storage::Kind::Param, i};

  // Last use of every value (end for results, kNever for none), and which values go straight to a result buffer.
  constexpr size_t kNever = SIZE_MAX;
  std::vector<size_t> lastUse(f.values.size(), kNever);
  for (size_t i = 0; i < f.ops.size(); ++i)
    for (ir::Value v : f.ops[i].operands) lastUse[v.id] = i;
  std::vector<bool> isParam(f.values.size(), false), inResult(f.values.size(), false);
  for (const ir::Param &p : f.params) isParam[p.value.id] = true;
  plan.copyResult.assign(f.results.size(), true);
  for (size_t j = 0; j < f.results.size(); ++j) {
    ir::Value v = f.results[j].value;
    lastUse[v.id] = end;
    if (!isParam[v.id] && !inResult[v.id]) {
      inResult[v.id] = true;
      plan.storage[v.id] = {Storage::Kind::Result, j};
      plan.copyResult[j] = false;
    }
  }
  Arena arena;
  std::vector<size_t> sizeOf(f.values.size(), 0);
  std::vector<bool> inArena(f.values.size(), false);
  std::vector<std::vector<ir::Value>> dyingAt(f.ops.size());
  for (const ir::Op &op : f.ops)
    for (ir::Value v : op.operands)
      if (lastUse[v.id] < end) {
        std::vector<ir::Value> &dying = dyingAt[lastUse[v.id]];
        if (std::find(dying.begin(), dying.end(), v) == dying.end()) dying.push_back(v);
      }

  for (size_t i = 0; i < f.ops.size(); ++i) {
    const ir::Op &op = f.ops[i];
    const size_t size = aligned(static_cast<size_t>(f.type(op.result).numElements()));
    plan.naiveFloats += size;
    if (packFloats[i].first + packFloats[i].second > 0) {
      plan.packA[i] = arena.allocate(aligned(packFloats[i].first));
      plan.packB[i] = arena.allocate(aligned(packFloats[i].second));
      plan.naiveFloats += aligned(packFloats[i].first) + aligned(packFloats[i].second);
    }
    if (plan.storage[op.result.id].kind != Storage::Kind::Result) {
      // In place over an operand that dies here, for ops that read element i only to write element i.
      bool placed = false;
      if (isElementwise(op.kind)) {
        for (ir::Value v : dyingAt[i]) {
          if (inArena[v.id] && sizeOf[v.id] == size) {
            plan.storage[op.result.id] = {Storage::Kind::Arena, plan.storage[v.id].index};
            inArena[v.id] = false;  // ownership of the block passes to the result
            placed = true;
            break;
          }
        }
      }
      if (!placed) plan.storage[op.result.id] = {Storage::Kind::Arena, arena.allocate(size)};
      inArena[op.result.id] = true;
      sizeOf[op.result.id] = size;
    }
    if (packFloats[i].first + packFloats[i].second > 0) {
      arena.release(plan.packA[i], aligned(packFloats[i].first));
      arena.release(plan.packB[i], aligned(packFloats[i].second));
    }
    for (ir::Value v : dyingAt[i])
      if (inArena[v.id]) {
        arena.release(plan.storage[v.id].index, sizeOf[v.id]);
        inArena[v.id] = false;
      }
    // A value no op reads and no result returns dies where it is born.
    if (lastUse[op.result.id] == kNever && inArena[op.result.id]) {
      arena.release(plan.storage[op.result.id].index, size);
      inArena[op.result.id] = false;
    }
  }
  plan.arenaFloats = arena.size();
  return plan;
}

}  // namespace gantry::backend
