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

// Checks the plan against liveness computed independently, in steps (one op, or one fusion group): two arena
// values may share memory only if one is dead by the time the other is born, or dies in the very step the
// other is born in (written in place, which the backend makes safe by storing a step's outputs last).
void checkNoOverlap(const ir::Function &f, const backend::MemoryPlan &plan) {
  std::vector<backend::Step> steps = backend::stepsOf(f);
  std::vector<size_t> stepOf(f.ops.size());
  for (size_t s = 0; s < steps.size(); ++s)
    for (size_t i = steps[s].begin; i < steps[s].end; ++i) stepOf[i] = s;
  std::vector<size_t> def(f.values.size(), 0), last(f.values.size(), 0);
  for (size_t i = 0; i < f.ops.size(); ++i) def[f.ops[i].result.id] = last[f.ops[i].result.id] = stepOf[i];
  for (size_t i = 0; i < f.ops.size(); ++i)
    for (ir::Value v : f.ops[i].operands) last[v.id] = std::max(last[v.id], stepOf[i]);
  for (const ir::Result &r : f.results) last[r.value.id] = steps.size();
  auto size = [&](ir::Value v) { return static_cast<size_t>(f.type(v).numElements()); };
  std::vector<ir::Value> arenaValues;
  for (const ir::Op &op : f.ops) {
    const backend::Storage &st = plan.storage[op.result.id];
    if (st.kind != backend::Storage::Kind::Arena) continue;
    CHECK(st.index % 16 == 0);
    CHECK(st.index + size(op.result) <= plan.arenaFloats);
    arenaValues.push_back(op.result);
  }
  size_t checked = 0;
  for (size_t i = 0; i < arenaValues.size(); ++i)
    for (size_t j = i + 1; j < arenaValues.size(); ++j) {
      ir::Value a = arenaValues[i], b = arenaValues[j];  // a is born no later than b
      const backend::Storage &sa = plan.storage[a.id], &sb = plan.storage[b.id];
      bool sharesMemory = sa.index < sb.index + size(b) && sb.index < sa.index + size(a);
      bool bothLive = last[a.id] > def[b.id] || (def[a.id] == def[b.id]);
      INFO("@" << f.name << ": values %" << a.id << " and %" << b.id);
      CHECK_FALSE((sharesMemory && bothLive));
      ++checked;
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
      backend::MemoryPlan plan = backend::planMemory(f, std::vector<backend::PackRequest>(f.ops.size()));
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
  backend::MemoryPlan plan = backend::planMemory(f, std::vector<backend::PackRequest>(f.ops.size()));
  CHECK(plan.storage[a.id].kind == backend::Storage::Kind::Arena);
  CHECK(plan.storage[c.id].index == plan.storage[a.id].index);
  CHECK(plan.storage[d.id].kind == backend::Storage::Kind::Result);  // `again` is d
  CHECK(plan.storage[d.id].index == 1);
  CHECK(plan.arenaFloats == 64);
  CHECK(plan.naiveFloats == 4 * 64);
  CHECK(plan.copyResult == std::vector<bool>{false, false});
}
