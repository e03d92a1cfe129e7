// Checks a parsed .gan program and resolves it into a CheckedProgram: every name bound, every call's arguments
// matched to the builtin's signature (defaults filled in, ranges checked), widths inferred and checked through
// both networks, every objective expression given a shape, both losses scalars. All independent errors are
// collected in one run, with notes pointing at declarations ("D declared here").
//
// Preconditions: the program parsed without errors. Postcondition: when `diags` has no errors, the result is
// complete and lowering (frontend/Lower.h) cannot fail.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "frontend/Ast.h"

namespace gantry::frontend {

struct DataSpec {
  std::string var;                        // x
  std::string kind;                       // bimodal1d, ring, grid, spiral, swissroll, normal, csv, npy
  std::map<std::string, double> params;   // every numeric parameter, defaults included
  std::string path;                       // csv and npy: resolved against the .gan file's folder
  bool standardize = false;
  int64_t dim = 0;                        // features per sample
};

struct NoiseSpec {
  std::string var;   // z
  std::string kind;  // normal or uniform
  int64_t dim = 0;
  double a = 0, b = 1;  // normal: mean, std; uniform: low, high
};

struct LayerStep {
  enum class Kind { Linear, Activation };
  Kind kind = Kind::Linear;
  std::string name;        // Linear: the layer's name (`l1`, `l2`, ... unless named in the file)
  int64_t width = 0;       // Linear: output width
  bool bias = true;        // Linear
  std::string activation;  // Activation: relu, leaky_relu, tanh, sigmoid, elu, softplus
  double alpha = 0;        // leaky_relu and elu
};

struct InitSpec {
  std::string kind = "he";  // he, glorot, orthogonal, normal
  double param = 0;         // orthogonal: gain; normal: std
};

struct NetSpec {
  std::string name;
  std::string input;  // the data or noise variable it takes
  int64_t inWidth = 0, outWidth = 0;
  InitSpec init;
  std::vector<LayerStep> steps;
};

struct OptimizerSpec {
  std::string kind = "adam";              // sgd, adam, rmsprop
  std::map<std::string, double> params;   // lr, momentum, beta1, beta2, eps, alpha: defaults included
};

struct PenaltySpec {
  std::string kind;                       // wgan_gp, dragan, r1, r2
  std::map<std::string, double> params;   // lambda, c, k, gamma
};

struct UnrollSpec {
  int64_t steps = 0;  // 0: no unrolling
  bool secondOrder = true;
  bool fresh = false;  // a new batch per unrolled step
};

struct TrainSpec {
  int64_t batch = 64;
  int64_t steps = 10000;
  int64_t seed = 1;
  int64_t evalEvery = 1000;
};

struct CheckedProgram {
  DataSpec data;
  NoiseSpec noise;
  NetSpec generator, discriminator;
  std::vector<const LetStmt *> lets;  // in order
  const Expr *discriminatorLoss = nullptr;
  const Expr *generatorLoss = nullptr;
  std::string lossFamily;             // when the losses came from `losses FAMILY`
  std::vector<ExprPtr> familyExprs;   // owns the expressions a family expands to
  UnrollSpec unroll;
  std::vector<PenaltySpec> penalties;
  int64_t nCritic = 1;
  TrainSpec train;
  OptimizerSpec discriminatorOptimizer, generatorOptimizer;

  const NetSpec *net(const std::string &name) const;
};

// Command-line overrides `--set KEY=VALUE`, by key: train.batch, train.steps, train.seed, train.eval_every,
// data.PARAM, noise.PARAM, optimize.NET.PARAM, unroll.steps, unroll.order, unroll.fresh, penalty.KIND.PARAM,
// n_critic. Each value is checked exactly as if the file had said it; a key the program has no place for is an error.
using Overrides = std::map<std::string, ExprPtr>;
Overrides parseOverrides(const std::vector<std::string> &settings, DiagnosticList &diags);

// `sourceDir` is where relative data paths are resolved (the .gan file's folder).
CheckedProgram checkProgram(const Program &program, const std::string &sourceDir, const Overrides &overrides,
                            DiagnosticList &diags);

// The shape of an objective expression, in the checked program's scope (used by lowering as well).
using ExprShape = std::vector<int64_t>;

// numpy-style broadcasting of two shapes; false when they cannot be broadcast.
bool broadcastShapes(const ExprShape &a, const ExprShape &b, ExprShape &out);

}  // namespace gantry::frontend
