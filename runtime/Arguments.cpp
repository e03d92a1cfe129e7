#include "runtime/Arguments.h"

#include <cmath>

#include "runtime/Random.h"

namespace gantry::runtime {

std::vector<ir::Tensor> sampleArguments(const ir::Function &f, uint64_t seed) {
  std::vector<ir::Tensor> args;
  for (size_t i = 0; i < f.params.size(); ++i) {
    const ir::Param &p = f.params[i];
    const ir::TensorType &type = f.type(p.value);
    std::vector<float> values(static_cast<size_t>(type.numElements()), 0.0f);
    RandomKey key{seed, 0, static_cast<uint32_t>(i)};
    switch (p.role) {
      case ir::ParamRole::Random:
        if (p.dist->kind == ir::RandomDist::Kind::Normal) {
          fillNormal(key, static_cast<float>(p.dist->a), static_cast<float>(p.dist->b), values);
        } else {
          fillUniform(key, static_cast<float>(p.dist->a), static_cast<float>(p.dist->b), values);
        }
        break;
      case ir::ParamRole::Input:
        fillNormal(key, 0.0f, 1.0f, values);
        break;
      case ir::ParamRole::Param:
        if (type.rank() == 2) fillNormal(key, 0.0f, static_cast<float>(1.0 / std::sqrt(type.shape[0])), values);
        break;
      case ir::ParamRole::State:
        break;
    }
    args.push_back({type, std::vector<double>(values.begin(), values.end())});
  }
  return args;
}

}  // namespace gantry::runtime
