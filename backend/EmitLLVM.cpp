#include "backend/EmitLLVM.h"

#include <llvm/IR/Constants.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Support/raw_ostream.h>

#include <algorithm>
#include <fmt/format.h>

#include <functional>
#include <map>
#include <set>
#include <stdexcept>
#include <tuple>

#include "backend/AmxKernels.h"
#include "backend/MemoryPlan.h"
#include "backend/VectorMath.h"

namespace gantry::backend {
namespace {

using llvm::Value;
using ir::OpKind;

constexpr int64_t kParallelElements = 1 << 17;  // elementwise loops at least this long are split across threads
// (2^16 made the unrolled ring8 steps, hundreds of 64K-element kernels, slower on two threads than on one)
constexpr int64_t kParallelMacs = 1 << 22;      // and matmuls with at least this many multiply-adds
constexpr int64_t kParallelThinMacs = 1 << 18;  // thin matmuls (no packing, memory-bound) from this many
constexpr int64_t kMatmulUnroll = 4;
constexpr int64_t kMatmulKBlock = 256;          // the K loop of the tiled matmul in blocks of at most this

class Emitter {
 public:
  Emitter(const ir::Function &f, llvm::Module &module, const std::string &entry, const CodegenTarget &target)
      : f_(f), ctx_(module.getContext()), module_(&module), b_(ctx_), entry_(entry),
        vl_(target.vectorWidth), mr_(target.vectorWidth >= 16 ? 8 : 6), parallel_(target.parallel), amx_(target.amx), amxMinMacs_(target.amxMinMacs) {}

  ArenaSize run() {
    llvm::Type *ptr = llvm::PointerType::getUnqual(ctx_);
    auto *type = llvm::FunctionType::get(b_.getVoidTy(), {ptr, ptr}, false);
    fn_ = llvm::Function::Create(type, llvm::Function::ExternalLinkage, entry_, module_);
    fn_->addFnAttr(llvm::Attribute::NoUnwind);
    // The entry function is a flat list of kernel calls (see emitStep), thousands long in an unrolled step: the
    // O2 pipeline has nothing to gain there and spends most of its time on that one huge block, so it is left
    // unoptimised (optnone needs noinline); the kernels it calls get the full pipeline.
    fn_->addFnAttr(llvm::Attribute::OptimizeNone);
    fn_->addFnAttr(llvm::Attribute::NoInline);
    // LLVM's tuning for many AVX-512 CPUs prefers 256-bit vectors; Gantry's loops are long and regular, so use
    // the full width wherever the target has it (the attribute is ignored elsewhere).
    fn_->addFnAttr("prefer-vector-width", "512");
    llvm::Argument *buffers = fn_->getArg(0), *arena = fn_->getArg(1);
    buffers->setName("buffers");
    arena->setName("arena");
    fn_->addParamAttr(1, llvm::Attribute::NoAlias);
    b_.SetInsertPoint(llvm::BasicBlock::Create(ctx_, "entry", fn_));
    llvm::FastMathFlags fmf;
    fmf.setAllowContract(true);
    b_.setFastMathFlags(fmf);

    // Where every value lives (backend/MemoryPlan.h): parameter buffers, result buffers, or the arena.
    // Tiled matmuls with the same B operand and transpose (a weight in the forward passes of real, fake and
    // interpolated samples, or in every backward pass through it) pack it once: the first packs, the rest read.
    std::vector<PackRequest> packs(f_.ops.size());
    std::map<std::tuple<uint32_t, bool, bool>, size_t> packedB;  // (B's value id, transpose_b, on AMX) -> the op that packed it
    for (size_t i = 0; i < f_.ops.size(); ++i)
      if (f_.ops[i].kind == OpKind::Matmul) {
        MatmulDims d = dimsOf(f_.ops[i]);
        packs[i].bFloats = static_cast<size_t>(d.thinScratchFloats());
        if (d.thin()) continue;
        const bool amx = onAmx(d);
        if (amx)
          packs[i].aFloats = static_cast<size_t>(amxPackedAFloats(d.m, d.k));
        else if (!d.readsAInPlace())
          packs[i].aFloats = static_cast<size_t>(d.iBlocks * mr_ * d.k);
        auto [it, first] = packedB.try_emplace({f_.ops[i].operands[1].id, d.tb, amx}, i);
        if (first)
          packs[i].bFloats = static_cast<size_t>(amx ? amxPackedBFloats(d.k, d.n) : d.jPanels * 2 * vl_ * d.k);
        else
          packs[i].bFrom = it->second;
      }
    MemoryPlan plan = planMemory(f_, packs);
    auto inArena = [&](size_t offset) { return b_.CreateInBoundsGEP(b_.getFloatTy(), arena, b_.getInt64(static_cast<int64_t>(offset))); };
    storage_.assign(f_.values.size(), nullptr);
    std::vector<Value *> params, results;
    for (size_t i = 0; i < f_.params.size(); ++i) params.push_back(loadBuffer(buffers, i));
    for (size_t j = 0; j < f_.results.size(); ++j) results.push_back(loadBuffer(buffers, f_.params.size() + j));
    for (const ir::Param &p : f_.params) storage_[p.value.id] = params[plan.storage[p.value.id].index];
    for (size_t i = 0; i < f_.ops.size(); ++i) {
      const ir::Op &op = f_.ops[i];
      const Storage &st = plan.storage[op.result.id];
      if (st.kind == Storage::Kind::Result) storage_[op.result.id] = results[st.index];
      if (st.kind == Storage::Kind::Arena) storage_[op.result.id] = inArena(st.index);
      if (op.kind == OpKind::Matmul) {
        packA_[op.result.id] = inArena(plan.packA[i]);
        packB_[op.result.id] = inArena(plan.packB[i]);
        if (packs[i].bFrom != SIZE_MAX) packedBAlready_.insert(op.result.id);
      }
    }
    for (const Step &step : stepsOf(f_)) emitStep(step);
    for (size_t j = 0; j < f_.results.size(); ++j) {
      if (!plan.copyResult[j]) continue;
      ir::Value v = f_.results[j].value;
      b_.CreateMemCpy(results[j], llvm::MaybeAlign(4), storage_[v.id], llvm::MaybeAlign(4), f_.type(v).numElements() * 4);
    }
    b_.CreateRetVoid();
    std::string errors;
    llvm::raw_string_ostream os(errors);
    if (llvm::verifyModule(*module_, &os)) throw std::logic_error("backend emitted invalid LLVM IR: " + os.str());
    return {plan.arenaFloats, plan.naiveFloats};
  }

 private:
  llvm::Type *f32() { return b_.getFloatTy(); }
  Value *fc(double v) { return llvm::ConstantFP::get(f32(), v); }
  Value *i64(int64_t v) { return b_.getInt64(v); }

  Value *loadBuffer(Value *buffers, size_t i) {
    Value *slot = b_.CreateInBoundsGEP(llvm::PointerType::getUnqual(ctx_), buffers, i64(static_cast<int64_t>(i)));
    return b_.CreateLoad(llvm::PointerType::getUnqual(ctx_), slot, "buf" + std::to_string(i));
  }
  Value *at(Value *base, Value *offset) { return b_.CreateInBoundsGEP(f32(), base, offset); }
  Value *load(Value *base, Value *offset) {
    llvm::LoadInst *l = b_.CreateLoad(f32(), at(base, offset));
    if (accessGroup_) l->setMetadata(llvm::LLVMContext::MD_access_group, accessGroup_);
    return l;
  }
  void store(Value *v, Value *base, Value *offset) {
    llvm::StoreInst *s = b_.CreateStore(v, at(base, offset));
    if (accessGroup_) s->setMetadata(llvm::LLVMContext::MD_access_group, accessGroup_);
  }

  // Emits `body` with its memory accesses in one access group and marks the innermost loop it creates as
  // llvm.loop.parallel_accesses: no iteration of that loop depends on another through memory. True of every
  // elementwise loop and of a fused nest whose innermost dimension is not reduced: each iteration touches its own
  // elements, and an output that overwrites an input in place does so at the same index (backend/MemoryPlan.h).
  // Without it the vectorizer needs a runtime overlap check per pair of pointers and gives up on fused groups
  // with many of them (they ran scalar).
  void independentInnermost(const std::function<void()> &body) {
    accessGroup_ = llvm::MDNode::getDistinct(ctx_, {});
    markInnermost_ = true;
    body();
    accessGroup_ = nullptr;
    markInnermost_ = false;
  }
  Value *ptrOf(ir::Value v) { return storage_[v.id]; }
  Value *call(llvm::Intrinsic::ID id, std::initializer_list<Value *> args) {
    llvm::Function *decl = llvm::Intrinsic::getDeclaration(module_, id, {f32()});
    return b_.CreateCall(decl, args);
  }

  // for (i = 0; i < n; ++i) body(i): the constant bounds fold loopRange's guard away.
  void loop(int64_t n, const std::function<void(Value *)> &body) { loopRange(i64(0), i64(n), body); }

