#include "backend/AmxKernels.h"

#include <cpuid.h>
// GCC 12 reports its own _mm512_undefined_epi32 (inlined into the conversions below) as uninitialized or maybe
// uninitialized, depending on how far it inlines.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <string>

// Only the functions marked AMX_TARGET use AVX-512 and AMX instructions; the rest of this file runs anywhere, and
// JIT code calls the kernels only where amxAvailable() said yes.
#define AMX_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,amx-tile,amx-bf16")))

namespace gantry::backend {
namespace {

constexpr int64_t kTileRows = 16;     // rows of every tile
constexpr int64_t kTileK = 32;        // bf16 values of k per A-tile row (64 bytes)
constexpr int64_t kTileBf16 = 512;    // bf16 values per tile (1 KiB)

int64_t blocks(int64_t n, int64_t size) { return (n + size - 1) / size; }

bool askLinuxForTiles() {
  // The tile data state is off for a process until it asks (Linux 5.16+): ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA.
  constexpr long kArchReqXcompPerm = 0x1023;
  constexpr long kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
}

bool cpuHasAmx() {
  unsigned eax, ebx, ecx, edx;
  // The OS must save the AVX-512 and tile state (XCR0: SSE, AVX, opmask, ZMM halves, tile config and data).
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & (1u << 27))) return false;  // OSXSAVE
  unsigned xcr0Low, xcr0High;
  asm volatile("xgetbv" : "=a"(xcr0Low), "=d"(xcr0High) : "c"(0));
  const unsigned needed = (1u << 1) | (1u << 2) | (1u << 5) | (1u << 6) | (1u << 7) | (1u << 17) | (1u << 18);
  if ((xcr0Low & needed) != needed) return false;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
  const bool amxBf16 = edx & (1u << 22), amxTile = edx & (1u << 24), avx512bw = ebx & (1u << 30), avx512f = ebx & (1u << 16);
  if (!(amxBf16 && amxTile && avx512bw && avx512f)) return false;
  if (!__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx)) return false;
  const bool avx512bf16 = eax & (1u << 5);
  return avx512bf16;
}

}  // namespace

bool amxAvailable() {
  static const bool available = cpuHasAmx() && askLinuxForTiles();
  return available;
}

bool amxEnabled() {
  static const bool enabled = [] {
    const char *setting = std::getenv("GANTRY_AMX");
    return !(setting && std::string(setting) == "0") && amxAvailable();
  }();
  return enabled;
}

int64_t amxPackedAFloats(int64_t m, int64_t k) { return 3 * blocks(m, kTileRows) * blocks(k, kTileK) * kTileBf16 / 2; }
int64_t amxPackedBFloats(int64_t k, int64_t n) { return 3 * 2 * blocks(n, 2 * kTileRows) * blocks(k, kTileK) * kTileBf16 / 2; }

}  // namespace gantry::backend

namespace {

using gantry::backend::kTileBf16;
using gantry::backend::kTileK;
using gantry::backend::kTileRows;
using gantry::backend::blocks;

// 16 floats split exactly into three bf16 vectors, x = x0 + x1 + x2 (each the nearest bf16 to what is left).
struct Split16 {
  __m256i part[3];
};

AMX_TARGET inline __m512 widen(__m256i h) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)); }

AMX_TARGET inline Split16 split16(__m512 x) {
  Split16 s;
  s.part[0] = reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(x));
  // A finite x within half a bf16 step of FLT_MAX (|x| >= 0x7f7f8000) rounds to an infinite bf16, which would leave
  // an infinite remainder; there x0 is x truncated to bf16 instead (the remainder stays exact and finite).
  const __m512i bits = _mm512_castps_si512(x), magnitude = _mm512_and_si512(bits, _mm512_set1_epi32(0x7fffffff));
  const __mmask16 large = _mm512_cmpge_epi32_mask(magnitude, _mm512_set1_epi32(0x7f7f8000));  // or inf or NaN
  if (large) {
    const __mmask16 nearMax = large & _mm512_cmplt_epi32_mask(magnitude, _mm512_set1_epi32(0x7f800000));
    s.part[0] = _mm256_mask_mov_epi16(s.part[0], nearMax, _mm512_cvtepi32_epi16(_mm512_srli_epi32(bits, 16)));
  }
  __m512 rest = _mm512_sub_ps(x, widen(s.part[0]));
  s.part[1] = reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(rest));
  rest = _mm512_sub_ps(rest, widen(s.part[1]));
  s.part[2] = reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(rest));
  return s;
}

