#include "runtime/Random.h"

#include <cmath>
#include <numbers>

namespace gantry::runtime {
namespace {

constexpr uint32_t kMul0 = 0xD2511F53, kMul1 = 0xCD9E8D57;     // round multipliers
constexpr uint32_t kWeyl0 = 0x9E3779B9, kWeyl1 = 0xBB67AE85;   // key schedule: golden ratio, sqrt(3) - 1

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
double unitOpenAtZero(uint32_t word) { return ((word >> 8) + 1) * kTwoToMinus24; }  // (0, 1]

}  // namespace

PhiloxCounter philox4x32_10(PhiloxCounter c, PhiloxKey k) {
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      k[0] += kWeyl0;
      k[1] += kWeyl1;
    }
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo(kMul0, c[0], hi0, lo0);
    mulhilo(kMul1, c[2], hi1, lo1);
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

void fillNormal(const RandomKey &key, float mean, float std, std::span<float> out) {
  for (size_t i = 0; i < out.size(); i += 4) {
    PhiloxCounter words = block(key, i / 4);
    for (size_t pair = 0; pair < 2; ++pair) {
      double radius = std::sqrt(-2.0 * std::log(unitOpenAtZero(words[2 * pair])));
      double angle = 2.0 * std::numbers::pi * unit(words[2 * pair + 1]);
      size_t first = i + 2 * pair;
      if (first < out.size()) out[first] = static_cast<float>(mean + std * radius * std::cos(angle));
      if (first + 1 < out.size()) out[first + 1] = static_cast<float>(mean + std * radius * std::sin(angle));
    }
  }
}

}  // namespace gantry::runtime
