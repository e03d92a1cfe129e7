#include "runtime/NormalKernel.h"

#include <bit>
#include <cmath>

namespace gantry::runtime::detail {
namespace {

constexpr uint32_t kMul0 = 0xD2511F53, kMul1 = 0xCD9E8D57;     // Philox round multipliers
constexpr uint32_t kWeyl0 = 0x9E3779B9, kWeyl1 = 0xBB67AE85;   // key schedule (as in Random.cpp)

// log(x) for x in [2^-24, 1] (Cephes logf: x = m 2^e with m in [sqrt(1/2), sqrt(2)), a degree-9 polynomial in
// m - 1; about 1 ulp).
inline float logUnit(float x) {
  const uint32_t bits = std::bit_cast<uint32_t>(x);
  int e = static_cast<int>((bits >> 23) & 0xff) - 126;
  float m = std::bit_cast<float>((bits & 0x007fffffu) | 0x3f000000u);  // [0.5, 1)
  const bool low = m < 0.707106781186547524f;
  e = low ? e - 1 : e;
  m = low ? m + m - 1.0f : m - 1.0f;
  const float z = m * m;
  float y = 7.0376836292e-2f;
  y = y * m - 1.1514610310e-1f;
  y = y * m + 1.1676998740e-1f;
  y = y * m - 1.2420140846e-1f;
  y = y * m + 1.4249322787e-1f;
  y = y * m - 1.6668057665e-1f;
  y = y * m + 2.0000714765e-1f;
  y = y * m - 2.4999993993e-1f;
  y = y * m + 3.3333331174e-1f;
  y = y * m * z;
  const auto fe = static_cast<float>(e);
  y += -2.12194440e-4f * fe;
  y += -0.5f * z;
  return m + y + 0.693359375f * fe;
}

// sin and cos of 2*pi*u for u = k 2^-24 in [0, 1): u's nearest quarter turn is removed exactly (u is dyadic),
// leaving an angle in [-pi/4, pi/4] for Cephes' sinf/cosf polynomials, then the quadrant swaps and negates.
inline void sinCosTurns(float u, float &sine, float &cosine) {
  const auto quarter = static_cast<int>(u * 4.0f + 0.5f);  // 0..4
  const float a = (u - static_cast<float>(quarter) * 0.25f) * 6.28318530717958647692f;
  const float z = a * a;
  const float s = a + a * z * ((-1.9515295891e-4f * z + 8.3321608736e-3f) * z - 1.6666654611e-1f);
  const float c = 1.0f - 0.5f * z + z * z * ((2.443315711809948e-5f * z - 1.388731625493765e-3f) * z + 4.166664568298827e-2f);
  const int q = quarter & 3;
  const float sq = (q & 1) ? c : s, cq = (q & 1) ? s : c;
  sine = (q & 2) ? -sq : sq;
  cosine = ((q + 1) & 2) ? -cq : cq;
}

}  // namespace

__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void normalGroup(const RandomKey &key, uint64_t firstBlock, float mean, float std, float *out) {
  uint32_t c0[kLanes], c1[kLanes], c2[kLanes], c3[kLanes];
  for (int l = 0; l < kLanes; ++l) {
    c0[l] = static_cast<uint32_t>(firstBlock + static_cast<uint64_t>(l));
    c1[l] = static_cast<uint32_t>(key.step);
    c2[l] = static_cast<uint32_t>(key.step >> 32);
    c3[l] = key.stream;
  }
  uint32_t k0 = static_cast<uint32_t>(key.seed), k1 = static_cast<uint32_t>(key.seed >> 32);
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      k0 += kWeyl0;
      k1 += kWeyl1;
    }
    for (int l = 0; l < kLanes; ++l) {
      const uint64_t p0 = static_cast<uint64_t>(kMul0) * c0[l], p1 = static_cast<uint64_t>(kMul1) * c2[l];
      const uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1[l] ^ k0, n2 = static_cast<uint32_t>(p0 >> 32) ^ c3[l] ^ k1;
      c1[l] = static_cast<uint32_t>(p1);
      c3[l] = static_cast<uint32_t>(p0);
      c0[l] = n0;
      c2[l] = n2;
    }
  }
  // Pair 0 of a block from words 0 and 1, pair 1 from words 2 and 3; element 4l + 2p + {0: cos, 1: sin}.
  constexpr float kTwoToMinus24 = 1.0f / 16777216.0f;
  for (int pair = 0; pair < 2; ++pair) {
    const uint32_t *radial = pair == 0 ? c0 : c2, *angular = pair == 0 ? c1 : c3;
    for (int l = 0; l < kLanes; ++l) {
      const float u1 = static_cast<float>((radial[l] >> 8) + 1) * kTwoToMinus24;  // (0, 1]
      const float u2 = static_cast<float>(angular[l] >> 8) * kTwoToMinus24;       // [0, 1)
      const float radius = std::sqrt(-2.0f * logUnit(u1));
      float s, c;
      sinCosTurns(u2, s, c);
      out[4 * l + 2 * pair] = mean + std * (radius * c);
      out[4 * l + 2 * pair + 1] = mean + std * (radius * s);
    }
  }
}


}  // namespace gantry::runtime::detail
