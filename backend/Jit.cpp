// ORC LLJIT for the host CPU, with LLVM's O3 pipeline built from the host TargetMachine so the vectorizers know
// the real vector width (AVX-512 here). One JIT per process; each compiled function has its own resource
// tracker, so destroying it frees its code.
#include "backend/Jit.h"

#include <llvm/Analysis/CGSCCPassManager.h>
#include <llvm/Analysis/LoopAnalysisManager.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <stdexcept>

#include "backend/EmitLLVM.h"
#include "backend/Host.h"
#include "backend/Target.h"

namespace gantry::backend {
namespace {

[[noreturn]] void fail(llvm::Error e, const char *what) {
  std::string msg;
  llvm::raw_string_ostream os(msg);
  os << e;
  throw std::runtime_error(fmt::format("{}: {}", what, os.str()));
}

template <class T>
T check(llvm::Expected<T> v, const char *what) {
  if (!v) fail(v.takeError(), what);
  return std::move(*v);
}

llvm::orc::JITTargetMachineBuilder hostBuilder() {
  llvm::orc::JITTargetMachineBuilder jtmb = check(llvm::orc::JITTargetMachineBuilder::detectHost(), "detecting the host");
  jtmb.setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
  return jtmb;
}

// O3 with loop and SLP vectorization, for the host.
void optimize(llvm::Module &m, llvm::TargetMachine &tm) {
  llvm::PipelineTuningOptions tuning;
  tuning.LoopVectorization = true;
  tuning.SLPVectorization = true;
  llvm::PassBuilder pb(&tm, tuning);
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3).run(m, mam);
}

void initializeLlvm() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
  });
}

class Jit {
 public:
  static Jit &instance() {
    static Jit jit;
    return jit;
  }

  llvm::orc::LLJIT &lljit() { return *jit_; }
  std::mutex &mutex() { return mutex_; }
  std::string freshName() { return fmt::format("gantry_fn_{}", counter_++); }

 private:
  Jit() {
    initializeLlvm();
    llvm::orc::JITTargetMachineBuilder jtmb = hostBuilder();
    tm_ = check(jtmb.createTargetMachine(), "creating the target machine");
    jit_ = check(llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(jtmb).create(), "creating the JIT");
    // Symbols of this process (memcpy, powf) resolve for JIT code.
    jit_->getMainJITDylib().addGenerator(check(
        llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(jit_->getDataLayout().getGlobalPrefix()),
        "looking up process symbols"));
    llvm::TargetMachine *tm = tm_.get();
    jit_->getIRTransformLayer().setTransform(
        [tm](llvm::orc::ThreadSafeModule tsm, llvm::orc::MaterializationResponsibility &) -> llvm::Expected<llvm::orc::ThreadSafeModule> {
          tsm.withModuleDo([tm](llvm::Module &m) { optimize(m, *tm); });
          return tsm;
        });
  }

  std::unique_ptr<llvm::TargetMachine> tm_;
  std::unique_ptr<llvm::orc::LLJIT> jit_;
  std::mutex mutex_;
  std::atomic<int> counter_{0};
};

}  // namespace

void optimizeForHost(llvm::Module &m, llvm::TargetMachine &tm) { optimize(m, tm); }

std::unique_ptr<llvm::TargetMachine> hostTargetMachine(bool forObjectFile) {
  initializeLlvm();
  llvm::orc::JITTargetMachineBuilder jtmb = hostBuilder();
  if (forObjectFile) {
    // Position-independent, small code model: the object links into PIE executables and shared libraries.
    jtmb.setRelocationModel(llvm::Reloc::PIC_);
    jtmb.setCodeModel(llvm::CodeModel::Small);
  }
  return check(jtmb.createTargetMachine(), "creating the target machine");
}

CodegenTarget hostCodegenTarget() {
  static const CodegenTarget target = [] {
    HostTarget host = detectHost();
    return CodegenTarget{host.has("avx512f") ? 16 : host.has("avx2") || host.has("avx") ? 8 : 4};
  }();
  return target;
}

namespace {

// A standalone copy of the emitted module, prepared for the host (for printing IR and assembly).
struct HostModule {
  std::unique_ptr<llvm::LLVMContext> ctx = std::make_unique<llvm::LLVMContext>();
  std::unique_ptr<llvm::TargetMachine> tm;
  EmittedModule emitted;
};

HostModule hostModule(const ir::Function &f, bool optimized) {
  initializeLlvm();
  HostModule h;
  h.tm = check(hostBuilder().createTargetMachine(), "creating the target machine");
  h.emitted = emitFunction(f, *h.ctx, "gantry_" + f.name, hostCodegenTarget());
  h.emitted.module->setDataLayout(h.tm->createDataLayout());
  h.emitted.module->setTargetTriple(h.tm->getTargetTriple().str());
  if (optimized) optimize(*h.emitted.module, *h.tm);
  return h;
}

}  // namespace