// Up to 16 floats from base + offset (`count` of them, zero past), or zeros when count <= 0 (then base + offset,
// which may lie past the end of the operand, is never formed).
AMX_TARGET inline __m512 load16(const float *base, int64_t offset, int64_t count) {
  if (count <= 0) return _mm512_setzero_ps();
  if (count >= 16) return _mm512_loadu_ps(base + offset);
  return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << count) - 1), base + offset);
}

// Two 16-value halves into one 32-value row: [lo | hi].
AMX_TARGET inline __m512i concat(__m256i lo, __m256i hi) { return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1); }

// Pairs: [e0, o0, e1, o1, ..., e15, o15] (a row of a B tile, or a column of pairs of an A tile).
AMX_TARGET inline __m512i interleave(__m256i even, __m256i odd) {
  // One two-source permute: value t of `even` (first source) and of `odd` (second source, indices from 32).
  alignas(64) static const uint16_t index[32] = {0, 32, 1, 33, 2, 34, 3, 35, 4, 36, 5, 37, 6, 38, 7, 39,
                                                 8, 40, 9, 41, 10, 42, 11, 43, 12, 44, 13, 45, 14, 46, 15, 47};
  return _mm512_permutex2var_epi16(_mm512_castsi256_si512(even), _mm512_load_si512(index), _mm512_castsi256_si512(odd));
}

// One round of a 16 x 16 transpose of 32-bit values held as 16 rows: exchanges bit `Bit` of the row index with
// that bit of the column index, with two-input permutes.
template <int Bit>
AMX_TARGET inline void transposeRound(__m512i rows[16]) {
  alignas(64) static constexpr auto indices = [] {
    std::array<std::array<int32_t, 16>, 2> lowHigh{};
    for (int c = 0; c < 16; ++c) {
      lowHigh[0][c] = (c & Bit) == 0 ? c : 16 + (c ^ Bit);
      lowHigh[1][c] = (c & Bit) != 0 ? 16 + c : (c | Bit);
    }
    return lowHigh;
  }();
  const __m512i low = _mm512_load_si512(indices[0].data()), high = _mm512_load_si512(indices[1].data());
#pragma GCC unroll 16
  for (int r = 0; r < 16; ++r) {
    if (r & Bit) continue;
    const __m512i a = rows[r], b = rows[r | Bit];
    rows[r] = _mm512_permutex2var_epi32(a, low, b);
    rows[r | Bit] = _mm512_permutex2var_epi32(a, high, b);
  }
}

// Transposes a 1 KiB tile in place as 16 x 16 32-bit values (pairs of bf16), in registers.
AMX_TARGET inline void transposeTile(uint16_t *tile) {
  __m512i rows[16];
#pragma GCC unroll 16
  for (int r = 0; r < 16; ++r) rows[r] = _mm512_loadu_si512(tile + r * 32);
  transposeRound<1>(rows);
  transposeRound<2>(rows);
  transposeRound<4>(rows);
  transposeRound<8>(rows);
#pragma GCC unroll 16
  for (int r = 0; r < 16; ++r) _mm512_storeu_si512(tile + r * 32, rows[r]);
}

// Tile (block, kb) of plane p in a packed operand with `blockCount` blocks and `kBlocks` k blocks.
inline uint16_t *tileAt(void *packed, int64_t plane, int64_t block, int64_t kb, int64_t blockCount, int64_t kBlocks) {
  return static_cast<uint16_t *>(packed) + ((plane * blockCount + block) * kBlocks + kb) * kTileBf16;
}

AMX_TARGET inline void storeRows(uint16_t *tile0, uint16_t *tile1, uint16_t *tile2, int64_t row, const __m512i parts[3]) {
  _mm512_storeu_si512(tile0 + row * 32, parts[0]);
  _mm512_storeu_si512(tile1 + row * 32, parts[1]);
  _mm512_storeu_si512(tile2 + row * 32, parts[2]);
}

// The 16 rows of a tile (its three planes) from 16 rows of a row-major source, 32 contiguous values each: tile
// row r is source row first + r (zeros from row `rows` on), values from `from` (zeros past `valuesLeft`).
AMX_TARGET inline void storeContiguousRows(const float *src, int64_t ld, int64_t first, int64_t rows, int64_t from,
                                           int64_t valuesLeft, uint16_t *t0, uint16_t *t1, uint16_t *t2) {
  for (int64_t r = 0; r < 16; ++r) {
    const bool inside = first + r < rows;
    const int64_t row = (first + r) * ld + from;
    Split16 lo = split16(load16(src, row, inside ? valuesLeft : 0)), hi = split16(load16(src, row + 16, inside ? valuesLeft - 16 : 0));
    __m512i parts[3];
    for (int part = 0; part < 3; ++part) parts[part] = concat(lo.part[part], hi.part[part]);
    storeRows(t0, t1, t2, r, parts);
  }
}