  // for (i = first; i < last; ++i) body(i), with bounds known only at run time (possibly empty).
  void loopRange(Value *first, Value *last, const std::function<void(Value *)> &body) {
    llvm::BasicBlock *pre = b_.GetInsertBlock();
    auto *header = llvm::BasicBlock::Create(ctx_, "range", fn_);
    auto *exit = llvm::BasicBlock::Create(ctx_, "range.done", fn_);
    b_.CreateCondBr(b_.CreateICmpSLT(first, last), header, exit);
    b_.SetInsertPoint(header);
    llvm::PHINode *i = b_.CreatePHI(b_.getInt64Ty(), 2, "i");
    i->addIncoming(first, pre);
    body(i);
    Value *next = b_.CreateAdd(i, i64(1), "", true, true);
    i->addIncoming(next, b_.GetInsertBlock());
    llvm::BranchInst *latch = b_.CreateCondBr(b_.CreateICmpSLT(next, last), header, exit);
    if (markInnermost_ && accessGroup_) {
      // The first latch completed inside independentInnermost is the innermost loop's.
      llvm::MDNode *parallel = llvm::MDNode::get(ctx_, {llvm::MDString::get(ctx_, "llvm.loop.parallel_accesses"), accessGroup_});
      llvm::TempMDTuple self = llvm::MDNode::getTemporary(ctx_, {});
      llvm::MDNode *loopId = llvm::MDNode::get(ctx_, {self.get(), parallel});
      loopId->replaceOperandWith(0, loopId);
      latch->setMetadata(llvm::LLVMContext::MD_loop, loopId);
      markInnermost_ = false;
    }
    b_.SetInsertPoint(exit);
  }

  // Runs body(first, last, ptrs) over [0, n): inline on one thread, or outlined into a function of its own that
  // gantry_parallel_for (backend/ThreadPool.h) calls on ranges of whole grains. `ptrs` are the pointers the body
  // uses (an outlined body cannot see the caller's values, so they travel in a small array).
  void parallelLoop(int64_t n, int64_t grain, const std::vector<Value *> &ptrs,
                    const std::function<void(Value *, Value *, const std::vector<Value *> &)> &body) {
    if (!parallel_ || n <= grain) return body(i64(0), i64(n), ptrs);
    llvm::Type *ptr = llvm::PointerType::getUnqual(ctx_);
    // The pointer array lives in the entry block, so it is one stack slot however many kernels use it.
    llvm::IRBuilder<> entry(&fn_->getEntryBlock(), fn_->getEntryBlock().begin());
    llvm::Type *arrayType = llvm::ArrayType::get(ptr, ptrs.size());
    Value *array = entry.CreateAlloca(arrayType);
    for (size_t i = 0; i < ptrs.size(); ++i)
      b_.CreateStore(ptrs[i], b_.CreateConstInBoundsGEP2_32(arrayType, array, 0, static_cast<unsigned>(i)));
    auto *kernelType = llvm::FunctionType::get(b_.getVoidTy(), {b_.getInt64Ty(), b_.getInt64Ty(), ptr}, false);
    auto *kernel = llvm::Function::Create(kernelType, llvm::Function::InternalLinkage, fn_->getName() + ".kernel", module_);
    kernel->addFnAttr(llvm::Attribute::NoUnwind);
    kernel->addFnAttr("prefer-vector-width", "512");
    // Emit the body into the kernel, then come back.
    llvm::Function *outer = fn_;
    llvm::BasicBlock *resume = b_.GetInsertBlock();
    fn_ = kernel;
    b_.SetInsertPoint(llvm::BasicBlock::Create(ctx_, "entry", kernel));
    std::vector<Value *> inside;
    for (size_t i = 0; i < ptrs.size(); ++i)
      inside.push_back(b_.CreateLoad(ptr, b_.CreateConstInBoundsGEP1_32(ptr, kernel->getArg(2), static_cast<unsigned>(i))));
    body(kernel->getArg(0), kernel->getArg(1), inside);
    b_.CreateRetVoid();
    fn_ = outer;
    b_.SetInsertPoint(resume);
    llvm::FunctionCallee parallelFor = module_->getOrInsertFunction(
        "gantry_parallel_for", llvm::FunctionType::get(b_.getVoidTy(), {ptr, ptr, b_.getInt64Ty(), b_.getInt64Ty()}, false));
    b_.CreateCall(parallelFor, {kernel, array, i64(n), i64(grain)});
  }

  // Nested loops over `shape` (outermost first); body gets one index per dimension.
  void nest(const ir::Shape &shape, const std::function<void(const std::vector<Value *> &)> &body) {
    std::vector<Value *> idx;
    std::function<void(size_t)> level = [&](size_t d) {
      if (d == shape.size()) return body(idx);
      loop(shape[d], [&](Value *i) {
        idx.push_back(i);
        level(d + 1);
        idx.pop_back();
      });
    };
    level(0);
  }

  // sum_d idx[d] * strides[d] + base
  Value *offsetOf(const std::vector<Value *> &idx, const std::vector<int64_t> &strides, int64_t base = 0) {
    Value *off = i64(base);
    for (size_t d = 0; d < idx.size(); ++d)
      if (strides[d] != 0) off = b_.CreateAdd(off, b_.CreateMul(idx[d], i64(strides[d]), "", true, true), "", true, true);
    return off;
  }

  Value *asBool(Value *stored) { return b_.CreateFCmpUNE(stored, fc(0.0)); }
  Value *fromBool(Value *flag) { return b_.CreateSelect(flag, fc(1.0), fc(0.0)); }

  Value *scalar(const ir::Op &op, const std::vector<Value *> &x) {
    switch (op.kind) {
      case OpKind::StopGradient: return x[0];
      case OpKind::Neg: return b_.CreateFNeg(x[0]);
      case OpKind::Exp: return emitExp(b_, x[0]);
      case OpKind::Expm1: return emitExpm1(b_, x[0]);
      case OpKind::Log: return emitLog(b_, x[0]);
      case OpKind::Log1p: return emitLog1p(b_, x[0]);
      case OpKind::Sqrt: return call(llvm::Intrinsic::sqrt, {x[0]});
      case OpKind::Rsqrt: return b_.CreateFDiv(fc(1.0), call(llvm::Intrinsic::sqrt, {x[0]}));
      case OpKind::Tanh: return emitTanh(b_, x[0]);
      case OpKind::Sigmoid: return emitSigmoid(b_, x[0]);
      case OpKind::Relu: return b_.CreateSelect(b_.CreateFCmpOLT(x[0], fc(0.0)), fc(0.0), x[0]);  // NaN stays NaN
      case OpKind::Abs: return call(llvm::Intrinsic::fabs, {x[0]});
      case OpKind::Sign:
        return b_.CreateSelect(b_.CreateFCmpOGT(x[0], fc(0.0)), fc(1.0),
                               b_.CreateSelect(b_.CreateFCmpOLT(x[0], fc(0.0)), fc(-1.0), x[0]));
      case OpKind::Softplus: return emitSoftplus(b_, x[0]);
      case OpKind::Square: return b_.CreateFMul(x[0], x[0]);
      case OpKind::Add: return b_.CreateFAdd(x[0], x[1]);
      case OpKind::Sub: return b_.CreateFSub(x[0], x[1]);
      case OpKind::Mul: return b_.CreateFMul(x[0], x[1]);
      case OpKind::Div: return b_.CreateFDiv(x[0], x[1]);
      case OpKind::Max: return call(llvm::Intrinsic::maximum, {x[0], x[1]});  // NaN-propagating, as the IR says
      case OpKind::Min: return call(llvm::Intrinsic::minimum, {x[0], x[1]});
      case OpKind::Pow: return call(llvm::Intrinsic::pow, {x[0], x[1]});
      case OpKind::Compare: {
        const std::string &pred = op.attrs.getSymbol("pred");
        llvm::CmpInst::Predicate p = pred == "eq"   ? llvm::CmpInst::FCMP_OEQ
                                     : pred == "ne" ? llvm::CmpInst::FCMP_UNE
                                     : pred == "lt" ? llvm::CmpInst::FCMP_OLT
                                     : pred == "le" ? llvm::CmpInst::FCMP_OLE
                                     : pred == "gt" ? llvm::CmpInst::FCMP_OGT
                                                    : llvm::CmpInst::FCMP_OGE;
        return fromBool(b_.CreateFCmp(p, x[0], x[1]));
      }
      case OpKind::Select: return b_.CreateSelect(asBool(x[0]), x[1], x[2]);
      default: throw std::logic_error(std::string("backend: no scalar rule for ") + ir::opName(op.kind));
    }
  }

  void elementwise(const ir::Op &op) {
    const int64_t n = f_.type(op.result).numElements();
    std::vector<Value *> ptrs;
    for (ir::Value v : op.operands) ptrs.push_back(ptrOf(v));
    ptrs.push_back(ptrOf(op.result));
    auto body = [&](Value *first, Value *last, const std::vector<Value *> &p) {
      independentInnermost([&] {
        loopRange(first, last, [&](Value *i) {
          std::vector<Value *> x;
          for (size_t k = 0; k + 1 < p.size(); ++k) x.push_back(load(p[k], i));
          store(scalar(op, x), p.back(), i);
        });
      });
    };
    // Small loops are not worth waking threads for; large ones split in chunks of whole cache lines.
    if (n >= kParallelElements) return parallelLoop(n, 4096, ptrs, body);
    body(i64(0), i64(n), ptrs);
  }

