// Diagnostics shared by every stage that reads text (the .gan frontend, the IR parser, data readers).
//
// A diagnostic renders as `FILE:LINE:COL: error: MESSAGE`, the form compilers and editors understand. Given the
// source text, `render` adds the source line and a caret under the span, as clang does:
//
//   ring8.gan:5:17: error: unknown layer 'rellu'
//   net D(x) -> 1 { rellu(linear(128)) }
//                   ^~~~~
//
// Readers that stop at the first problem throw `CompileError`; the frontend collects several independent ones
// in a `DiagnosticList` (with notes such as "D declared here") and reports them together.
#pragma once

#include <stdexcept>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gantry {

// 1-based line and column (columns count bytes); {0, 0} means "no location" (an error about a whole file).
struct SourceLoc {
  int line = 0;
  int col = 0;
  bool operator==(const SourceLoc &) const = default;
};

// A span of source text on one line: `end` is the column one past its last character (0: a single caret).
struct SourceRange {
  SourceLoc begin;
  int endCol = 0;
};

enum class Severity { Error, Note };

struct Diagnostic {
  std::string file;
  SourceLoc loc;
  std::string message;
  Severity severity = Severity::Error;
  int endCol = 0;  // for the caret line: one past the span's last column

  // `file:line:col: error: message`, or `file: error: message` without a location.
  std::string str() const;
  // str(), then the source line and a caret line under the span when `source` holds that line.
  std::string render(std::string_view source) const;
};

class CompileError : public std::runtime_error {
 public:
  explicit CompileError(Diagnostic d);
  const Diagnostic &diagnostic() const { return diag_; }

 private:
  Diagnostic diag_;
};

// Several diagnostics from one run; a note belongs to the error before it.
class DiagnosticList {
 public:
  explicit DiagnosticList(std::string file) : file_(std::move(file)) {}
  // Like clang's -ferror-limit: errors after the first kShownErrors are counted but not kept (nor their notes),
  // so binary garbage gives twenty lines, not thousands.
  static constexpr int kShownErrors = 20;

  void error(SourceRange at, std::string message);
  void note(SourceRange at, std::string message);
  bool hasErrors() const { return errors_ > 0; }
  int errorCount() const { return errors_; }  // all of them, shown or not
  const std::vector<Diagnostic> &all() const { return diags_; }  // the ones kept
  const std::string &file() const { return file_; }
  // `FILE: note: N more errors not shown` when errors were dropped; nothing otherwise.
  std::optional<Diagnostic> overflowNote() const;
  // Each kept diagnostic rendered, in order, then the overflow note.
  std::string render(std::string_view source) const;

 private:
  std::string file_;
  std::vector<Diagnostic> diags_;
  int errors_ = 0;
  bool dropping_ = false;  // the last error was over the limit: its notes go too
};

// Thrown by the frontend when a program has errors; carries all of them.
class ProgramError : public std::runtime_error {
 public:
  explicit ProgramError(DiagnosticList list);
  const DiagnosticList &diagnostics() const { return list_; }

 private:
  DiagnosticList list_;
};

}  // namespace gantry