// The 16 rows of a tile (its three planes) from 32 rows of a row-major source taken in pairs: tile row q
// interleaves rows p0 + 2q and p0 + 2q + 1 (zeros from row `depth` on), 16 values each from column c0 (zeros
// past `cols`).
AMX_TARGET inline void storePairedRows(const float *src, int64_t ld, int64_t p0, int64_t depth, int64_t c0, int64_t cols,
                                       uint16_t *t0, uint16_t *t1, uint16_t *t2) {
  for (int64_t q = 0; q < 16; ++q) {
    const int64_t p = p0 + 2 * q;
    Split16 even = split16(load16(src, p * ld + c0, p < depth ? cols : 0));
    Split16 odd = split16(load16(src, (p + 1) * ld + c0, p + 1 < depth ? cols : 0));
    __m512i parts[3];
    for (int part = 0; part < 3; ++part) parts[part] = interleave(even.part[part], odd.part[part]);
    storeRows(t0, t1, t2, q, parts);
  }
}

}  // namespace

extern "C" AMX_TARGET void gantry_amx_pack_a(const float *a, int64_t lda, int64_t transposed, int64_t m, int64_t k, void *packed,
                                             int64_t first, int64_t last) {
  const int64_t rowBlocks = blocks(m, kTileRows), kBlocks = blocks(k, kTileK);
  for (int64_t ib = first; ib < last; ++ib)
    for (int64_t kb = 0; kb < kBlocks; ++kb) {
      uint16_t *t0 = tileAt(packed, 0, ib, kb, rowBlocks, kBlocks), *t1 = tileAt(packed, 1, ib, kb, rowBlocks, kBlocks),
               *t2 = tileAt(packed, 2, ib, kb, rowBlocks, kBlocks);
      const int64_t p0 = kb * kTileK, kLeft = k - p0, i0 = ib * kTileRows;
      if (!transposed) {
        // Tile row r is row i0 + r of A, 32 values of k from p0: contiguous.
        storeContiguousRows(a, lda, i0, m, p0, kLeft, t0, t1, t2);
        continue;
      }
      // Transposed: row p of A holds op(A)(i0 .. i0+15, p). Pairs of rows give, for each of the 16 rows of the
      // tile, one 32-bit pair of k values: written as the tile's rows, then transposed in place.
      storePairedRows(a, lda, p0, k, i0, m - i0, t0, t1, t2);
      transposeTile(t0);
      transposeTile(t1);
      transposeTile(t2);
    }
}

extern "C" AMX_TARGET void gantry_amx_pack_b(const float *b, int64_t ldb, int64_t transposed, int64_t k, int64_t n, void *packed,
                                             int64_t first, int64_t last) {
  const int64_t colBlocks = 2 * blocks(n, 2 * kTileRows), kBlocks = blocks(k, kTileK);
  auto tiles = [&](int64_t jb, int64_t kb) {
    return std::array<uint16_t *, 3>{tileAt(packed, 0, jb, kb, colBlocks, kBlocks), tileAt(packed, 1, jb, kb, colBlocks, kBlocks),
                                     tileAt(packed, 2, jb, kb, colBlocks, kBlocks)};
  };
  if (!transposed) {
    // Tile row q is rows p0 + 2q and p0 + 2q + 1 of B, 16 columns from j0, interleaved into pairs. k blocks
    // outermost, so each row of B is read along its length (18% faster than down the rows, 512 x 512).
    for (int64_t kb = 0; kb < kBlocks; ++kb)
      for (int64_t jb = first; jb < last; ++jb) {
        const auto [t0, t1, t2] = tiles(jb, kb);
        const int64_t j0 = jb * kTileRows;
        storePairedRows(b, ldb, kb * kTileK, k, j0, n - j0, t0, t1, t2);
      }
    return;
  }
  // Transposed: row j of B holds op(B)(p, j) for consecutive p, i.e. the 16 pairs column j of the tile needs:
  // written as the tile's rows, then transposed in place. Column blocks outermost: 16 rows of B read along.
  for (int64_t jb = first; jb < last; ++jb)
    for (int64_t kb = 0; kb < kBlocks; ++kb) {
      const auto [t0, t1, t2] = tiles(jb, kb);
      const int64_t p0 = kb * kTileK;
      storeContiguousRows(b, ldb, jb * kTileRows, n, p0, k - p0, t0, t1, t2);
      transposeTile(t0);
      transposeTile(t1);
      transposeTile(t2);
    }
}