  // out[idx] = in[sum idx[d] * inStrides[d] + inBase] over the output's shape.
  void stridedCopy(const ir::Op &op, const std::vector<int64_t> &inStrides, int64_t inBase) {
    const ir::Shape &shape = f_.type(op.result).shape;
    const ir::Shape outStrides = ir::stridesOf(shape);
    Value *in = ptrOf(op.operands[0]), *out = ptrOf(op.result);
    nest(shape, [&](const std::vector<Value *> &idx) {
      store(load(in, offsetOf(idx, inStrides, inBase)), out, offsetOf(idx, outStrides));
    });
  }

  void fill(Value *out, int64_t n, double value) {
    loop(n, [&](Value *i) { store(fc(value), out, i); });
  }

  void constant(const ir::Op &op) {
    const int64_t n = f_.type(op.result).numElements();
    const ir::AttrValue &v = *op.attrs.find("value");
    if (const auto *splat = std::get_if<double>(&v)) return fill(ptrOf(op.result), n, *splat);
    const auto &values = std::get<std::vector<double>>(v);
    std::vector<float> floats(values.begin(), values.end());
    llvm::Constant *data = llvm::ConstantDataArray::get(ctx_, llvm::ArrayRef<float>(floats));
    auto *global = new llvm::GlobalVariable(*module_, data->getType(), true, llvm::GlobalValue::PrivateLinkage, data, "const");
    global->setAlignment(llvm::Align(64));
    b_.CreateMemCpy(ptrOf(op.result), llvm::MaybeAlign(4), global, llvm::MaybeAlign(64), n * 4);
  }

  struct MatmulDims {
    int64_t m, n, k, iBlocks, jPanels;
    bool ta, tb;
    int64_t lda, ldb;  // row lengths of A and B as stored
    // A product with at most 4 columns, 2 rows or a contraction of at most 4 (a 1-unit head, a 2-D input layer
    // and their gradients) would fill a fraction of the MR x 2-vector register tile, or spend its time packing:
    // it takes matmulThin instead, with no packing.
    bool thin() const { return n <= 4 || m <= 2 || k <= 4; }
    // The tiled kernel reads A in place rather than packing it, where that measured faster (bench/MatmulBench.cpp):
    // a non-transposed A as MR row streams (5-8% on the MLP shapes), a transposed one as MR contiguous floats
    // per step of K (6-11% on ring8's weight gradients). Not when A's rows are 4 KiB apart (2 KiB when
    // transposed): the streams then crowd into a few L1 sets and evict the B micro-panel (6-9% slower).
    bool readsAInPlace() const { return ta ? lda % 512 != 0 : lda % 1024 != 0; }
    // A thin product of dot products whose op(B) columns are strided copies them contiguous first (k x n floats).
    bool thinPacksB() const { return thin() && k > 4 && !ta && !tb && n > 1 && n <= 4; }
    // A thin product of a transposed A and a few columns accumulates C^T (n x m floats, one contiguous stream
    // per column of C) and transposes it into C at the end.
    bool thinTransposesC() const { return thin() && k > 4 && ta && m > 2 && n > 1 && n <= 4; }
    // Scratch a thin product needs, in its packed-B buffer.
    int64_t thinScratchFloats() const { return thinPacksB() ? k * n : thinTransposesC() ? m * n : 0; }
  };

  MatmulDims dimsOf(const ir::Op &op) const {
    MatmulDims d{};
    d.ta = op.attrs.getBool("transpose_a");
    d.tb = op.attrs.getBool("transpose_b");
    const ir::Shape &a = f_.type(op.operands[0]).shape, &b = f_.type(op.operands[1]).shape;
    d.m = f_.type(op.result).shape[0];
    d.n = f_.type(op.result).shape[1];
    d.k = d.ta ? a[0] : a[1];
    d.lda = a[1];
    d.ldb = b[1];
    d.iBlocks = (d.m + mr_ - 1) / mr_;
    d.jPanels = (d.n + 2 * vl_ - 1) / (2 * vl_);
    return d;
  }

  // C = op(A) op(B). Packing: packA[block][p][r] = A(block*MR + r, p), packB[panel][p][c] = B(p, panel*NR + c), zero
  // past the edges, so the kernel never branches inside its K loop (a non-transposed A is usually read in place
  // instead: MatmulDims::readsAInPlace). Kernel: for each panel of NR = 2 vectors of
  // columns (outer, so the panel stays in cache) and each block of MR rows, MR x 2 accumulators in registers, one
  // broadcast of A and two vector loads of B per p, 2 MR FMAs. Edges are handled at the stores: rows past M are
  // skipped, columns past N are masked.
  void matmul(const ir::Op &op) {
    const MatmulDims d = dimsOf(op);
    if (d.thin()) return matmulThin(op, d);
    if (onAmx(d)) return matmulAmx(op, d);
    const int64_t nr = 2 * vl_;
    Value *A = ptrOf(op.operands[0]), *B = ptrOf(op.operands[1]), *C = ptrOf(op.result);
    Value *pa = packA_.at(op.result.id), *pb = packB_.at(op.result.id);
    // Small products are not worth waking threads for; large ones split packing and tiles across threads.
    const bool split = d.m * d.n * d.k >= kParallelMacs;
    const bool directA = d.readsAInPlace();
    if (!directA) packA(d, A, pa, split);
    if (!packedBAlready_.count(op.result.id)) packB(d, B, pb, split);
    llvm::Type *vec = llvm::FixedVectorType::get(f32(), static_cast<unsigned>(vl_));
    llvm::Function *fma = llvm::Intrinsic::getDeclaration(module_, llvm::Intrinsic::fmuladd, {vec});
    const int64_t tailCols = d.n % nr == 0 ? nr : d.n % nr;
    // Tiles in panel-major order (consecutive tiles share a B panel), split across threads by whole tiles.
    const int64_t tiles = d.jPanels * d.iBlocks;
    const int64_t grain = split ? 1 : tiles;
    // K is cut into blocks of at most kMatmulKBlock so that the B micro-panel a run of tiles shares (kc x NR
    // floats) stays in L1; without it a 512-deep panel (64 KiB) came from L2 on every step of the K loop. Each
    // thread runs every K block over its own tiles, so no barrier is needed between blocks. Blocks after the
    // first start their accumulators from the partial sums stored in C: every element still sees one unbroken
    // chain of FMAs in the order p = 0, 1, ..., K-1, so the result is bit-identical to the unblocked kernel.
    const int64_t kBlocks = (d.k + kMatmulKBlock - 1) / kMatmulKBlock;
    const int64_t kc = (d.k + kBlocks - 1) / kBlocks;
    parallelLoop(tiles, grain, {pa, pb, C, A}, [&](Value *first, Value *last, const std::vector<Value *> &ptr) {
      Value *pa = ptr[0], *pb = ptr[1], *C = ptr[2], *A = ptr[3];
      for (int64_t kb = 0; kb < kBlocks; ++kb) {
        const int64_t k0 = kb * kc, depth = std::min(kc, d.k - k0);
        loopRange(first, last, [&](Value *tile) {
          Value *panel = b_.CreateUDiv(tile, i64(d.iBlocks));
          Value *blk = b_.CreateURem(tile, i64(d.iBlocks));
          // The K loop carries the accumulators in registers.
          std::vector<Value *> initial = kb == 0 ? std::vector<Value *>(static_cast<size_t>(2 * mr_), llvm::Constant::getNullValue(vec))
                                                 : loadTile(C, d, panel, blk, tailCols);
          const int64_t unroll = depth % kMatmulUnroll == 0 ? kMatmulUnroll : 1;
          std::vector<Value *> rowBase;  // reading A in place: where each row of op(A) starts; rows past M read row M-1, unused
          if (directA)
            for (int64_t r = 0; r < mr_; ++r) {
              Value *row = b_.CreateAdd(b_.CreateMul(blk, i64(mr_)), i64(r));
              row = b_.CreateSelect(b_.CreateICmpSLT(row, i64(d.m)), row, i64(d.m - 1));
              rowBase.push_back(d.ta ? row : b_.CreateMul(row, i64(d.lda)));
            }
          std::vector<Value *> next = carriedLoop(depth / unroll, initial, [&](Value *q, const std::vector<Value *> &acc0) {
            std::vector<Value *> acc = acc0;
            for (int64_t u = 0; u < unroll; ++u) {
              Value *pk = b_.CreateAdd(b_.CreateMul(q, i64(unroll)), i64(k0 + u));
              Value *bBase = b_.CreateMul(b_.CreateAdd(b_.CreateMul(panel, i64(d.k)), pk), i64(nr));
              Value *b0 = b_.CreateAlignedLoad(vec, at(pb, bBase), llvm::Align(4));
              Value *b1 = b_.CreateAlignedLoad(vec, at(pb, b_.CreateAdd(bBase, i64(vl_))), llvm::Align(4));
              // op(A)(blk*MR + r, pk): in place (A's row r at pk, or column r of A's row pk) or from the packed block.
              Value *aBase = directA ? (d.ta ? b_.CreateMul(pk, i64(d.lda)) : pk)
                                     : b_.CreateMul(b_.CreateAdd(b_.CreateMul(blk, i64(d.k)), pk), i64(mr_));
              std::vector<Value *> updated;
              for (int64_t r = 0; r < mr_; ++r) {
                Value *element = directA ? load(A, b_.CreateAdd(rowBase[r], aBase)) : load(pa, b_.CreateAdd(aBase, i64(r)));
                Value *a = b_.CreateVectorSplat(static_cast<unsigned>(vl_), element);
                updated.push_back(b_.CreateCall(fma, {a, b0, acc[2 * r]}));
                updated.push_back(b_.CreateCall(fma, {a, b1, acc[2 * r + 1]}));
              }
              acc = updated;
            }
            return acc;
          });
          storeTile(C, d, panel, blk, next, tailCols);
        });
      }
    });
  }

