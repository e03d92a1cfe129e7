#include "backend/VectorMath.h"

#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/Module.h>

#include <initializer_list>
#include <limits>

namespace gantry::backend {
namespace {

using llvm::Value;

Value *c(llvm::IRBuilder<> &b, double v) { return llvm::ConstantFP::get(b.getFloatTy(), v); }

// Horner's rule: coefficients from the highest power down.
Value *poly(llvm::IRBuilder<> &b, Value *x, std::initializer_list<double> coefficients) {
  Value *acc = nullptr;
  for (double k : coefficients) acc = acc ? b.CreateFAdd(b.CreateFMul(acc, x), c(b, k)) : c(b, k);
  return acc;
}

Value *intrinsic(llvm::IRBuilder<> &b, llvm::Intrinsic::ID id, Value *x) {
  llvm::Function *f = llvm::Intrinsic::getDeclaration(b.GetInsertBlock()->getModule(), id, {x->getType()});
  return b.CreateCall(f, {x});
}

}  // namespace

// e^x = 2^n * e^r with n = round(x / ln 2), r = x - n ln 2 (ln 2 split in two for accuracy), |r| <= ln2/2.
// 2^n is applied as 2^n1 * 2^n2 with n1, n2 within [-75, 64], so results near both ends of the f32 range
// (up to FLT_MAX, down to the denormals) come out right.
Value *emitExp(llvm::IRBuilder<> &b, Value *x) {
  const double hi = 88.72283905206835, lo = -103.97207708;
  Value *clamped = b.CreateSelect(b.CreateFCmpOGT(x, c(b, hi)), c(b, hi), x);
  clamped = b.CreateSelect(b.CreateFCmpOLT(clamped, c(b, lo)), c(b, lo), clamped);  // NaN passes both
  Value *n = intrinsic(b, llvm::Intrinsic::floor, b.CreateFAdd(b.CreateFMul(clamped, c(b, 1.44269504088896341)), c(b, 0.5)));
  Value *r = b.CreateFSub(clamped, b.CreateFMul(n, c(b, 0.693359375)));
  r = b.CreateFSub(r, b.CreateFMul(n, c(b, -2.12194440e-4)));
  Value *r2 = b.CreateFMul(r, r);
  Value *p = poly(b, r, {1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1});
  Value *y = b.CreateFAdd(b.CreateFAdd(b.CreateFMul(p, r2), r), c(b, 1.0));
  Value *n1 = intrinsic(b, llvm::Intrinsic::floor, b.CreateFMul(n, c(b, 0.5)));
  Value *n2 = b.CreateFSub(n, n1);
  auto pow2 = [&](Value *k) {  // 2^k for an integral k in [-126, 127], from the float's exponent bits
    Value *bits = b.CreateShl(b.CreateAdd(b.CreateFPToSI(k, b.getInt32Ty()), b.getInt32(127)), 23);
    return b.CreateBitCast(bits, b.getFloatTy());
  };
  y = b.CreateFMul(b.CreateFMul(y, pow2(n1)), pow2(n2));
  // Beyond the clamp: overflow to inf, underflow to 0.
  y = b.CreateSelect(b.CreateFCmpOGT(x, c(b, hi)), c(b, std::numeric_limits<double>::infinity()), y);
  return b.CreateSelect(b.CreateFCmpOLT(x, c(b, lo)), c(b, 0.0), y);
}

// log x = e ln 2 + log m with x = m 2^e, m in [sqrt(1/2), sqrt(2)), and a polynomial in m - 1.
Value *emitLog(llvm::IRBuilder<> &b, Value *x) {
  llvm::Type *i32 = b.getInt32Ty();
  // Denormals are scaled up first so their exponent is read right.
  Value *isDenormal = b.CreateFCmpOLT(x, c(b, 1.17549435e-38));
  Value *scaled = b.CreateSelect(isDenormal, b.CreateFMul(x, c(b, 16777216.0)), x);
  Value *bits = b.CreateBitCast(scaled, i32);
  Value *e = b.CreateSIToFP(b.CreateSub(b.CreateLShr(bits, 23), b.getInt32(126)), b.getFloatTy());
  e = b.CreateSelect(isDenormal, b.CreateFSub(e, c(b, 24.0)), e);
  Value *m = b.CreateBitCast(b.CreateOr(b.CreateAnd(bits, b.getInt32(0x807fffff)), b.getInt32(0x3f000000)), b.getFloatTy());  // [0.5, 1)
  Value *small = b.CreateFCmpOLT(m, c(b, 0.707106781186547524));
  e = b.CreateSelect(small, b.CreateFSub(e, c(b, 1.0)), e);
  m = b.CreateSelect(small, b.CreateFSub(b.CreateFAdd(m, m), c(b, 1.0)), b.CreateFSub(m, c(b, 1.0)));
  Value *z = b.CreateFMul(m, m);
  Value *p = poly(b, m, {7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
                         -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1});
  Value *y = b.CreateFMul(b.CreateFMul(p, m), z);
  y = b.CreateFAdd(y, b.CreateFMul(e, c(b, -2.12194440e-4)));
  y = b.CreateFSub(y, b.CreateFMul(z, c(b, 0.5)));
  Value *result = b.CreateFAdd(b.CreateFAdd(m, y), b.CreateFMul(e, c(b, 0.693359375)));
  // Edges: log 0 = -inf, log(negative) = NaN, log inf = inf, NaN stays NaN.
  const double inf = std::numeric_limits<double>::infinity();
  result = b.CreateSelect(b.CreateFCmpOEQ(x, c(b, 0.0)), c(b, -inf), result);
  result = b.CreateSelect(b.CreateFCmpOLT(x, c(b, 0.0)), c(b, std::numeric_limits<double>::quiet_NaN()), result);
  result = b.CreateSelect(b.CreateFCmpOEQ(x, c(b, inf)), c(b, inf), result);
  return b.CreateSelect(b.CreateFCmpUNO(x, x), x, result);
}

// log1p y = log u * y / (u - 1) with u = 1 + y (Goldberg's trick: the rounding error of u cancels).
Value *emitLog1p(llvm::IRBuilder<> &b, Value *y) {
  Value *u = b.CreateFAdd(y, c(b, 1.0));
  Value *um1 = b.CreateFSub(u, c(b, 1.0));
  Value *general = b.CreateFMul(emitLog(b, u), b.CreateFDiv(y, um1));  // the ratio is near 1: no overflow
  Value *r = b.CreateSelect(b.CreateFCmpOEQ(um1, c(b, 0.0)), y, general);
  r = b.CreateSelect(b.CreateFCmpOEQ(u, c(b, 0.0)), c(b, -std::numeric_limits<double>::infinity()), r);
  return b.CreateSelect(b.CreateFCmpOEQ(y, c(b, std::numeric_limits<double>::infinity())), y, r);
}

// expm1 x = (u - 1) x / log u with u = e^x (Kahan's trick), exact where u rounds to 1.
Value *emitExpm1(llvm::IRBuilder<> &b, Value *x) {
  Value *u = emitExp(b, x);
  Value *um1 = b.CreateFSub(u, c(b, 1.0));
  Value *general = b.CreateFMul(um1, b.CreateFDiv(x, emitLog(b, u)));  // the ratio is near 1: no overflow
  Value *r = b.CreateSelect(b.CreateFCmpOEQ(um1, c(b, 0.0)), x, general);
  r = b.CreateSelect(b.CreateFCmpOEQ(um1, c(b, -1.0)), c(b, -1.0), r);
  return b.CreateSelect(b.CreateFCmpOEQ(u, c(b, std::numeric_limits<double>::infinity())), u, r);
}

// tanh: an odd polynomial for |x| < 0.625 (Cephes), 1 - 2 / (e^{2|x|} + 1) with the sign of x beyond.
Value *emitTanh(llvm::IRBuilder<> &b, Value *x) {
  Value *ax = intrinsic(b, llvm::Intrinsic::fabs, x);
  Value *z = b.CreateFMul(x, x);
  Value *p = poly(b, z, {-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1});
  Value *small = b.CreateFAdd(b.CreateFMul(b.CreateFMul(p, z), x), x);
  Value *e = emitExp(b, b.CreateFMul(ax, c(b, 2.0)));
  Value *large = b.CreateFSub(c(b, 1.0), b.CreateFDiv(c(b, 2.0), b.CreateFAdd(e, c(b, 1.0))));
  llvm::Function *copysign = llvm::Intrinsic::getDeclaration(b.GetInsertBlock()->getModule(), llvm::Intrinsic::copysign, {x->getType()});
  large = b.CreateCall(copysign, {large, x});
  return b.CreateSelect(b.CreateFCmpOLT(ax, c(b, 0.625)), small, large);  // NaN: the large branch, which is NaN
}

// 1 / (1 + e^-x): never overflows to NaN (e^-x = inf gives 0).
Value *emitSigmoid(llvm::IRBuilder<> &b, Value *x) {
  return b.CreateFDiv(c(b, 1.0), b.CreateFAdd(c(b, 1.0), emitExp(b, b.CreateFNeg(x))));
}

// max(x, 0) + log1p(e^-|x|): exact for large |x|; NaN stays NaN through the second term.
Value *emitSoftplus(llvm::IRBuilder<> &b, Value *x) {
  Value *ax = intrinsic(b, llvm::Intrinsic::fabs, x);
  Value *positive = b.CreateSelect(b.CreateFCmpOGT(x, c(b, 0.0)), x, c(b, 0.0));
  return b.CreateFAdd(positive, emitLog1p(b, emitExp(b, b.CreateFNeg(ax))));
}

}  // namespace gantry::backend
