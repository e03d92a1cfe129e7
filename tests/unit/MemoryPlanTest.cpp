// Memory planning: no two values that are live at once share arena memory, in-place reuse happens where it is
// safe, and reuse shrinks the arena on the example models.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "backend/MemoryPlan.h"
#include "frontend/Frontend.h"
#include "ir/Builder.h"
#include "passes/PassManager.h"
#include "support/Files.h"

using namespace gantry;

namespace {

// Checks the plan against liveness computed independently: for every pair of arena values whose lifetimes
// [definition, last use] intersect, their blocks are disjoint.
void checkNoOverlap(const ir::Function &f, const backend::MemoryPlan &plan) {
  const size_t n = f.ops.size();
  std::vector<size_t> def(f.values.size(), 0), last(f.values.size(), 0);
  for (size_t i = 0; i < n; ++i) {
    def[f.ops[i].result.id] = i;
    last[f.ops[i].result.id] = i;
  }
  for (size_t i = 0; i < n; ++i)
    for (ir::Value v : f.ops[i].operands) last[v.id] = std::max(last[v.id], i);
  for (const ir::Result &r : f.results) last[r.value.id] = n;
  auto size = [&](ir::Value v) { return static_cast<size_t>(f.type(v).numElements()); };
  size_t checked = 0;
  for (size_t i = 0; i < n; ++i) {
    ir::Value a = f.ops[i].result;
    const backend::Storage &sa = plan.storage[a.id];
    if (sa.kind != backend::Storage::Kind::Arena) continue;
    CHECK(sa.index % 16 == 0);
    CHECK(sa.index + size(a) <= plan.arenaFloats);
    for (size_t j = i + 1; j < n; ++j) {
      ir::Value b = f.ops[j].result;
      const backend::Storage &sb = plan.storage[b.id];
      if (sb.kind != backend::Storage::Kind::Arena) continue;
      // b is defined at j; a is live then if its last use is after j, or at j when b is not written in place.
      bool inPlace = sa.index == sb.index && last[a.id] == j && ir::opDef(f.ops[j].kind).cls != ir::OpClass::Structural;
      bool overlapLife = last[a.id] > j || (last[a.id] == j && !inPlace);
      bool overlapMem = sa.index < sb.index + size(b) && sb.index < sa.index + size(a);
      INFO("@" << f.name << ": ops " << i << " and " << j);
      CHECK_FALSE((overlapLife && overlapMem));
      ++checked;
    }
  }
  CHECK(checked > 0);
}

}  // namespace

TEST_CASE("planned arenas never overlap live values and shrink the examples", "[backend][memory]") {
  const char *testsDir = std::getenv("GANTRY_TESTS_DIR");
  REQUIRE(testsDir != nullptr);
  for (const char *name : {"ring8_unrolled", "custom_penalty_ring8", "wgan_gp_8gaussians"}) {
    std::string path = std::string(testsDir) + "/../examples/" + name + ".gan";
    ir::Module m = frontend::compile({path, readFile(path)}, {"train.batch=64"});
    passes::runPipeline(m, passes::parsePipeline("default"));
    for (const ir::Function &f : m.functions) {
      backend::MemoryPlan plan = backend::planMemory(f, std::vector<std::pair<size_t, size_t>>(f.ops.size(), {0, 0}));
      INFO(name << " @" << f.name);
      checkNoOverlap(f, plan);
      CHECK(plan.arenaFloats < plan.naiveFloats);
      for (size_t j = 0; j < f.results.size(); ++j)
        if (!plan.copyResult[j]) CHECK(plan.storage[f.results[j].value.id].kind == backend::Storage::Kind::Result);
    }
  }
}

TEST_CASE("elementwise chains run in place; results go straight to their buffers", "[backend][memory]") {
  ir::Function f;
  f.name = "chain";
  ir::Builder b(f);
  ir::Value x = b.param("x", ir::TensorType::f32({64}), ir::ParamRole::Input);
  ir::Value a = b.unary(ir::OpKind::Exp, x);
  ir::Value c = b.unary(ir::OpKind::Tanh, a);   // a dies here: c takes its block
  ir::Value d = b.unary(ir::OpKind::Neg, c);    // and d takes it again
  b.result("out", b.add(d, x));
  b.result("again", d);
  backend::MemoryPlan plan = backend::planMemory(f, std::vector<std::pair<size_t, size_t>>(f.ops.size(), {0, 0}));
  CHECK(plan.storage[a.id].kind == backend::Storage::Kind::Arena);
  CHECK(plan.storage[c.id].index == plan.storage[a.id].index);
  CHECK(plan.storage[d.id].kind == backend::Storage::Kind::Result);  // `again` is d
  CHECK(plan.storage[d.id].index == 1);
  CHECK(plan.arenaFloats == 64);
  CHECK(plan.naiveFloats == 4 * 64);
  CHECK(plan.copyResult == std::vector<bool>{false, false});
}
