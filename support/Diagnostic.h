// Diagnostics shared by every stage that reads text (the .gan frontend, the IR parser, data readers).
//
// A diagnostic renders as `FILE:LINE:COL: error: MESSAGE`, the form compilers and editors understand.
// Errors are reported by throwing `CompileError`; the CLI catches it at the top, prints it and exits with 1.
#pragma once

#include <stdexcept>
#include <string>

namespace gantry {

// 1-based line and column; {0, 0} means "no location" (an error about a whole file or module).
struct SourceLoc {
  int line = 0;
  int col = 0;
};

struct Diagnostic {
  std::string file;
  SourceLoc loc;
  std::string message;

  // `file:line:col: error: message`, or `file: error: message` without a location.
  std::string str() const;
};

class CompileError : public std::runtime_error {
 public:
  explicit CompileError(Diagnostic d);
  const Diagnostic &diagnostic() const { return diag_; }

 private:
  Diagnostic diag_;
};

}  // namespace gantry
