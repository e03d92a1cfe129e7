// Philox4x32-10 against the Random123 known-answer vectors, and the samplers built on it: exact
// reproducibility, independence from how a draw is split, and the moments of each distribution.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "runtime/NormalKernel.h"
#include "runtime/Random.h"

using namespace gantry::runtime;

TEST_CASE("philox4x32-10 matches the Random123 known answers", "[random]") {
  CHECK(philox4x32_10({0, 0, 0, 0}, {0, 0}) == PhiloxCounter{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8});
  CHECK(philox4x32_10({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}) ==
        PhiloxCounter{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd});
  CHECK(philox4x32_10({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}) ==
        PhiloxCounter{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1});
}

TEST_CASE("a draw depends only on its key and each element's position", "[random]") {
  RandomKey key{42, 7, 3};
  std::vector<float> a(1001), b(1001), prefix(37);
  fillNormal(key, 0.0f, 1.0f, a);
  fillNormal(key, 0.0f, 1.0f, b);
  fillNormal(key, 0.0f, 1.0f, prefix);
  CHECK(a == b);
  CHECK(std::equal(prefix.begin(), prefix.end(), a.begin()));
  for (RandomKey other : {RandomKey{43, 7, 3}, RandomKey{42, 8, 3}, RandomKey{42, 7, 4}, RandomKey{42ull << 32, 7, 3}}) {
    fillNormal(other, 0.0f, 1.0f, b);
    CHECK(a != b);
  }
  fillUniform(key, 0.0f, 1.0f, a);
  fillUniform(key, 0.0f, 1.0f, prefix);
  CHECK(std::equal(prefix.begin(), prefix.end(), a.begin()));
}

namespace {
struct Moments {
  double mean = 0, var = 0;
};
Moments moments(const std::vector<float> &v) {
  Moments m;
  for (float x : v) m.mean += x;
  m.mean /= static_cast<double>(v.size());
  for (float x : v) m.var += (x - m.mean) * (x - m.mean);
  m.var /= static_cast<double>(v.size());
  return m;
}
}  // namespace

// With n = 2^20 samples the standard error of a mean is ~1e-3 of the std; the bounds are about 5 of those.
TEST_CASE("uniform draws cover [low, high) with the right moments", "[random]") {
  std::vector<float> v(1 << 20);
  fillUniform({1, 0, 0}, -1.0f, 3.0f, v);
  float lo = *std::min_element(v.begin(), v.end()), hi = *std::max_element(v.begin(), v.end());
  CHECK(lo >= -1.0f);
  CHECK(hi < 3.0f);
  CHECK(lo < -0.999f);
  CHECK(hi > 2.999f);
  Moments m = moments(v);
  CHECK(m.mean == Approx(1.0).margin(0.006));
  CHECK(m.var == Approx(16.0 / 12.0).margin(0.006));
  // Each quarter of the interval holds a quarter of the samples.
  std::array<int, 4> bins{};
  for (float x : v) bins[std::min(3, static_cast<int>(x + 1.0f))]++;
  for (int count : bins) CHECK(count / static_cast<double>(v.size()) == Approx(0.25).margin(0.003));
}

TEST_CASE("normal draws have the right moments and tails", "[random]") {
  std::vector<float> v(1 << 20);
  fillNormal({2, 5, 1}, 0.5f, 2.0f, v);
  Moments m = moments(v);
  CHECK(m.mean == Approx(0.5).margin(0.01));
  CHECK(std::sqrt(m.var) == Approx(2.0).margin(0.01));
  double within = 0;
  for (float x : v) within += std::abs(x - 0.5f) < 1.96f * 2.0f;
  CHECK(within / static_cast<double>(v.size()) == Approx(0.95).margin(0.002));
  CHECK(std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); }));
}

TEST_CASE("different streams are uncorrelated", "[random]") {
  std::vector<float> a(1 << 18), b(1 << 18);
  fillNormal({9, 0, 0}, 0.0f, 1.0f, a);
  fillNormal({9, 0, 1}, 0.0f, 1.0f, b);
  double dot = 0;
  for (size_t i = 0; i < a.size(); ++i) dot += static_cast<double>(a[i]) * b[i];
  CHECK(std::abs(dot / static_cast<double>(a.size())) < 0.01);
}

TEST_CASE("normal draws are Box-Muller of the Philox words, to f32 accuracy", "[random]") {
  // Element 4b + 2p (+1) is r cos(2 pi u2) (r sin(2 pi u2)), r = sqrt(-2 ln u1), from words 2p and 2p + 1 of
  // block b: computed here in double precision from the public Philox function, against the vectorized f32
  // kernel, over sizes that end inside a 64-element group and across many blocks.
  const RandomKey key{77, 123456789012ull, 5};
  for (size_t size : {size_t{1}, size_t{63}, size_t{65}, size_t{200000}}) {
    std::vector<float> v(size);
    fillNormal(key, 0.0f, 1.0f, v);
    double worst = 0;
    for (size_t i = 0; i < size; ++i) {
      const uint64_t b = i / 4;
      PhiloxCounter w = philox4x32_10({static_cast<uint32_t>(b), static_cast<uint32_t>(key.step), static_cast<uint32_t>(key.step >> 32), key.stream},
                                      {static_cast<uint32_t>(key.seed), static_cast<uint32_t>(key.seed >> 32)});
      const size_t pair = (i % 4) / 2;
      const double u1 = ((w[2 * pair] >> 8) + 1) / 16777216.0, u2 = (w[2 * pair + 1] >> 8) / 16777216.0;
      const double r = std::sqrt(-2.0 * std::log(u1));
      const double want = i % 2 == 0 ? r * std::cos(2 * M_PI * u2) : r * std::sin(2 * M_PI * u2);
      worst = std::max(worst, std::abs(v[i] - want) / std::max(r, 1.0));
    }
    INFO("size " << size);
    CHECK(worst < 1e-6);  // a few f32 ulps of the radius
  }
}

TEST_CASE("the vectorized Philox kernels give the reference function's words", "[random]") {
  using namespace gantry::runtime::detail;
  for (RandomKey key : {RandomKey{0, 0, 0}, RandomKey{0xfedcba9876543210ull, 0x123456789abcdefull, 0xffffffffu}, RandomKey{7, 3, 2}})
    for (uint64_t first : {uint64_t{0}, uint64_t{16}, uint64_t{0xfffffff0u}}) {
      uint64_t c[4][kLanes];
      std::vector<void (*)(const RandomKey &, uint64_t, uint64_t *, uint64_t *, uint64_t *, uint64_t *)> kernels = {philoxPortable};
      if (__builtin_cpu_supports("avx512f")) kernels.push_back(philoxAvx512);
      for (auto kernel : kernels) {
        kernel(key, first, c[0], c[1], c[2], c[3]);
        for (int l = 0; l < kLanes; ++l) {
          const uint64_t block = first + static_cast<uint64_t>(l);
          PhiloxCounter want = philox4x32_10({static_cast<uint32_t>(block), static_cast<uint32_t>(key.step), static_cast<uint32_t>(key.step >> 32), key.stream},
                                             {static_cast<uint32_t>(key.seed), static_cast<uint32_t>(key.seed >> 32)});
          for (int w = 0; w < 4; ++w) CHECK(c[w][l] == want[static_cast<size_t>(w)]);
        }
      }
    }
}
