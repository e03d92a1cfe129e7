#include "runtime/FiniteScan.h"

#include <cstdint>
#include <cstring>

namespace gantry::runtime {
namespace {

constexpr size_t kBlock = 1024;
constexpr uint32_t kExponent = 0x7f800000u;  // all exponent bits set: infinity or NaN

// Whether x[0, n) holds a NaN or infinity: no early exit, so the loop vectorizes.
bool anyNonFinite(const float *x, size_t n) {
  uint32_t bad = 0;
  for (size_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, x + i, sizeof bits);
    bad |= static_cast<uint32_t>((bits & kExponent) == kExponent);
  }
  return bad != 0;
}

}  // namespace

size_t firstNonFiniteIndex(const float *x, size_t n) {
  for (size_t start = 0; start < n; start += kBlock) {
    const size_t len = n - start < kBlock ? n - start : kBlock;
    if (!anyNonFinite(x + start, len)) continue;
    for (size_t i = start; i < start + len; ++i) {
      uint32_t bits;
      std::memcpy(&bits, x + i, sizeof bits);
      if ((bits & kExponent) == kExponent) return i;
    }
  }
  return n;
}

}  // namespace gantry::runtime