struct CompiledFunction::Impl {
  ir::Function function;
  void (*entry)(float **, float *) = nullptr;
  std::vector<float> arena;
  llvm::orc::ResourceTrackerSP tracker;
  double seconds = 0;
  size_t bufferCount = 0;
};

CompiledFunction::CompiledFunction(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

CompiledFunction::~CompiledFunction() {
  if (impl_ && impl_->tracker) {
    std::lock_guard<std::mutex> lock(Jit::instance().mutex());
    llvm::consumeError(impl_->tracker->remove());
  }
}

const ir::Function &CompiledFunction::function() const { return impl_->function; }
double CompiledFunction::compileSeconds() const { return impl_->seconds; }
size_t CompiledFunction::arenaBytes() const { return impl_->arena.size() * sizeof(float); }

void CompiledFunction::run(float *const *buffers) { impl_->entry(const_cast<float **>(buffers), impl_->arena.data()); }

std::vector<ir::Tensor> CompiledFunction::run(std::span<const ir::Tensor> args) {
  const ir::Function &f = impl_->function;
  if (args.size() != f.params.size())
    throw std::invalid_argument(fmt::format("@{} takes {} arguments, {} given", f.name, f.params.size(), args.size()));
  std::vector<std::vector<float>> storage;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i].type != f.type(f.params[i].value))
      throw std::invalid_argument(fmt::format("argument {} of @{} must be {}, given {}", i, f.name, f.type(f.params[i].value).str(), args[i].type.str()));
    storage.emplace_back(args[i].data.begin(), args[i].data.end());
  }
  for (const ir::Result &r : f.results) storage.emplace_back(static_cast<size_t>(f.type(r.value).numElements()));
  std::vector<float *> buffers;
  for (std::vector<float> &s : storage) buffers.push_back(s.data());
  run(buffers.data());
  std::vector<ir::Tensor> out;
  for (size_t j = 0; j < f.results.size(); ++j) {
    const std::vector<float> &s = storage[args.size() + j];
    out.push_back({f.type(f.results[j].value), std::vector<double>(s.begin(), s.end())});
  }
  return out;
}

std::unique_ptr<CompiledFunction> compile(const ir::Function &f) {
  auto start = std::chrono::steady_clock::now();
  Jit &jit = Jit::instance();
  std::lock_guard<std::mutex> lock(jit.mutex());
  auto impl = std::make_unique<CompiledFunction::Impl>();
  impl->function = f;
  auto ctx = std::make_unique<llvm::LLVMContext>();
  EmittedModule emitted = emitFunction(f, *ctx, jit.freshName(), hostCodegenTarget());
  emitted.module->setDataLayout(jit.lljit().getDataLayout());
  emitted.module->setTargetTriple(jit.lljit().getTargetTriple().str());
  impl->arena.assign(std::max<size_t>(emitted.arenaFloats, 1), 0.0f);
  impl->tracker = jit.lljit().getMainJITDylib().createResourceTracker();
  if (llvm::Error e = jit.lljit().addIRModule(impl->tracker, llvm::orc::ThreadSafeModule(std::move(emitted.module), std::move(ctx))))
    fail(std::move(e), "adding the module to the JIT");
  llvm::orc::ExecutorAddr addr = check(jit.lljit().lookup(emitted.entry), "compiling");
  impl->entry = addr.toPtr<void (*)(float **, float *)>();
  impl->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return std::make_unique<CompiledFunction>(std::move(impl));
}

static std::string arenaSummary(const EmittedModule &e) {
  return fmt::format("arena {} bytes ({} without reuse)", e.arenaFloats * 4, e.naiveFloats * 4);
}

std::string llvmIr(const ir::Function &f, bool optimized) {
  HostModule h = hostModule(f, optimized);
  std::string out = fmt::format("; gantry @{}: {}\n", f.name, arenaSummary(h.emitted));
  llvm::raw_string_ostream os(out);
  h.emitted.module->print(os, nullptr);
  return os.str();
}

std::string assembly(const ir::Function &f) {
  HostModule h = hostModule(f, true);
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream os(buffer);
  llvm::legacy::PassManager pm;
  if (h.tm->addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::AssemblyFile))
    throw std::runtime_error("the target cannot emit assembly");
  pm.run(*h.emitted.module);
  return fmt::format("# gantry @{}: {}\n", f.name, arenaSummary(h.emitted)) + std::string(buffer.begin(), buffer.end());
}

}  // namespace gantry::backend
