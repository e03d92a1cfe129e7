// The IR's containers: a module of named functions; a function of typed parameters, a straight-line body of SSA
// ops, and named results.
//
// A training step is a static graph, so a function body is one list of ops in definition order with no control
// flow: an op may use only parameters and results of ops before it. Values are small handles (an index into the
// function's value table); passes usually rebuild a function with a Builder rather than edit one in place.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ir/Attributes.h"
#include "ir/Ops.h"
#include "ir/Types.h"

namespace gantry::ir {

struct Value {
  uint32_t id = UINT32_MAX;
  bool valid() const { return id != UINT32_MAX; }
  bool operator==(const Value &) const = default;
};

// What a parameter is to the runtime. The role is part of the IR so every pass and the runtime agree on it.
enum class ParamRole : uint8_t {
  Input,   // data the runtime feeds each call (a batch of real samples, say)
  Param,   // a trainable parameter
  State,   // optimizer state (Adam's moments, its step count)
  Random,  // a random draw the runtime fills from the distribution named here, so a step is reproducible
};
const char *roleName(ParamRole r);

struct RandomDist {
  enum class Kind : uint8_t { Normal, Uniform };
  Kind kind = Kind::Normal;
  double a = 0.0;  // normal: mean;  uniform: low
  double b = 1.0;  // normal: std;   uniform: high (exclusive)
  bool operator==(const RandomDist &) const = default;
  std::string str() const;  // `normal(0.0, 1.0)`, `uniform(0.0, 1.0)`
};

struct ValueInfo {
  TensorType type;
  std::string name;  // a hint for printing; parameters' names are their identity and are kept exactly
};

struct Param {
  Value value;
  ParamRole role = ParamRole::Input;
  std::optional<RandomDist> dist;  // exactly when role == Random
};

struct Op {
  OpKind kind;
  std::vector<Value> operands;
  Attrs attrs;
  Value result;
};

struct Result {
  std::string name;
  Value value;
};

struct Function {
  std::string name;
  std::vector<ValueInfo> values;  // indexed by Value::id
  std::vector<Param> params;
  std::vector<Op> ops;
  std::vector<Result> results;

  const TensorType &type(Value v) const { return values.at(v.id).type; }
  const std::string &nameOf(Value v) const { return values.at(v.id).name; }
  Value newValue(TensorType t, std::string name = {});
  const Param *findParam(const std::string &name) const;
};

// Module attributes carry what the functions alone do not say: which function is the generator, the GAN
// options the later passes expand (unroll, penalties, optimizers) and what the runtime needs (data, training).
struct Module {
  Attrs attrs;
  std::vector<Function> functions;

  Function *find(const std::string &name);
  const Function *find(const std::string &name) const;
};

}  // namespace gantry::ir