namespace {

struct TileConfig {
  uint8_t palette = 1, startRow = 0;
  uint8_t reserved[14] = {};
  uint16_t bytesPerRow[16] = {};
  uint8_t rows[16] = {};
};

}  // namespace

extern "C" AMX_TARGET void gantry_amx_product(const void *packedA, const void *packedB, float *c, int64_t m, int64_t n, int64_t k,
                                              int64_t first, int64_t last) {
  // Tiles 0-1: the a0 b0 sums of the tile's two 16 x 16 halves; 2-3: the five small terms; 4: a0; 5-6: one
  // part of B for both halves; 7: a1 or a2.
  TileConfig config;
  for (int t = 0; t < 8; ++t) {
    config.rows[t] = 16;
    config.bytesPerRow[t] = 64;
  }
  _tile_loadconfig(&config);
  const int64_t rowBlocks = blocks(m, kTileRows), colBlocks = 2 * blocks(n, 2 * kTileRows), kBlocks = blocks(k, kTileK);
  void *pa = const_cast<void *>(packedA), *pb = const_cast<void *>(packedB);
  alignas(64) float big[16 * 32], small[16 * 32];
  for (int64_t t = first; t < last; ++t) {
    const int64_t ib = t % rowBlocks, jb = 2 * (t / rowBlocks);
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    for (int64_t kb = 0; kb < kBlocks; ++kb) {
      const uint16_t *a0 = tileAt(pa, 0, ib, kb, rowBlocks, kBlocks), *a1 = tileAt(pa, 1, ib, kb, rowBlocks, kBlocks),
                     *a2 = tileAt(pa, 2, ib, kb, rowBlocks, kBlocks);
      auto b = [&](int64_t part, int64_t half) { return tileAt(pb, part, jb + half, kb, colBlocks, kBlocks); };
      // Written out: GCC's tile intrinsics are macros that paste their register numbers into the assembly, so
      // they cannot take a helper's parameters.
      _tile_loadd(4, a0, 64);
      _tile_loadd(7, a1, 64);
      _tile_loadd(5, b(0, 0), 64);
      _tile_loadd(6, b(0, 1), 64);
      _tile_dpbf16ps(0, 4, 5);  // a0 b0
      _tile_dpbf16ps(1, 4, 6);
      _tile_dpbf16ps(2, 7, 5);  // a1 b0
      _tile_dpbf16ps(3, 7, 6);
      _tile_loadd(7, a2, 64);
      _tile_dpbf16ps(2, 7, 5);  // a2 b0
      _tile_dpbf16ps(3, 7, 6);
      _tile_loadd(5, b(1, 0), 64);
      _tile_loadd(6, b(1, 1), 64);
      _tile_dpbf16ps(2, 4, 5);  // a0 b1
      _tile_dpbf16ps(3, 4, 6);
      _tile_loadd(7, a1, 64);
      _tile_dpbf16ps(2, 7, 5);  // a1 b1
      _tile_dpbf16ps(3, 7, 6);
      _tile_loadd(5, b(2, 0), 64);
      _tile_loadd(6, b(2, 1), 64);
      _tile_dpbf16ps(2, 4, 5);  // a0 b2
      _tile_dpbf16ps(3, 4, 6);
    }
    _tile_stored(0, big, 32 * 4);
    _tile_stored(1, big + 16, 32 * 4);
    _tile_stored(2, small, 32 * 4);
    _tile_stored(3, small + 16, 32 * 4);
    const int64_t i0 = ib * kTileRows, j0 = jb * kTileRows;
    const int64_t rows = std::min<int64_t>(16, m - i0), cols = std::min<int64_t>(32, n - j0);
    const __mmask16 lowMask = static_cast<__mmask16>(cols >= 16 ? 0xffff : (1u << cols) - 1);
    const __mmask16 highMask = static_cast<__mmask16>(cols >= 32 ? 0xffff : cols <= 16 ? 0 : (1u << (cols - 16)) - 1);
    for (int64_t r = 0; r < rows; ++r) {
      float *out = c + (i0 + r) * n + j0;
      _mm512_mask_storeu_ps(out, lowMask, _mm512_add_ps(_mm512_load_ps(big + r * 32), _mm512_load_ps(small + r * 32)));
      _mm512_mask_storeu_ps(out + 16, highMask, _mm512_add_ps(_mm512_load_ps(big + r * 32 + 16), _mm512_load_ps(small + r * 32 + 16)));
    }
  }
  _tile_release();
}
