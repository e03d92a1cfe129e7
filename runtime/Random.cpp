#include "runtime/Random.h"

#include "backend/ThreadPool.h"
#include "runtime/NormalKernel.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace gantry::runtime {
namespace {

void mulhilo(uint32_t a, uint32_t b, uint32_t &hi, uint32_t &lo) {
  uint64_t p = static_cast<uint64_t>(a) * b;
  hi = static_cast<uint32_t>(p >> 32);
  lo = static_cast<uint32_t>(p);
}

// The 4 random words of block `block` of a draw.
PhiloxCounter block(const RandomKey &key, uint64_t block) {
  // Counter words: block index (low 32 bits), the step (64 bits), the stream. Draws of more than 2^32 blocks
  // (2^34 elements) are beyond any tensor Gantry accepts.
  PhiloxCounter counter = {static_cast<uint32_t>(block), static_cast<uint32_t>(key.step),
                           static_cast<uint32_t>(key.step >> 32), key.stream};
  return philox4x32_10(counter, {static_cast<uint32_t>(key.seed), static_cast<uint32_t>(key.seed >> 32)});
}

constexpr double kTwoToMinus24 = 1.0 / 16777216.0;
double unit(uint32_t word) { return (word >> 8) * kTwoToMinus24; }                 // [0, 1)

}  // namespace

PhiloxCounter philox4x32_10(PhiloxCounter c, PhiloxKey k) {
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      k[0] += kPhiloxWeyl0;
      k[1] += kPhiloxWeyl1;
    }
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo(kPhiloxMul0, c[0], hi0, lo0);
    mulhilo(kPhiloxMul1, c[2], hi1, lo1);
    c = {hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0};
  }
  return c;
}

void fillUniform(const RandomKey &key, float low, float high, std::span<float> out) {
  const double width = static_cast<double>(high) - low;
  for (size_t i = 0; i < out.size(); i += 4) {
    PhiloxCounter words = block(key, i / 4);
    for (size_t j = 0; j < 4 && i + j < out.size(); ++j) {
      auto v = static_cast<float>(low + width * unit(words[j]));
      out[i + j] = v < high ? v : std::nextafter(high, low);  // rounding must not reach the open end
    }
  }
}

namespace {

struct NormalFill {
  const RandomKey *key;
  float mean, std;
  float *out;
  size_t size;
};

// Groups [first, last) of 16 Philox blocks (64 elements); the last group may be partial.
void fillNormalGroups(int64_t first, int64_t last, void *ctx) {
  const NormalFill &f = *static_cast<const NormalFill *>(ctx);
  for (int64_t g = first; g < last; ++g) {
    const size_t start = static_cast<size_t>(g) * detail::kNormalsPerGroup;
    if (start + detail::kNormalsPerGroup <= f.size) {
      detail::normalGroup(*f.key, static_cast<uint64_t>(g) * detail::kLanes, f.mean, f.std, f.out + start);
    } else {
      float tail[detail::kNormalsPerGroup];
      detail::normalGroup(*f.key, static_cast<uint64_t>(g) * detail::kLanes, f.mean, f.std, tail);
      std::copy(tail, tail + (f.size - start), f.out + start);
    }
  }
}

}  // namespace

void fillNormal(const RandomKey &key, float mean, float std, std::span<float> out) {
  NormalFill f{&key, mean, std, out.data(), out.size()};
  const auto groups = static_cast<int64_t>((out.size() + detail::kNormalsPerGroup - 1) / detail::kNormalsPerGroup);
  // Large draws (a batch of noise) are split across the compiled code's threads: every element is still a
  // function of its key and position alone.
  if (groups >= 1024) {
    gantry_parallel_for(fillNormalGroups, &f, groups, 256);
  } else {
    fillNormalGroups(0, groups, &f);
  }
}

}  // namespace gantry::runtime