  // Products of at least CodegenTarget::amxMinMacs multiply-adds run on AMX where the target has it. Smaller ones
  // (ring8's 128-wide layers) made steps 6-11% slower on two threads on AMX: packing both operands (the FMA kernel
  // reads A in place) and three split kernels instead of one or two cost more than the faster tiles save.
  bool onAmx(const MatmulDims &d) const { return amx_ && !d.thin() && d.m * d.n * d.k >= amxMinMacs_; }

  // C = op(A) op(B) on AMX tiles (backend/AmxKernels.h): both operands packed into three bf16 planes each (B
  // once for every product that shares it), then 16 x 32 output tiles, each step split across threads.
  void matmulAmx(const ir::Op &op, const MatmulDims &d) {
    llvm::Type *ptr = llvm::PointerType::getUnqual(ctx_), *i64Type = b_.getInt64Ty();
    Value *A = ptrOf(op.operands[0]), *B = ptrOf(op.operands[1]), *C = ptrOf(op.result);
    Value *pa = packA_.at(op.result.id), *pb = packB_.at(op.result.id);
    const bool split = d.m * d.n * d.k >= kParallelMacs;
    const int64_t rowBlocks = (d.m + 15) / 16, colPairs = (d.n + 31) / 32;
    auto pack = [&](const char *name, Value *from, int64_t ld, bool transposed, int64_t rows, int64_t cols, Value *to, int64_t count) {
      llvm::FunctionCallee f = module_->getOrInsertFunction(
          name, llvm::FunctionType::get(b_.getVoidTy(), {ptr, i64Type, i64Type, i64Type, i64Type, ptr, i64Type, i64Type}, false));
      parallelLoop(count, split ? 1 : count, {from, to}, [&](Value *first, Value *last, const std::vector<Value *> &p) {
        b_.CreateCall(f, {p[0], i64(ld), i64(transposed), i64(rows), i64(cols), p[1], first, last});
      });
    };
    pack("gantry_amx_pack_a", A, d.lda, d.ta, d.m, d.k, pa, rowBlocks);
    if (!packedBAlready_.count(op.result.id)) pack("gantry_amx_pack_b", B, d.ldb, d.tb, d.k, d.n, pb, 2 * colPairs);
    llvm::FunctionCallee product = module_->getOrInsertFunction(
        "gantry_amx_product", llvm::FunctionType::get(b_.getVoidTy(), {ptr, ptr, ptr, i64Type, i64Type, i64Type, i64Type, i64Type}, false));
    const int64_t tiles = rowBlocks * colPairs;
    parallelLoop(tiles, split ? 1 : tiles, {pa, pb, C}, [&](Value *first, Value *last, const std::vector<Value *> &p) {
      b_.CreateCall(product, {p[0], p[1], p[2], i64(d.m), i64(d.n), i64(d.k), first, last});
    });
  }

  // Packing. packA[block][p][r] = op(A)(block*MR + r, p) and packB[panel][p][c] = op(B)(p, panel*NR + c), zero
  // past the edges. Each layout is written in the order its source is contiguous in: a row of a non-transposed B
  // (or of a transposed A) is copied whole into every panel (block) it feeds, and rows of a transposed B (or of
  // a non-transposed A) are read a vector at a time and transposed in registers. The element-at-a-time loops
  // these replaced walked B with a 2 KiB stride or gathered, and took about a tenth of the matmul's time.
  void packA(const MatmulDims &d, Value *A, Value *pa, bool split) {
    if (d.ta) {
      // op(A)(i, p) = A[p*lda + i]: row p of A holds element p of every block, MR contiguous floats each.
      parallelLoop(d.k, split ? 16 : d.k, {A, pa}, [&](Value *first, Value *last, const std::vector<Value *> &ptr) {
        copyRowsIntoPanels(ptr[0], d.lda, d.m, mr_, ptr[1], d.k, first, last);
      });
      return;
    }
    // op(A)(i, p) = A[i*lda + p]: MR rows, a vector of p at a time, transposed.
    parallelLoop(d.iBlocks, split ? 1 : d.iBlocks, {A, pa}, [&](Value *first, Value *last, const std::vector<Value *> &ptr) {
      Value *A = ptr[0], *pa = ptr[1];
      loopRange(first, last, [&](Value *blk) {
        transposeIntoPanel(A, d.lda, b_.CreateMul(blk, i64(mr_)), mr_, d.m, mr_, d.k, pa, blk, i64(0));
      });
    });
  }

  void packB(const MatmulDims &d, Value *B, Value *pb, bool split) {
    const int64_t nr = 2 * vl_;
    if (!d.tb) {
      // op(B)(p, j) = B[p*ldb + j]: row p of B holds element p of every panel, NR contiguous floats each.
      parallelLoop(d.k, split ? 16 : d.k, {B, pb}, [&](Value *first, Value *last, const std::vector<Value *> &ptr) {
        copyRowsIntoPanels(ptr[0], d.ldb, d.n, nr, ptr[1], d.k, first, last);
      });
      return;
    }
    // op(B)(p, j) = B[j*ldb + p]: each half panel is VL rows of B, a vector of p at a time, transposed.
    parallelLoop(d.jPanels, split ? 1 : d.jPanels, {B, pb}, [&](Value *first, Value *last, const std::vector<Value *> &ptr) {
      Value *B = ptr[0], *pb = ptr[1];
      loopRange(first, last, [&](Value *panel) {
        loop(2, [&](Value *h) {  // a loop, not two copies: the transposes are the slowest code to compile here
          Value *offset = b_.CreateMul(h, i64(vl_));
          transposeIntoPanel(B, d.ldb, b_.CreateAdd(b_.CreateMul(panel, i64(nr)), offset), vl_, d.n, nr, d.k, pb, panel, offset);
        });
      });
    });
  }

  // Copies rows p in [firstP, lastP) of a row-major source (row length ld, `count` floats used per row) into
  // packed panels of `width` floats: floats [q*width, (q+1)*width) of row p go to panel q's row p, i.e.
  // dst + (q*depth + p)*width; the last panel is padded with zeros. A few panels at a time (64 floats of each
  // row), down all the rows: reads use whole cache lines and writes go to a few sequential streams (row by
  // row across every panel wrote 4-8 floats to each of dozens of streams 16 KiB apart).
  void copyRowsIntoPanels(Value *src, int64_t ld, int64_t count, int64_t width, Value *dst, int64_t depth, Value *firstP, Value *lastP) {
    const int64_t full = count / width, rest = count % width;
    const int64_t group = std::max<int64_t>(1, 64 / width);
    auto copy = [&](Value *q, Value *p, int64_t lanes) {
      Value *from = b_.CreateAdd(b_.CreateMul(p, i64(ld)), b_.CreateMul(q, i64(width)));
      Value *to = b_.CreateMul(b_.CreateAdd(b_.CreateMul(q, i64(depth)), p), i64(width));
      b_.CreateAlignedStore(loadLanes(src, from, width, lanes), at(dst, to), llvm::Align(4));
    };
    const int64_t fullGroups = full / group;
    if (fullGroups > 0)
      loop(fullGroups, [&](Value *g) {
        loopRange(firstP, lastP, [&](Value *p) {
          for (int64_t j = 0; j < group; ++j) copy(b_.CreateAdd(b_.CreateMul(g, i64(group)), i64(j)), p, width);
        });
      });
    // The panels after the last whole group, the partial one last.
    if (fullGroups * group < full || rest > 0)
      loopRange(firstP, lastP, [&](Value *p) {
        for (int64_t q = fullGroups * group; q < full; ++q) copy(i64(q), p, width);
        if (rest > 0) copy(i64(full), p, rest);
      });
  }

  // The first `lanes` of `width` floats at base + offset, zero beyond (a masked load, which reads nothing there).
  Value *loadLanes(Value *base, Value *offset, int64_t width, int64_t lanes) {
    auto *type = llvm::FixedVectorType::get(f32(), static_cast<unsigned>(width));
    if (lanes == width) return b_.CreateAlignedLoad(type, at(base, offset), llvm::Align(4));
    return b_.CreateMaskedLoad(type, at(base, offset), llvm::Align(4), firstLanes(width, lanes), llvm::Constant::getNullValue(type));
  }

  // A mask of `width` lanes with the first `lanes` set.
  llvm::Constant *firstLanes(int64_t width, int64_t lanes) {
    std::vector<llvm::Constant *> bits;
    for (int64_t lane = 0; lane < width; ++lane) bits.push_back(b_.getInt1(lane < lanes));
    return llvm::ConstantVector::get(bits);
  }

