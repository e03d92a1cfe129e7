// ORC LLJIT for the host CPU, with LLVM's O2 pipeline built from the host TargetMachine so the vectorizers know
// the real vector width (AVX-512 here). One JIT per process; each compiled function has its own resource
// tracker, so destroying it frees its code.
#include "backend/Jit.h"

#include <link.h>
#include <unistd.h>

#include <fstream>

#include <llvm/Analysis/CGSCCPassManager.h>
#include <llvm/Analysis/LoopAnalysisManager.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>
#include <llvm/Config/llvm-config.h>
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
#include <cstring>
#include <mutex>
#include <stdexcept>

#include "backend/EmitLLVM.h"
#include "backend/AmxKernels.h"
#include "backend/Cache.h"
#include "backend/Host.h"
#include "backend/ThreadPool.h"
#include "gantry_config.h"
#include "ir/Printer.h"
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

// O2 with loop vectorization, for the host: O3 adds 25% to the compile time of an unrolled step and nothing to
// its speed (bench/steps.py; the kernels are simple loop nests). Not SLP: the emitter writes its own vector code where it matters
// (matmul tiles, elementwise loops are vectorized by the loop vectorizer), and SLP took 45% of the compile time
// of an unrolled step (1.8 s instead of 3.2 s for ring8 with K = 10) for no measurable speed (bench/steps.py).
void optimize(llvm::Module &m, llvm::TargetMachine &tm) {
  llvm::PipelineTuningOptions tuning;
  tuning.LoopVectorization = true;
  tuning.SLPVectorization = false;
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
  pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O2).run(m, mam);
}

void initializeLlvm() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
  });
}

// One LLJIT per process. Each compiled function is an object file (from the cache or freshly compiled) loaded
// into a JITDylib of its own, so every object can use the same entry name and a cached object loads as is;
// destroying the function removes its JITDylib and frees the code.
class Jit {
 public:
  static Jit &instance() {
    static Jit jit;
    return jit;
  }

  std::mutex &mutex() { return mutex_; }

  // Loads an object file and returns its JITDylib and the address of `entry` in it.
  std::pair<llvm::orc::JITDylib *, void *> load(const std::string &object, const std::string &entry) {
    llvm::Expected<llvm::orc::JITDylib &> created = jit_->createJITDylib(fmt::format("gantry.{}", counter_++));
    if (!created) fail(created.takeError(), "creating a JITDylib");
    llvm::orc::JITDylib &jd = *created;
    // Symbols of this process (memcpy, memset, powf) resolve for JIT code.
    jd.addGenerator(check(llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(jit_->getDataLayout().getGlobalPrefix()),
                          "looking up process symbols"));
    // The runtime helper compiled code calls for threads.
    llvm::orc::SymbolMap helpers;
    helpers[jit_->mangleAndIntern("gantry_parallel_for")] = {llvm::orc::ExecutorAddr::fromPtr(&gantry_parallel_for), llvm::JITSymbolFlags::Exported};
    helpers[jit_->mangleAndIntern("gantry_amx_pack_a")] = {llvm::orc::ExecutorAddr::fromPtr(&gantry_amx_pack_a), llvm::JITSymbolFlags::Exported};
    helpers[jit_->mangleAndIntern("gantry_amx_pack_b")] = {llvm::orc::ExecutorAddr::fromPtr(&gantry_amx_pack_b), llvm::JITSymbolFlags::Exported};
    helpers[jit_->mangleAndIntern("gantry_amx_product")] = {llvm::orc::ExecutorAddr::fromPtr(&gantry_amx_product), llvm::JITSymbolFlags::Exported};
    if (llvm::Error e = jd.define(llvm::orc::absoluteSymbols(std::move(helpers)))) fail(std::move(e), "defining runtime helpers");
    if (llvm::Error e = jit_->addObjectFile(jd, llvm::MemoryBuffer::getMemBufferCopy(object))) fail(std::move(e), "loading the object");
    llvm::orc::ExecutorAddr addr = check(jit_->lookup(jd, entry), "linking the compiled function");
    return {&jd, addr.toPtr<void *>()};
  }

  void unload(llvm::orc::JITDylib *jd) { llvm::consumeError(jit_->getExecutionSession().removeJITDylib(*jd)); }

 private:
  Jit() {
    initializeLlvm();
    jit_ = check(llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(hostBuilder()).create(), "creating the JIT");
  }

