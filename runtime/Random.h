// Counter-based random numbers (Philox4x32-10, Salmon et al. 2011), so that a draw depends only on its key and
// its position, never on thread count or on the order in which elements are filled:
//   element i of the draw keyed by (seed, step, stream) = f(philox(counter = {i / 4, step, stream}, key = seed)).
// A training step is then reproducible from its seed, and a checkpoint resumes exactly.
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace gantry::runtime {

using PhiloxCounter = std::array<uint32_t, 4>;
using PhiloxKey = std::array<uint32_t, 2>;

// The Philox4x32 constants (Random123): round multipliers, and the key schedule's increments (the golden ratio and
// sqrt(3) - 1). The vectorized kernel in runtime/NormalKernel.cpp uses the same ones.
constexpr uint32_t kPhiloxMul0 = 0xD2511F53, kPhiloxMul1 = 0xCD9E8D57;
constexpr uint32_t kPhiloxWeyl0 = 0x9E3779B9, kPhiloxWeyl1 = 0xBB67AE85;

// The Philox4x32 bijection with 10 rounds (the Random123 reference parameters).
PhiloxCounter philox4x32_10(PhiloxCounter counter, PhiloxKey key);

// Which draw: the run's seed, the training step, and a stream number per random input of the step.
struct RandomKey {
  uint64_t seed = 0;
  uint64_t step = 0;
  uint32_t stream = 0;
};

// Uniform on [low, high): 24 random bits per element, so every value is exactly representable in f32.
void fillUniform(const RandomKey &key, float low, float high, std::span<float> out);

// Normal(mean, std) by Box-Muller on pairs of 24-bit uniforms, in single precision (large draws split across
// threads, deterministically).
void fillNormal(const RandomKey &key, float mean, float std, std::span<float> out);

}  // namespace gantry::runtime