  // Packs `rows` consecutive rows of a row-major source (row length ld) starting at row firstRow, of which rows
  // at or past rowCount read as zero, into a panel laid out [p][width]: element (firstRow + r, p) goes to
  // dst + (panel*depth + p)*width + offset + r, for p < depth. A VL x VL block at a time (rows beyond `rows` up
  // to VL are don't-cares), transposed in registers; the last depth % VL columns, and everything when `rows`
  // exceeds VL, element by element.
  void transposeIntoPanel(Value *src, int64_t ld, Value *firstRow, int64_t rows, int64_t rowCount, int64_t width, int64_t depth, Value *dst,
                          Value *panel, Value *offset) {
    auto *vec = llvm::FixedVectorType::get(f32(), static_cast<unsigned>(vl_));
    Value *zero = llvm::Constant::getNullValue(vec);
    std::vector<Value *> inRange, rowStart;
    for (int64_t r = 0; r < rows; ++r) {
      Value *row = b_.CreateAdd(firstRow, i64(r));
      inRange.push_back(b_.CreateICmpSLT(row, i64(rowCount)));
      rowStart.push_back(b_.CreateMul(b_.CreateSelect(inRange.back(), row, i64(0)), i64(ld)));  // row 0 stands in
    }
    auto dstAt = [&](Value *p) { return b_.CreateAdd(b_.CreateMul(b_.CreateAdd(b_.CreateMul(panel, i64(depth)), p), i64(width)), offset); };
    const bool square = rows <= vl_ && (vl_ & (vl_ - 1)) == 0;
    const int64_t blocks = square ? depth / vl_ : 0;
    if (blocks > 0) loop(blocks, [&](Value *blockIndex) {
      Value *p0 = b_.CreateMul(blockIndex, i64(vl_));
      std::vector<Value *> block(static_cast<size_t>(vl_), llvm::PoisonValue::get(vec));
      for (int64_t r = 0; r < rows; ++r)
        block[r] = b_.CreateSelect(inRange[r], b_.CreateAlignedLoad(vec, at(src, b_.CreateAdd(rowStart[r], p0)), llvm::Align(4)), zero);
      std::vector<Value *> columns = transposeSquare(block);
      std::vector<int> leading(static_cast<size_t>(rows));  // lanes 0 .. rows-1
      for (int64_t r = 0; r < rows; ++r) leading[r] = static_cast<int>(r);
      for (int64_t q = 0; q < vl_; ++q) {
        Value *column = rows == vl_ ? columns[q] : b_.CreateShuffleVector(columns[q], leading);
        b_.CreateAlignedStore(column, at(dst, dstAt(b_.CreateAdd(p0, i64(q)))), llvm::Align(4));
      }
    });
    // The remaining columns, one element per row.
    const int64_t done = blocks * vl_;
    if (done < depth)
      loop(depth - done, [&](Value *j) {
        Value *p = b_.CreateAdd(j, i64(done));
        for (int64_t r = 0; r < rows; ++r) {
          Value *v = b_.CreateSelect(inRange[r], load(src, b_.CreateAdd(rowStart[r], p)), fc(0.0));
          store(v, dst, b_.CreateAdd(dstAt(p), i64(r)));
        }
      });
  }

  // Transposes an n x n block held as n row vectors of n floats (n a power of two): log2(n) rounds of two-input
  // shuffles, round s exchanging bit s of the row index with bit s of the column index.
  std::vector<Value *> transposeSquare(std::vector<Value *> rows) {
    const int n = static_cast<int>(rows.size());
    for (int bit = 1; bit < n; bit <<= 1) {
      std::vector<int> low(static_cast<size_t>(n)), high(static_cast<size_t>(n));
      for (int c = 0; c < n; ++c) {
        // Row r (bit clear) keeps its columns with the bit clear and takes its partner's columns c ^ bit, which
        // hold elements whose row had the bit set; the partner row the other way round.
        low[c] = (c & bit) == 0 ? c : n + (c ^ bit);
        high[c] = (c & bit) != 0 ? n + c : (c | bit);
      }
      std::vector<Value *> next(rows.size());
      for (int r = 0; r < n; ++r) {
        if (r & bit) continue;
        next[r] = b_.CreateShuffleVector(rows[r], rows[r | bit], low);
        next[r | bit] = b_.CreateShuffleVector(rows[r], rows[r | bit], high);
      }
      rows = std::move(next);
    }
    return rows;
  }

  // Thin products as plain loop nests for the loop vectorizer, the innermost loop always over a contiguous
  // dimension: a dot product over k where op(A)'s rows and op(B)'s columns are contiguous, otherwise an axpy
  // (C's row or column updated by a multiple of a contiguous row of A or B). Accumulations may be reassociated,
  // as in the tiled kernel.
  void matmulThin(const ir::Op &op, const MatmulDims &d) {
    Value *A0 = ptrOf(op.operands[0]), *B0 = ptrOf(op.operands[1]), *C0 = ptrOf(op.result);
    Value *S0 = d.thinScratchFloats() > 0 ? packB_.at(op.result.id) : C0;  // scratch (B^T or C^T), if any
    llvm::FastMathFlags saved = b_.getFastMathFlags(), acc = saved;
    acc.setAllowReassoc(true);
    // Each form below has one loop whose iterations write disjoint parts of C (rows of C, or its columns in the
    // two-row forms); large products split it across threads, every element computed as on one thread.
    const bool split = d.m * d.n * d.k >= kParallelThinMacs;
    auto across = [&](int64_t n, const std::function<void(Value *, Value *, Value *, Value *, Value *, Value *)> &body) {
      parallelLoop(n, split ? 1 : n, {A0, B0, C0, S0},
                   [&](Value *first, Value *last, const std::vector<Value *> &p) { body(first, last, p[0], p[1], p[2], p[3]); });
    };
    auto opAOf = [&](Value *A) {
      return [&, A](Value *i, Value *p) { return load(A, d.ta ? b_.CreateAdd(b_.CreateMul(p, i64(d.lda)), i) : b_.CreateAdd(b_.CreateMul(i, i64(d.lda)), p)); };
    };
    auto opBOf = [&](Value *B) {
      return [&, B](Value *p, Value *j) { return load(B, d.tb ? b_.CreateAdd(b_.CreateMul(j, i64(d.ldb)), p) : b_.CreateAdd(b_.CreateMul(p, i64(d.ldb)), j)); };
    };
    auto cAt = [&](Value *i, Value *j) { return b_.CreateAdd(b_.CreateMul(i, i64(d.n)), j); };
    if (d.k <= 4) {
      // A short contraction (an outer product for k = 1): C(i, j) = sum over the k terms, written out, the loop
      // over j innermost (contiguous in C, and in op(B) unless B is transposed with k > 1).
      across(d.m, [&](Value *first, Value *last, Value *A, Value *B, Value *C, Value *) {
        auto opA = opAOf(A);
        auto opB = opBOf(B);
        loopRange(first, last, [&](Value *i) {
          std::vector<Value *> a;
          for (int64_t p = 0; p < d.k; ++p) a.push_back(opA(i, i64(p)));
          independentInnermost([&] {
            loop(d.n, [&](Value *j) {
              Value *sum = b_.CreateFMul(a[0], opB(i64(0), j));
              for (int64_t p = 1; p < d.k; ++p) sum = b_.CreateFAdd(sum, b_.CreateFMul(a[static_cast<size_t>(p)], opB(i64(p), j)));
              store(sum, C, cAt(i, j));
            });
          });
        });
      });
    } else if (!d.ta && (d.tb || d.n <= 4)) {
      // C(i, j) = sum_p A(i, p) B(p, j): one reduction per element of C, over contiguous rows of A and columns
      // of op(B) (a few strided columns are first copied to B^T).
      if (d.thinPacksB()) {
        auto opB = opBOf(B0);
        loop(d.k, [&](Value *p) { loop(d.n, [&](Value *j) { store(opB(p, j), S0, b_.CreateAdd(b_.CreateMul(j, i64(d.k)), p)); }); });
      }
      across(d.m, [&](Value *first, Value *last, Value *A, Value *B, Value *C, Value *S) {
        auto opA = opAOf(A);
        auto opB = opBOf(B);
        std::function<Value *(Value *, Value *)> column = opB;
        if (d.thinPacksB()) column = [&, S](Value *p, Value *j) { return load(S, b_.CreateAdd(b_.CreateMul(j, i64(d.k)), p)); };
        loopRange(first, last, [&](Value *i) {
          loop(d.n, [&](Value *j) {
            Value *sum = sumLoop(d.k, acc, [&](Value *p) { return b_.CreateFMul(opA(i, p), column(p, j)); });
            store(sum, C, cAt(i, j));
          });
        });
      });
    } else if (d.m <= 2 && !d.tb) {
      // C(i, :) += A(i, p) B(p, :): rows of B are contiguous, and each is read once for both rows of C.
      across(d.n, [&](Value *first, Value *last, Value *A, Value *B, Value *C, Value *) {
        auto opA = opAOf(A);
        auto opB = opBOf(B);
        for (int64_t i = 0; i < d.m; ++i) loopRange(first, last, [&](Value *j) { store(fc(0.0), C, cAt(i64(i), j)); });
        loop(d.k, [&](Value *p) {
          std::vector<Value *> a;
          for (int64_t i = 0; i < d.m; ++i) a.push_back(opA(i64(i), p));
          independentInnermost([&] {
            loopRange(first, last, [&](Value *j) {
              Value *bv = opB(p, j);
              for (int64_t i = 0; i < d.m; ++i)
                store(b_.CreateFAdd(load(C, cAt(i64(i), j)), b_.CreateFMul(a[static_cast<size_t>(i)], bv)), C, cAt(i64(i), j));
            });
          });
        });
      });
    } else if (d.m <= 2) {
      // C(i, j) = sum_p A(i, p) B(j, p): rows of B (stored transposed) are contiguous.
      across(d.n, [&](Value *first, Value *last, Value *A, Value *B, Value *C, Value *) {
        auto opA = opAOf(A);
        auto opB = opBOf(B);
        loop(d.m, [&](Value *i) {
          loopRange(first, last, [&](Value *j) { store(sumLoop(d.k, acc, [&](Value *p) { return b_.CreateFMul(opA(i, p), opB(p, j)); }), C, cAt(i, j)); });
        });
      });
    } else {
      // A transposed, few columns: C^T(j, :) += B(p, j) A(p, :), one pass over A's stored rows (contiguous), each
      // column of C accumulated contiguously (in C itself when it is one column; C's rows of 2-4 floats made
      // the stores strided scatters, 5 GFLOP/s); then C^T is transposed into C.
      across(d.m, [&](Value *first, Value *last, Value *A, Value *B, Value *C, Value *S) {
        auto opA = opAOf(A);
        auto opB = opBOf(B);
        Value *ct = d.thinTransposesC() ? S : C;
        for (int64_t j = 0; j < d.n; ++j) loopRange(first, last, [&](Value *i) { store(fc(0.0), ct, b_.CreateAdd(i64(j * d.m), i)); });
        loop(d.k, [&](Value *p) {
          std::vector<Value *> bv;
          for (int64_t j = 0; j < d.n; ++j) bv.push_back(opB(p, i64(j)));
          independentInnermost([&] {
            loopRange(first, last, [&](Value *i) {
              Value *a = opA(i, p);
              for (int64_t j = 0; j < d.n; ++j) {
                Value *at = b_.CreateAdd(i64(j * d.m), i);
                store(b_.CreateFAdd(load(ct, at), b_.CreateFMul(a, bv[static_cast<size_t>(j)])), ct, at);
              }
            });
          });
        });
        if (d.thinTransposesC())
          loopRange(first, last, [&](Value *i) {
            for (int64_t j = 0; j < d.n; ++j) store(load(ct, b_.CreateAdd(i64(j * d.m), i)), C, cAt(i, i64(j)));
          });
      });
    }
  }

