#include "runtime/NormalKernel.h"

#include <immintrin.h>

#include <bit>
#include <cmath>

namespace gantry::runtime::detail {
namespace {

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

// Philox4x32-10 of the blocks firstBlock .. firstBlock + 15, word w of lane l in cw[l] (64-bit lanes holding 32-bit
// words). Portable version: the compiler vectorizes it, but with 64-bit multiplies (vpmullq, three times the
// cost of the 32 x 32 -> 64 bit vpmuludq it cannot be told to use).
void philoxPortable(const RandomKey &key, uint64_t firstBlock, uint64_t *c0, uint64_t *c1, uint64_t *c2, uint64_t *c3) {
  constexpr uint64_t kLow = 0xffffffffu;
  for (int l = 0; l < kLanes; ++l) {
    c0[l] = (firstBlock + static_cast<uint64_t>(l)) & kLow;
    c1[l] = key.step & kLow;
    c2[l] = key.step >> 32;
    c3[l] = key.stream;
  }
  uint64_t k0 = key.seed & kLow, k1 = key.seed >> 32;
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      k0 = (k0 + kPhiloxWeyl0) & kLow;
      k1 = (k1 + kPhiloxWeyl1) & kLow;
    }
    for (int l = 0; l < kLanes; ++l) {
      const uint64_t p0 = c0[l] * kPhiloxMul0, p1 = c2[l] * kPhiloxMul1;
      const uint64_t n0 = (p1 >> 32) ^ c1[l] ^ k0, n2 = (p0 >> 32) ^ c3[l] ^ k1;
      c1[l] = p1 & kLow;
      c3[l] = p0 & kLow;
      c0[l] = n0;
      c2[l] = n2;
    }
  }
}

// GCC 12's own avx512fintrin.h trips its -Wuninitialized (_mm512_undefined_epi32 initialises itself).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
// The same with AVX-512 intrinsics: _mm512_mul_epu32 is the 32 x 32 -> 64 bit multiply. Integer arithmetic, so
// the words are identical to the portable version's (tests/unit/RandomTest.cpp checks against philox4x32_10).
__attribute__((target("avx512f"))) void philoxAvx512(const RandomKey &key, uint64_t firstBlock, uint64_t *c0, uint64_t *c1,
                                                     uint64_t *c2, uint64_t *c3) {
  const __m512i low = _mm512_set1_epi64(0xffffffff), mul0 = _mm512_set1_epi64(kPhiloxMul0), mul1 = _mm512_set1_epi64(kPhiloxMul1);
  __m512i x0[2], x1[2], x2[2], x3[2];
  for (int h = 0; h < 2; ++h) {
    const uint64_t b = firstBlock + 8 * static_cast<uint64_t>(h);
    x0[h] = _mm512_and_si512(_mm512_add_epi64(_mm512_set1_epi64(static_cast<long long>(b)), _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7)), low);
    x1[h] = _mm512_set1_epi64(static_cast<long long>(key.step & 0xffffffffu));
    x2[h] = _mm512_set1_epi64(static_cast<long long>(key.step >> 32));
    x3[h] = _mm512_set1_epi64(key.stream);
  }
  uint64_t k0 = key.seed & 0xffffffffu, k1 = key.seed >> 32;
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      k0 = (k0 + kPhiloxWeyl0) & 0xffffffffu;
      k1 = (k1 + kPhiloxWeyl1) & 0xffffffffu;
    }
    const __m512i vk0 = _mm512_set1_epi64(static_cast<long long>(k0)), vk1 = _mm512_set1_epi64(static_cast<long long>(k1));
    for (int h = 0; h < 2; ++h) {
      const __m512i p0 = _mm512_mul_epu32(x0[h], mul0), p1 = _mm512_mul_epu32(x2[h], mul1);
      const __m512i n0 = _mm512_xor_si512(_mm512_xor_si512(_mm512_srli_epi64(p1, 32), x1[h]), vk0);
      const __m512i n2 = _mm512_xor_si512(_mm512_xor_si512(_mm512_srli_epi64(p0, 32), x3[h]), vk1);
      x1[h] = _mm512_and_si512(p1, low);
      x3[h] = _mm512_and_si512(p0, low);
      x0[h] = n0;
      x2[h] = n2;
    }
  }
  for (int h = 0; h < 2; ++h) {
    _mm512_storeu_si512(c0 + 8 * h, x0[h]);
    _mm512_storeu_si512(c1 + 8 * h, x1[h]);
    _mm512_storeu_si512(c2 + 8 * h, x2[h]);
    _mm512_storeu_si512(c3 + 8 * h, x3[h]);
  }
}

#pragma GCC diagnostic pop

void philoxLanes(const RandomKey &key, uint64_t firstBlock, uint64_t *c0, uint64_t *c1, uint64_t *c2, uint64_t *c3) {
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  if (avx512) return philoxAvx512(key, firstBlock, c0, c1, c2, c3);
  philoxPortable(key, firstBlock, c0, c1, c2, c3);
}

__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void normalGroup(const RandomKey &key, uint64_t firstBlock, float mean, float std, float *out) {
  uint64_t c0[kLanes], c1[kLanes], c2[kLanes], c3[kLanes];
  philoxLanes(key, firstBlock, c0, c1, c2, c3);
  // Pair 0 of a block from words 0 and 1, pair 1 from words 2 and 3; element 4l + 2p + {0: cos, 1: sin}.
  constexpr float kTwoToMinus24 = 1.0f / 16777216.0f;
  float cosines[2][kLanes], sines[2][kLanes];
  for (int pair = 0; pair < 2; ++pair) {
    const uint64_t *radial = pair == 0 ? c0 : c2, *angular = pair == 0 ? c1 : c3;
    for (int l = 0; l < kLanes; ++l) {
      const float u1 = static_cast<float>(static_cast<uint32_t>(radial[l] >> 8) + 1) * kTwoToMinus24;  // (0, 1]
      const float u2 = static_cast<float>(static_cast<uint32_t>(angular[l] >> 8)) * kTwoToMinus24;       // [0, 1)
      const float radius = std::sqrt(-2.0f * logUnit(u1));
      float s, c;
      sinCosTurns(u2, s, c);
      cosines[pair][l] = mean + std * (radius * c);
      sines[pair][l] = mean + std * (radius * s);
    }
  }
  // The four results of a block side by side, in one loop: a whole interleaved group the vectorizer writes with
  // shuffles and full vector stores (written pair by pair, the stores had gaps and went out one float at a time).
  for (int l = 0; l < kLanes; ++l) {
    out[4 * l] = cosines[0][l];
    out[4 * l + 1] = sines[0][l];
    out[4 * l + 2] = cosines[1][l];
    out[4 * l + 3] = sines[1][l];
  }
}


}  // namespace gantry::runtime::detail