  std::unique_ptr<llvm::orc::LLJIT> jit_;
  std::mutex mutex_;
  int counter_ = 0;
};

// Code generation to an object file's bytes.
std::string objectCode(llvm::Module &m, llvm::TargetMachine &tm) {
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream os(buffer);
  llvm::legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::ObjectFile))
    throw std::runtime_error("the target cannot emit object files");
  pm.run(m);
  return std::string(buffer.begin(), buffer.end());
}

// The GNU build ID of the binary this code is linked into (hex), or "" when it has none. Every rebuild of
// Gantry changes it, so a cache key that includes it can stand for Gantry's code generation itself.
std::string buildId() {
  static const std::string id = [] {
    struct Search {
      uintptr_t address;
      std::string found;
    } search{reinterpret_cast<uintptr_t>(&buildId), {}};
    dl_iterate_phdr(
        [](dl_phdr_info *info, size_t, void *data) -> int {
          auto &s = *static_cast<Search *>(data);
          bool contains = false;
          for (int i = 0; i < info->dlpi_phnum; ++i) {
            const ElfW(Phdr) &ph = info->dlpi_phdr[i];
            const uintptr_t start = info->dlpi_addr + ph.p_vaddr;
            contains = contains || (ph.p_type == PT_LOAD && s.address >= start && s.address < start + ph.p_memsz);
          }
          if (!contains) return 0;
          for (int i = 0; i < info->dlpi_phnum; ++i) {
            const ElfW(Phdr) &ph = info->dlpi_phdr[i];
            if (ph.p_type != PT_NOTE) continue;
            const auto *p = reinterpret_cast<const unsigned char *>(info->dlpi_addr + ph.p_vaddr), *end = p + ph.p_memsz;
            while (p + sizeof(ElfW(Nhdr)) <= end) {
              const auto *note = reinterpret_cast<const ElfW(Nhdr) *>(p);
              const unsigned char *name = p + sizeof(ElfW(Nhdr)), *desc = name + ((note->n_namesz + 3) & ~3u);
              if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 && std::memcmp(name, "GNU", 4) == 0 && desc + note->n_descsz <= end) {
                for (size_t b = 0; b < note->n_descsz; ++b) s.found += fmt::format("{:02x}", desc[b]);
                return 1;
              }
              p = desc + ((note->n_descsz + 3) & ~3u);
            }
          }
          return 1;
        },
        &search);
    return search.found;
  }();
  return id;
}

// A key that needs no code generation, for a cache hit that skips it: the function's Gantry IR text, the build
// of Gantry (standing for its code generation), the vector width and threading it emits for, LLVM and the CPU.
// Empty when the binary has no build ID: then only cacheKey (the emitted LLVM IR) is safe.
std::string quickCacheKey(const ir::Function &f, const CodegenTarget &target, llvm::TargetMachine &tm) {
  if (buildId().empty()) return {};
  return fmt::format("gantry {} build {} / width {} parallel {} amx {} from {} / LLVM {} O2 / {} {} {}\n{}", GANTRY_VERSION, buildId(),
                     target.vectorWidth, target.parallel, target.amx, target.amxMinMacs, LLVM_VERSION_STRING, tm.getTargetTriple().str(), tm.getTargetCPU().str(),
                     tm.getTargetFeatureString().str(), ir::print(f));
}

// Everything the machine code depends on: the emitted (unoptimised) LLVM IR — so any change to the IR, the
// shapes, or Gantry's code generation itself misses — the optimisation pipeline's LLVM version, and the CPU.
std::string cacheKey(const llvm::Module &emitted, llvm::TargetMachine &tm) {
  std::string text;
  llvm::raw_string_ostream os(text);
  emitted.print(os, nullptr);
  return fmt::format("gantry {} / LLVM {} O2 / {} {} {}\n{}", GANTRY_VERSION, LLVM_VERSION_STRING, tm.getTargetTriple().str(),
                     tm.getTargetCPU().str(), tm.getTargetFeatureString().str(), os.str());
}

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

CodegenTarget hostCodegenTarget(bool parallel) {
  static const int width = [] {
    HostTarget host = detectHost();
    return host.has("avx512f") ? 16 : host.has("avx2") || host.has("avx") ? 8 : 4;
  }();
  return CodegenTarget{width, parallel, amxEnabled()};
}