  // sum_{p < n} term(p), the sum carried in a register; `flags` (with reassoc) let the vectorizer split it.
  Value *sumLoop(int64_t n, llvm::FastMathFlags flags, const std::function<Value *(Value *)> &term) {
    return carriedLoop(n, {fc(0.0)}, [&](Value *p, const std::vector<Value *> &sum) {
      llvm::FastMathFlags saved = b_.getFastMathFlags();
      b_.setFastMathFlags(flags);
      Value *next = b_.CreateFAdd(sum[0], term(p));
      b_.setFastMathFlags(saved);
      return std::vector<Value *>{next};
    })[0];
  }

  // for (p = 0; p < n; ++p) values = step(p, values), n >= 1, the values carried in phis (registers) from
  // `initial`; returns their final values.
  std::vector<Value *> carriedLoop(int64_t n, const std::vector<Value *> &initial,
                                   const std::function<std::vector<Value *>(Value *, const std::vector<Value *> &)> &step) {
    llvm::BasicBlock *pre = b_.GetInsertBlock();
    auto *body = llvm::BasicBlock::Create(ctx_, "carried", fn_);
    auto *exit = llvm::BasicBlock::Create(ctx_, "carried.done", fn_);
    b_.CreateBr(body);
    b_.SetInsertPoint(body);
    llvm::PHINode *p = b_.CreatePHI(b_.getInt64Ty(), 2, "p");
    p->addIncoming(i64(0), pre);
    std::vector<llvm::PHINode *> phis;
    std::vector<Value *> carried;
    for (Value *v : initial) {
      phis.push_back(b_.CreatePHI(v->getType(), 2));
      phis.back()->addIncoming(v, pre);
      carried.push_back(phis.back());
    }
    std::vector<Value *> next = step(p, carried);
    Value *pNext = b_.CreateAdd(p, i64(1), "", true, true);
    llvm::BasicBlock *latch = b_.GetInsertBlock();
    p->addIncoming(pNext, latch);
    for (size_t i = 0; i < phis.size(); ++i) phis[i]->addIncoming(next[i], latch);
    b_.CreateCondBr(b_.CreateICmpSLT(pNext, i64(n)), body, exit);
    b_.SetInsertPoint(exit);
    return next;
  }

  // Loads an MR x NR tile of C as storeTile stored it (the partial sums of the previous K block): rows past M and
  // the last panel's columns past N, which were never stored, read as zero.
  std::vector<Value *> loadTile(Value *C, const MatmulDims &d, Value *panel, Value *blk, int64_t tailCols) {
    const int64_t nr = 2 * vl_;
    llvm::Type *vec = llvm::FixedVectorType::get(f32(), static_cast<unsigned>(vl_));
    Value *zero = llvm::Constant::getNullValue(vec);
    Value *isLastPanel = b_.CreateICmpEQ(panel, i64(d.jPanels - 1));
    std::vector<Value *> tile;
    for (int64_t r = 0; r < mr_; ++r) {
      Value *row = b_.CreateAdd(b_.CreateMul(blk, i64(mr_)), i64(r));
      Value *inRange = b_.CreateICmpSLT(row, i64(d.m));
      Value *safeRow = b_.CreateSelect(inRange, row, i64(0));
      Value *base = b_.CreateAdd(b_.CreateMul(safeRow, i64(d.n)), b_.CreateMul(panel, i64(nr)));
      for (int64_t h = 0; h < 2; ++h) {
        Value *ptr = at(C, b_.CreateAdd(base, i64(h * vl_)));
        int64_t lanes = std::clamp<int64_t>(tailCols - h * vl_, 0, vl_);  // valid lanes in the last panel
        Value *v;
        if (lanes == vl_) {
          v = b_.CreateAlignedLoad(vec, ptr, llvm::Align(4));
        } else {
          // Every lane of a full panel, only the first `lanes` of the last one (a masked load never touches the
          // others, which may lie past C's end).
          Value *mask = b_.CreateSelect(isLastPanel, firstLanes(vl_, lanes), firstLanes(vl_, vl_));
          v = b_.CreateMaskedLoad(vec, ptr, llvm::Align(4), mask, zero);
        }
        // A row past M loads row 0 instead (always inside C) and keeps zero.
        tile.push_back(b_.CreateSelect(inRange, v, zero));
      }
    }
    return tile;
  }

  // Stores an MR x NR tile of C: rows past M skipped, the last panel's columns past N masked off.
  void storeTile(Value *C, const MatmulDims &d, Value *panel, Value *blk, const std::vector<Value *> &tile, int64_t tailCols) {
    const int64_t nr = 2 * vl_;
    Value *isLastPanel = b_.CreateICmpEQ(panel, i64(d.jPanels - 1));
    for (int64_t r = 0; r < mr_; ++r) {
      Value *row = b_.CreateAdd(b_.CreateMul(blk, i64(mr_)), i64(r));
      auto *doStore = llvm::BasicBlock::Create(ctx_, "store.row", fn_);
      auto *next = llvm::BasicBlock::Create(ctx_, "store.next", fn_);
      b_.CreateCondBr(b_.CreateICmpSLT(row, i64(d.m)), doStore, next);
      b_.SetInsertPoint(doStore);
      Value *base = b_.CreateAdd(b_.CreateMul(row, i64(d.n)), b_.CreateMul(panel, i64(nr)));
      for (int64_t h = 0; h < 2; ++h) {
        Value *ptr = at(C, b_.CreateAdd(base, i64(h * vl_)));
        int64_t lanes = std::clamp<int64_t>(tailCols - h * vl_, 0, vl_);  // valid lanes in the last panel
        if (lanes == vl_) {
          b_.CreateAlignedStore(tile[2 * r + h], ptr, llvm::Align(4));
          continue;
        }
        // Full store except in the last panel, where only `lanes` columns exist.
        auto *full = llvm::BasicBlock::Create(ctx_, "store.full", fn_);
        auto *masked = llvm::BasicBlock::Create(ctx_, "store.masked", fn_);
        auto *joined = llvm::BasicBlock::Create(ctx_, "store.joined", fn_);
        b_.CreateCondBr(isLastPanel, masked, full);
        b_.SetInsertPoint(full);
        b_.CreateAlignedStore(tile[2 * r + h], ptr, llvm::Align(4));
        b_.CreateBr(joined);
        b_.SetInsertPoint(masked);
        if (lanes > 0) b_.CreateMaskedStore(tile[2 * r + h], ptr, llvm::Align(4), firstLanes(vl_, lanes));
        b_.CreateBr(joined);
        b_.SetInsertPoint(joined);
      }
      b_.CreateBr(next);
      b_.SetInsertPoint(next);
    }
  }

