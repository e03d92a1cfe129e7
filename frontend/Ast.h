// The syntax tree of a .gan program, as written (before any checking). frontend/Check.h turns it into a
// checked program; frontend/AstPrinter.h prints it (`gantry ir FILE.gan --emit=ast`).
#pragma once

#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "support/Diagnostic.h"

namespace gantry::frontend {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

// A name as written, with where it was written.
struct Name {
  std::string text;
  SourceRange range;
  bool empty() const { return text.empty(); }
};

// An argument of a call: positional (empty name) or named (`alpha: 0.2`).
struct Arg {
  Name name;
  ExprPtr value;
};

struct Expr {
  enum class Kind { Number, String, Name, Call, Neg, Binary };
  Kind kind;
  SourceRange range;    // where the expression starts (and its extent, when on one line)
  std::string text;     // Number: its text; String: its contents; Name: the name; Call: the callee; Binary: the op
  double number = 0;    // Number
  bool isInteger = false;
  std::vector<Arg> args;  // Call
  ExprPtr lhs, rhs;       // Neg: lhs; Binary: both
  std::string origin;     // empty: from the file; otherwise the `--set key=value` it came from
};

struct DataDecl {
  Name var;
  ExprPtr source;  // a call: ring(...), csv("file.csv"), ...
};

struct NoiseDecl {
  Name var;
  ExprPtr dist;  // normal(dim: 256) or uniform(dim: 2, ...)
};

struct Layer {
  Name name;     // optional: `h1 = relu(linear(128))`
  ExprPtr expr;  // linear(...) wrapped in activations, or a bare activation
};

struct NetDecl {
  Name name;
  Name input;      // the data or noise variable whose width the net takes
  ExprPtr width;   // the output width after `->`
  ExprPtr init;    // optional: he, glorot, orthogonal(gain: ..), normal(std: ..)
  std::vector<Layer> layers;
};

struct LetStmt {
  Name name;
  ExprPtr value;
};
struct LossStmt {
  Name net;
  ExprPtr value;
};
struct LossesStmt {  // `losses hinge`: both losses from a named family
  Name family;
};
struct UnrollStmt {
  SourceRange keyword;
  Name net;
  ExprPtr steps;
  std::vector<Arg> options;  // order: first | second, fresh: true | false
};
struct PenaltyStmt {
  Name net;
  ExprPtr call;  // wgan_gp(lambda: 10), dragan(...), r1(gamma: ..), r2(gamma: ..)
};
struct NCriticStmt {
  SourceRange keyword;
  ExprPtr value;
};
using ObjectiveStmt = std::variant<LetStmt, LossStmt, LossesStmt, UnrollStmt, PenaltyStmt, NCriticStmt>;

struct TrainSetting {  // batch 512, steps 25000, seed 1, eval_every 1000
  Name key;
  ExprPtr value;
};
struct OptimizeStmt {
  Name net;
  ExprPtr call;  // sgd(...), adam(...), rmsprop(...)
};

struct Program {
  std::string file;
  std::vector<DataDecl> data;
  std::vector<NoiseDecl> noise;
  std::vector<NetDecl> nets;
  std::vector<SourceRange> objectiveBlocks;  // where each `objective` keyword is (more than one is an error)
  std::vector<ObjectiveStmt> objective;
  std::vector<SourceRange> trainBlocks;
  std::vector<TrainSetting> train;
  std::vector<OptimizeStmt> optimizers;
};

}  // namespace gantry::frontend