namespace {

// A standalone copy of the emitted module, prepared for the host (for printing IR and assembly).
struct HostModule {
  std::unique_ptr<llvm::LLVMContext> ctx = std::make_unique<llvm::LLVMContext>();
  std::unique_ptr<llvm::TargetMachine> tm;
  EmittedModule emitted;
};

// The target compile() generates code for, given its options.
CodegenTarget targetFor(const CompileOptions &options) {
  CodegenTarget target = hostCodegenTarget(true);
  if (options.vectorWidth != 0) target.vectorWidth = options.vectorWidth;
  if (!options.amx || target.vectorWidth < 16) target.amx = false;  // hosts with narrower vectors have no AMX
  if (options.amxMinMacs >= 0) target.amxMinMacs = options.amxMinMacs;
  return target;
}

HostModule hostModule(const ir::Function &f, bool optimized, const CompileOptions &options) {
  initializeLlvm();
  HostModule h;
  h.tm = check(hostBuilder().createTargetMachine(), "creating the target machine");
  h.emitted = emitFunction(f, *h.ctx, "gantry_" + f.name, targetFor(options));
  h.emitted.module->setDataLayout(h.tm->createDataLayout());
  h.emitted.module->setTargetTriple(h.tm->getTargetTriple().str());
  if (optimized) optimize(*h.emitted.module, *h.tm);
  return h;
}

}  // namespace

struct CompiledFunction::Impl {
  ir::Function function;
  void (*entry)(float **, float *) = nullptr;
  std::unique_ptr<float[], void (*)(void *)> arena{nullptr, std::free};
  size_t arenaFloats = 0;
  llvm::orc::JITDylib *jd = nullptr;
  double seconds = 0;
  bool fromCache = false;
};

