#include "runtime/Init.h"

#include <cmath>
#include <vector>

#include "runtime/Random.h"

namespace gantry::runtime {
namespace {

constexpr uint64_t kInitStep = ~uint64_t{0};  // a step number no training step uses

}  // namespace

void initialiseParameter(const ir::Module &m, const std::string &name, const ir::TensorType &type, uint64_t seed, uint32_t stream,
                         std::span<float> out) {
  std::fill(out.begin(), out.end(), 0.0f);
  if (name.size() < 2 || name.substr(name.size() - 2) != ".w" || type.rank() != 2) return;  // biases start at zero
  const std::string net = name.substr(0, name.find('.'));
  std::string kind = "he";
  if (const ir::AttrValue *k = m.attrs.find("init." + net)) kind = std::get<ir::Symbol>(*k).name;
  auto param = [&](const char *p, double fallback) {
    const ir::AttrValue *v = m.attrs.find("init." + net + "." + p);
    return v ? std::get<double>(*v) : fallback;
  };
  const int64_t fanIn = type.shape[0], fanOut = type.shape[1];
  RandomKey key{seed, kInitStep, stream};
  if (kind == "he") return fillNormal(key, 0.0f, static_cast<float>(std::sqrt(2.0 / static_cast<double>(fanIn))), out);
  if (kind == "glorot") return fillNormal(key, 0.0f, static_cast<float>(std::sqrt(2.0 / static_cast<double>(fanIn + fanOut))), out);
  if (kind == "normal") return fillNormal(key, 0.0f, static_cast<float>(param("std", 0.02)), out);
  // Orthogonal: Gram-Schmidt on the columns of a tall Gaussian matrix (rows >= cols), in double precision.
  const int64_t rows = std::max(fanIn, fanOut), cols = std::min(fanIn, fanOut);
  std::vector<float> g(static_cast<size_t>(rows * cols));
  fillNormal(key, 0.0f, 1.0f, g);
  std::vector<double> q(g.begin(), g.end());  // [rows, cols]
  for (int64_t c = 0; c < cols; ++c) {
    for (int64_t prev = 0; prev < c; ++prev) {
      double dot = 0;
      for (int64_t r = 0; r < rows; ++r) dot += q[r * cols + c] * q[r * cols + prev];
      for (int64_t r = 0; r < rows; ++r) q[r * cols + c] -= dot * q[r * cols + prev];
    }
    double norm = 0;
    for (int64_t r = 0; r < rows; ++r) norm += q[r * cols + c] * q[r * cols + c];
    norm = std::sqrt(norm);
    // Gram-Schmidt gives R's diagonal positive, which is torch's sign convention after its fix-up.
    for (int64_t r = 0; r < rows; ++r) q[r * cols + c] /= norm;
  }
  const double gain = param("gain", 1.0);
  // out is [fanIn, fanOut]: q itself when fanIn >= fanOut, else its transpose.
  for (int64_t i = 0; i < fanIn; ++i)
    for (int64_t j = 0; j < fanOut; ++j)
      out[static_cast<size_t>(i * fanOut + j)] = static_cast<float>(gain * (fanIn >= fanOut ? q[i * cols + j] : q[j * cols + i]));
}

}  // namespace gantry::runtime