  void reduce(const ir::Op &op) {
    const ir::TensorType &in = f_.type(op.operands[0]);
    const ir::TensorType &out = f_.type(op.result);
    const std::vector<int64_t> &axes = op.attrs.getInts("axes");
    const ir::Shape outStrides = ir::stridesOf(out.shape), inStrides = ir::stridesOf(in.shape);
    // Each input dimension's stride into the output: zero for a reduced axis.
    std::vector<int64_t> toOut;
    size_t kept = 0;
    for (int64_t d = 0; d < in.rank(); ++d)
      toOut.push_back(std::find(axes.begin(), axes.end(), d) != axes.end() ? 0 : outStrides[kept++]);
    const bool isMax = op.kind == OpKind::ReduceMax;
    fill(ptrOf(op.result), out.numElements(), isMax ? -std::numeric_limits<double>::infinity() : 0.0);
    llvm::FastMathFlags saved = b_.getFastMathFlags(), acc = saved;
    acc.setAllowReassoc(true);
    Value *src = ptrOf(op.operands[0]), *dst = ptrOf(op.result);
    nest(in.shape, [&](const std::vector<Value *> &idx) {
      Value *o = offsetOf(idx, toOut);
      Value *x = load(src, offsetOf(idx, inStrides));
      b_.setFastMathFlags(acc);
      Value *r = isMax ? call(llvm::Intrinsic::maximum, {load(dst, o), x}) : b_.CreateFAdd(load(dst, o), x);
      b_.setFastMathFlags(saved);
      store(r, dst, o);
    });
    if (op.kind == OpKind::ReduceMean) {
      int64_t count = in.numElements() / out.numElements();
      loop(out.numElements(), [&](Value *i) { store(b_.CreateFDiv(load(dst, i), fc(static_cast<double>(count))), dst, i); });
    }
  }

  // A kernel's symbol says what it computes, for profilers (perf names JIT-free AOT objects' kernels, and the
  // LLVM IR is readable): ENTRY.kN.OP[_OP...].SHAPE, e.g. gantry_entry.k7.matmul.128x128 or .k9.mul_add_relu.512x128.
  std::string kernelName(const Step &step) const {
    std::string ops;
    for (size_t i = step.begin; i < step.end && ops.size() < 40; ++i) ops += (ops.empty() ? "" : "_") + std::string(ir::opName(f_.ops[i].kind));
    std::string shape;
    for (int64_t d : f_.type(f_.ops[step.end - 1].result).shape) shape += (shape.empty() ? "" : "x") + std::to_string(d);
    return fmt::format("{}.k{}.{}.{}", entry_, kernels_.size(), ops, shape.empty() ? "scalar" : shape);
  }

  // Each step (one op, or one fusion group) becomes a kernel: an LLVM function of its own taking the pointers it
  // touches, called from the entry function. Kernels are deduplicated by structure (ops, attributes, shapes, how
  // values flow between them and which are stored), so the K unrolled copies of D's update, which compute the
  // same kernels on other buffers, compile once: compile time does not grow with K, and the entry function is a
  // flat list of calls.
  void emitStep(const Step &step) {
    // The pointers the step touches, in order of first use; and the structural key.
    std::vector<ir::Value> touched;
    std::vector<std::pair<uint32_t, bool>> packs;  // (matmul result id, A or B), after the values
    std::map<uint32_t, size_t> internalIndex;
    std::string key;
    auto touch = [&](ir::Value v) {
      auto it = std::find(touched.begin(), touched.end(), v);
      if (it != touched.end()) return static_cast<size_t>(it - touched.begin());
      touched.push_back(v);
      return touched.size() - 1;
    };
    for (size_t i = step.begin; i < step.end; ++i) {
      const ir::Op &op = f_.ops[i];
      key += ir::opName(op.kind);
      for (const auto &[name, value] : op.attrs.entries())
        if (name != ir::kFusionAttr) key += " " + name + "=" + ir::attrValueStr(value);
      key += " : " + f_.type(op.result).str() + " (";
      for (ir::Value v : op.operands) {
        auto it = internalIndex.find(v.id);
        key += it != internalIndex.end() ? "i" + std::to_string(it->second) + " " : "e" + std::to_string(touch(v)) + ":" + f_.type(v).str() + " ";
      }
      key += ")";
      if (storage_[op.result.id]) key += " -> e" + std::to_string(touch(op.result));
      if (packedBAlready_.count(op.result.id)) key += " reads packed B";
      internalIndex[op.result.id] = i - step.begin;
      key += "\n";
    }
    for (size_t i = step.begin; i < step.end; ++i)
      if (f_.ops[i].kind == OpKind::Matmul) {
        packs.push_back({f_.ops[i].result.id, true});
        packs.push_back({f_.ops[i].result.id, false});
      }
    std::vector<Value *> args;
    for (ir::Value v : touched) args.push_back(storage_[v.id]);
    for (const auto &[id, isA] : packs) args.push_back(isA ? packA_.at(id) : packB_.at(id));

    llvm::Type *ptr = llvm::PointerType::getUnqual(ctx_);
    llvm::Function *kernel = kernels_[key];
    if (!kernel) {
      auto *type = llvm::FunctionType::get(b_.getVoidTy(), {ptr}, false);
      kernel = llvm::Function::Create(type, llvm::Function::InternalLinkage, kernelName(step), module_);
      kernel->addFnAttr(llvm::Attribute::NoUnwind);
      kernel->addFnAttr(llvm::Attribute::NoInline);  // one copy, however many calls
      kernel->addFnAttr("prefer-vector-width", "512");
      kernels_[key] = kernel;
      // Emit the step's body into the kernel, its pointers loaded from the argument array.
      llvm::Function *outer = fn_;
      llvm::BasicBlock *resume = b_.GetInsertBlock();
      std::vector<Value *> savedStorage;
      for (ir::Value v : touched) savedStorage.push_back(storage_[v.id]);
      std::map<uint32_t, Value *> savedA = packA_, savedB = packB_;
      fn_ = kernel;
      b_.SetInsertPoint(llvm::BasicBlock::Create(ctx_, "entry", kernel));
      auto arg = [&](size_t i) {
        return b_.CreateLoad(ptr, b_.CreateConstInBoundsGEP1_32(ptr, kernel->getArg(0), static_cast<unsigned>(i)));
      };
      for (size_t i = 0; i < touched.size(); ++i) storage_[touched[i].id] = arg(i);
      for (size_t i = 0; i < packs.size(); ++i) (packs[i].second ? packA_ : packB_)[packs[i].first] = arg(touched.size() + i);
      if (step.fused()) {
        emitGroup(step);
      } else {
        emitOp(f_.ops[step.begin]);
      }
      b_.CreateRetVoid();
      for (size_t i = 0; i < touched.size(); ++i) storage_[touched[i].id] = savedStorage[i];
      packA_ = savedA;
      packB_ = savedB;
      fn_ = outer;
      b_.SetInsertPoint(resume);
    }
    // The call: the pointers in a stack array (one per entry function, as large as the largest step needs).
    if (args.size() > argSlots_) {
      argSlots_ = args.size();
      llvm::IRBuilder<> entry(&fn_->getEntryBlock(), fn_->getEntryBlock().begin());
      argArray_ = entry.CreateAlloca(ptr, i64(static_cast<int64_t>(argSlots_)));
    }
    for (size_t i = 0; i < args.size(); ++i) b_.CreateStore(args[i], b_.CreateConstInBoundsGEP1_32(ptr, argArray_, static_cast<unsigned>(i)));
    b_.CreateCall(kernel, {argArray_});
  }

