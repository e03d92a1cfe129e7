// Transcendental functions as plain f32 arithmetic in LLVM IR, so that loops calling them vectorize like any
// other loop (LLVM 19 maps no AVX-512 or tanh/expm1/log1p variants to glibc's libmvec). Cephes-style range
// reduction and minimax polynomials; measured errors are in docs/performance.md ("Accuracy") and checked by
// tests/unit/JitTest.cpp against the double-precision interpreter.
// Internal to backend/.
#pragma once

#include <llvm/IR/IRBuilder.h>

namespace gantry::backend {

llvm::Value *emitExp(llvm::IRBuilder<> &b, llvm::Value *x);
llvm::Value *emitLog(llvm::IRBuilder<> &b, llvm::Value *x);
llvm::Value *emitExpm1(llvm::IRBuilder<> &b, llvm::Value *x);
llvm::Value *emitLog1p(llvm::IRBuilder<> &b, llvm::Value *x);
llvm::Value *emitTanh(llvm::IRBuilder<> &b, llvm::Value *x);
llvm::Value *emitSigmoid(llvm::IRBuilder<> &b, llvm::Value *x);
llvm::Value *emitSoftplus(llvm::IRBuilder<> &b, llvm::Value *x);

}  // namespace gantry::backend