CompiledFunction::CompiledFunction(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

CompiledFunction::~CompiledFunction() {
  if (impl_ && impl_->jd) {
    Jit &jit = Jit::instance();
    std::lock_guard<std::mutex> lock(jit.mutex());
    jit.unload(impl_->jd);
  }
}

const ir::Function &CompiledFunction::function() const { return impl_->function; }
double CompiledFunction::compileSeconds() const { return impl_->seconds; }
bool CompiledFunction::fromCache() const { return impl_->fromCache; }
size_t CompiledFunction::arenaBytes() const { return impl_->arenaFloats * sizeof(float); }

// UBSan's -fsanitize=function checks an indirect call by reading a type signature placed just before the callee;
// JIT-compiled code has none (its entry may start a page), so the check is off for this one call.
#if defined(__clang__)
__attribute__((no_sanitize("function")))
#endif
void CompiledFunction::run(float *const *buffers) {
  impl_->entry(const_cast<float **>(buffers), impl_->arena.get());
}

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

size_t availableMemoryBytes() {
  size_t available = SIZE_MAX;
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  size_t kib = 0;
  std::string unit;
  while (meminfo >> key >> kib >> unit)
    if (key == "MemAvailable:") available = kib * 1024;
  // cgroup v2: the container's limit minus what it already uses.
  std::ifstream maxFile("/sys/fs/cgroup/memory.max"), currentFile("/sys/fs/cgroup/memory.current");
  std::string max;
  size_t current = 0;
  if (maxFile >> max && max != "max" && currentFile >> current) {
    const size_t limit = std::stoull(max);
    available = std::min(available, limit > current ? limit - current : 0);
  }
  if (available == SIZE_MAX) available = static_cast<size_t>(::sysconf(_SC_AVPHYS_PAGES)) * static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  return available;
}

namespace {

std::string bytesText(double bytes) {
  const char *units[] = {"bytes", "KB", "MB", "GB", "TB", "PB"};
  int u = 0;
  while (bytes >= 1000 && u < 5) {
    bytes /= 1000;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} bytes", bytes) : fmt::format("{:.1f} {}", bytes, units[u]);
}

// Refuses a function that cannot fit before its arena, or the caller's buffers, are allocated.
void checkMemory(const ir::Function &f, size_t arenaFloats) {
  double buffers = 0;
  for (const ir::Param &p : f.params) buffers += static_cast<double>(f.type(p.value).numElements());
  for (const ir::Result &r : f.results) buffers += static_cast<double>(f.type(r.value).numElements());
  const double arena = static_cast<double>(arenaFloats) * sizeof(float), io = buffers * sizeof(float);
  const double available = static_cast<double>(availableMemoryBytes());
  if (arena + io > available)
    throw ResourceError(fmt::format("@{} needs {} of memory ({} of working memory, {} of parameters and results); {} is available",
                                    f.name, bytesText(arena + io), bytesText(arena), bytesText(io), bytesText(available)));
}

}  // namespace

std::unique_ptr<CompiledFunction> compile(const ir::Function &f, const CompileOptions &options) {
  constexpr const char *kEntry = "gantry_entry";
  auto start = std::chrono::steady_clock::now();
  Jit &jit = Jit::instance();
  auto impl = std::make_unique<CompiledFunction::Impl>();
  impl->function = f;
  // A target machine and a context of its own: functions compile concurrently (the trainer compiles G's sampler
  // while it compiles the step); only loading into the shared JIT takes the lock.
  std::unique_ptr<llvm::TargetMachine> ownTm = hostTargetMachine(true);
  llvm::TargetMachine &tm = *ownTm;
  CompileCache cache(options.useCache ? (options.cacheDirectory.empty() ? CompileCache::defaultDirectory() : options.cacheDirectory) : "");
  const CodegenTarget target = targetFor(options);
  // A hit on the quick key skips code generation altogether (a cached unrolled step loads in a few ms instead of
  // ~30); otherwise emit, and key on the emitted LLVM IR when the binary has no build ID.
  const std::string quickKey = options.useCache ? quickCacheKey(f, target, tm) : std::string();
  std::optional<CachedObject> entry;
  if (!quickKey.empty()) entry = cache.load(quickKey);
  impl->fromCache = entry.has_value();
  if (!entry) {
    llvm::LLVMContext ctx;
    EmittedModule emitted = emitFunction(f, ctx, kEntry, target);
    checkMemory(f, emitted.arenaFloats);
    emitted.module->setDataLayout(tm.createDataLayout());
    emitted.module->setTargetTriple(tm.getTargetTriple().str());
    const std::string key = quickKey.empty() ? cacheKey(*emitted.module, tm) : quickKey;
    if (quickKey.empty()) entry = cache.load(key);
    impl->fromCache = entry.has_value();
    if (!entry) {
      optimize(*emitted.module, tm);
      entry = CachedObject{objectCode(*emitted.module, tm), emitted.arenaFloats};
      cache.store(key, *entry);
    }
  } else {
    checkMemory(f, entry->arenaFloats);
  }
  impl->arenaFloats = std::max<size_t>(entry->arenaFloats, 1);
  // 64-byte aligned, as the plan's offsets assume (one cache line, one zmm register).
  size_t bytes = (impl->arenaFloats * sizeof(float) + 63) / 64 * 64;
  impl->arena.reset(static_cast<float *>(std::aligned_alloc(64, bytes)));
  if (!impl->arena) throw std::bad_alloc();
  std::lock_guard<std::mutex> lock(jit.mutex());
  auto [jd, address] = jit.load(entry->object, kEntry);
  impl->jd = jd;
  impl->entry = reinterpret_cast<void (*)(float **, float *)>(address);
  impl->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return std::make_unique<CompiledFunction>(std::move(impl));
}

static std::string arenaSummary(const EmittedModule &e) {
  return fmt::format("arena {} bytes ({} without reuse)", e.arenaFloats * 4, e.naiveFloats * 4);
}

std::string llvmIr(const ir::Function &f, bool optimized, const CompileOptions &options) {
  HostModule h = hostModule(f, optimized, options);
  std::string out = fmt::format("; gantry @{}: {}\n", f.name, arenaSummary(h.emitted));
  llvm::raw_string_ostream os(out);
  h.emitted.module->print(os, nullptr);
  return os.str();
}

std::string assembly(const ir::Function &f, const CompileOptions &options) {
  HostModule h = hostModule(f, true, options);
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream os(buffer);
  llvm::legacy::PassManager pm;
  if (h.tm->addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::AssemblyFile))
    throw std::runtime_error("the target cannot emit assembly");
  pm.run(*h.emitted.module);
  return fmt::format("# gantry @{}: {}\n", f.name, arenaSummary(h.emitted)) + std::string(buffer.begin(), buffer.end());
}

}  // namespace gantry::backend