  // One fusion group (passes/Fuse.h) as one loop nest over its iteration shape S. Per element: splat constants
  // are literals, broadcasts load their operand at the mapped index, other inputs load at the element's offset
  // (each once), elementwise ops compute in registers, and the values read outside the group are stored — all
  // stores after all loads, so an output may overwrite an input in place (backend/MemoryPlan.h). A closing
  // reduction accumulates into its output, initialised before the nest.
  void emitGroup(const Step &step) {
    const ir::Op &head = f_.ops[step.begin], &last = f_.ops[step.end - 1];
    const bool reduces = last.kind == OpKind::ReduceSum || last.kind == OpKind::ReduceMean || last.kind == OpKind::ReduceMax;
    ir::Shape shape = head.kind == OpKind::ReduceSum || head.kind == OpKind::ReduceMean || head.kind == OpKind::ReduceMax
                          ? f_.type(head.operands[0]).shape
                          : f_.type(head.result).shape;
    const bool scalarDomain = shape.empty();
    if (scalarDomain) shape = {1};  // one iteration; every offset is 0
    std::vector<bool> internal(f_.values.size(), false);
    for (size_t i = step.begin; i < step.end; ++i) internal[f_.ops[i].result.id] = true;
    // Every pointer the nest touches, so an outlined (threaded) body can receive them.
    std::vector<ir::Value> touched;
    auto touch = [&](ir::Value v) {
      if (storage_[v.id] && std::find(touched.begin(), touched.end(), v) == touched.end()) touched.push_back(v);
    };
    for (size_t i = step.begin; i < step.end; ++i) {
      for (ir::Value v : f_.ops[i].operands)
        if (!internal[v.id]) touch(v);
      touch(f_.ops[i].result);  // stored when it has storage (read outside the group)
    }
    std::vector<Value *> ptrs;
    for (ir::Value v : touched) ptrs.push_back(storage_[v.id]);
    auto slot = [&](ir::Value v) { return static_cast<size_t>(std::find(touched.begin(), touched.end(), v) - touched.begin()); };

    if (reduces)
      fill(storage_[last.result.id], f_.type(last.result).numElements(),
           last.kind == OpKind::ReduceMax ? -std::numeric_limits<double>::infinity() : 0.0);
    const ir::Shape strides = ir::stridesOf(shape);
    // The innermost dimension's iterations are independent unless the closing reduction sums over it.
    bool innermostReduced = false;
    if (reduces) {
      const std::vector<int64_t> &axes = last.attrs.getInts("axes");
      innermostReduced = scalarDomain || std::find(axes.begin(), axes.end(), static_cast<int64_t>(shape.size()) - 1) != axes.end();
    }
    std::function<void(Value *, Value *, const std::vector<Value *> &)> nestBody;  // the loop nest, defined below
    auto body = [&](Value *first, Value *end, const std::vector<Value *> &p) {
      if (innermostReduced) return nestBody(first, end, p);
      independentInnermost([&] { nestBody(first, end, p); });
    };
    nestBody = [&](Value *first, Value *end, const std::vector<Value *> &p) {
      loopRange(first, end, [&](Value *outer) {
        ir::Shape inner(shape.begin() + 1, shape.end());
        nest(inner, [&](const std::vector<Value *> &rest) {
          std::vector<Value *> idx = {outer};
          idx.insert(idx.end(), rest.begin(), rest.end());
          Value *linear = offsetOf(idx, strides);
          std::map<uint32_t, Value *> scalars;  // value id -> its element in this iteration
          auto get = [&](ir::Value v) {
            auto it = scalars.find(v.id);
            if (it != scalars.end()) return it->second;
            return scalars[v.id] = load(p[slot(v)], linear);
          };
          std::vector<std::pair<ir::Value, Value *>> stores;
          for (size_t i = step.begin; i < step.end; ++i) {
            const ir::Op &op = f_.ops[i];
            Value *r = nullptr;
            if (op.kind == OpKind::Constant) {
              r = fc(std::get<double>(*op.attrs.find("value")));
            } else if (op.kind == OpKind::Broadcast) {
              const ir::Shape xs = ir::stridesOf(f_.type(op.operands[0]).shape);
              const std::vector<int64_t> &dims = op.attrs.getInts("dims");
              std::vector<int64_t> st(shape.size(), 0);
              for (size_t d = 0; d < dims.size(); ++d) st[dims[d]] = xs[d];
              r = load(p[slot(op.operands[0])], offsetOf(idx, st));
            } else if (reduces && i + 1 == step.end) {
              const std::vector<int64_t> &axes = op.attrs.getInts("axes");
              const ir::Shape outStrides = ir::stridesOf(f_.type(op.result).shape);
              std::vector<int64_t> toOut;
              size_t kept = 0;
              for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d)
                toOut.push_back(scalarDomain || std::find(axes.begin(), axes.end(), d) != axes.end() ? 0 : outStrides[kept++]);
              Value *dst = p[slot(op.result)];
              Value *o = offsetOf(idx, toOut);
              llvm::FastMathFlags saved = b_.getFastMathFlags(), acc = saved;
              acc.setAllowReassoc(true);
              b_.setFastMathFlags(acc);
              Value *x = get(op.operands[0]);
              Value *sum = op.kind == OpKind::ReduceMax ? call(llvm::Intrinsic::maximum, {load(dst, o), x}) : b_.CreateFAdd(load(dst, o), x);
              b_.setFastMathFlags(saved);
              store(sum, dst, o);
              continue;
            } else {
              std::vector<Value *> x;
              for (ir::Value v : op.operands) x.push_back(get(v));
              r = scalar(op, x);
            }
            scalars[op.result.id] = r;
            if (storage_[op.result.id]) stores.push_back({op.result, r});
          }
          for (const auto &[v, r] : stores) store(r, p[slot(v)], linear);
        });
      });
    };
    const int64_t elements = ir::TensorType::f32(shape).numElements();
    // Split the outermost dimension across threads when the nest is large, unless a reduction would make two
    // threads accumulate into one element.
    if (!reduces && elements >= kParallelElements && shape.size() >= 1 && shape[0] > 1) {
      parallelLoop(shape[0], std::max<int64_t>(1, 4096 / std::max<int64_t>(1, elements / shape[0])), ptrs, body);
    } else {
      body(i64(0), i64(shape[0]), ptrs);
    }
    if (last.kind == OpKind::ReduceMean) {
      Value *dst = storage_[last.result.id];
      int64_t count = elements / f_.type(last.result).numElements();
      loop(f_.type(last.result).numElements(), [&](Value *i) { store(b_.CreateFDiv(load(dst, i), fc(static_cast<double>(count))), dst, i); });
    }
  }

  void emitOp(const ir::Op &op) {
    const ir::OpDef &def = ir::opDef(op.kind);
    if (def.cls != ir::OpClass::Structural) return elementwise(op);
    const ir::TensorType &t = f_.type(op.result);
    switch (op.kind) {
      case OpKind::Constant: return constant(op);
      case OpKind::Reshape:
        return loop(t.numElements(), [&](Value *i) { store(load(ptrOf(op.operands[0]), i), ptrOf(op.result), i); });
      case OpKind::Broadcast: {
        const ir::Shape xs = ir::stridesOf(f_.type(op.operands[0]).shape);
        const std::vector<int64_t> &dims = op.attrs.getInts("dims");
        std::vector<int64_t> strides(t.shape.size(), 0);
        for (size_t i = 0; i < dims.size(); ++i) strides[dims[i]] = xs[i];
        return stridedCopy(op, strides, 0);
      }
      case OpKind::Transpose: {
        const ir::Shape xs = ir::stridesOf(f_.type(op.operands[0]).shape);
        const std::vector<int64_t> &perm = op.attrs.getInts("perm");
        std::vector<int64_t> strides;
        for (int64_t p : perm) strides.push_back(xs[p]);
        return stridedCopy(op, strides, 0);
      }
      case OpKind::Slice: {
        const ir::Shape xs = ir::stridesOf(f_.type(op.operands[0]).shape);
        const std::vector<int64_t> &start = op.attrs.getInts("start");
        int64_t base = 0;
        for (size_t d = 0; d < start.size(); ++d) base += start[d] * xs[d];
        return stridedCopy(op, std::vector<int64_t>(xs.begin(), xs.end()), base);
      }
      case OpKind::Pad: {
        fill(ptrOf(op.result), t.numElements(), 0.0);
        const ir::Shape outStrides = ir::stridesOf(t.shape);
        const ir::Shape &inShape = f_.type(op.operands[0]).shape;
        const ir::Shape inStrides = ir::stridesOf(inShape);
        const std::vector<int64_t> &low = op.attrs.getInts("low");
        int64_t base = 0;
        for (size_t d = 0; d < low.size(); ++d) base += low[d] * outStrides[d];
        Value *in = ptrOf(op.operands[0]), *out = ptrOf(op.result);
        return nest(inShape, [&](const std::vector<Value *> &idx) {
          store(load(in, offsetOf(idx, inStrides)), out, offsetOf(idx, outStrides, base));
        });
      }
      case OpKind::Concat: {
        const int64_t axis = op.attrs.getInt("axis");
        const ir::Shape outStrides = ir::stridesOf(t.shape);
        int64_t offset = 0;
        for (ir::Value v : op.operands) {
          const ir::Shape &shape = f_.type(v).shape;
          const ir::Shape inStrides = ir::stridesOf(shape);
          Value *in = ptrOf(v), *out = ptrOf(op.result);
          nest(shape, [&](const std::vector<Value *> &idx) {
            store(load(in, offsetOf(idx, inStrides)), out, offsetOf(idx, outStrides, offset * outStrides[axis]));
          });
          offset += shape[axis];
        }
        return;
      }
      case OpKind::Matmul: return matmul(op);
      case OpKind::ReduceSum:
      case OpKind::ReduceMean:
      case OpKind::ReduceMax: return reduce(op);
      default: throw std::logic_error(std::string("backend: no rule for ") + ir::opName(op.kind));
    }
  }

  const ir::Function &f_;
  llvm::LLVMContext &ctx_;
  llvm::Module *module_;
  llvm::IRBuilder<> b_;
  std::string entry_;
  llvm::Function *fn_ = nullptr;
  std::vector<Value *> storage_;
  const int64_t vl_;  // f32 lanes per vector register
  const int64_t mr_;  // rows of C per register tile
  const bool parallel_;  // split large kernels across threads
  const bool amx_;       // tiled matmuls on AMX (backend/AmxKernels.h)
  const int64_t amxMinMacs_;
  std::map<uint32_t, Value *> packA_, packB_;
  std::set<uint32_t> packedBAlready_;  // matmul results whose B an earlier matmul packed
  llvm::MDNode *accessGroup_ = nullptr;  // see independentInnermost
  bool markInnermost_ = false;  // per matmul result: its packing buffers in the arena
  std::map<std::string, llvm::Function *> kernels_;  // by structural key (emitStep)
  Value *argArray_ = nullptr;                         // the kernels' pointer array in the entry function
  size_t argSlots_ = 0;
};

}  // namespace

ArenaSize emitInto(llvm::Module &module, const ir::Function &f, const std::string &entry, const CodegenTarget &target) {
  return Emitter(f, module, entry, target).run();
}

EmittedModule emitFunction(const ir::Function &f, llvm::LLVMContext &ctx, const std::string &entry,
                           const CodegenTarget &target) {
  EmittedModule out;
  out.module = std::make_unique<llvm::Module>("gantry." + f.name, ctx);
  out.entry = entry;
  ArenaSize size = emitInto(*out.module, f, entry, target);
  out.arenaFloats = size.arenaFloats;
  out.naiveFloats = size.naiveFloats;
  return out;
}

}  // namespace gantry::backend
