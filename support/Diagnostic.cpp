#include "support/Diagnostic.h"

#include <fmt/format.h>

#include <algorithm>

namespace gantry {

std::string Diagnostic::str() const {
  const char *kind = severity == Severity::Error ? "error" : "note";
  if (loc.line <= 0) return fmt::format("{}: {}: {}", file, kind, message);
  return fmt::format("{}:{}:{}: {}: {}", file, loc.line, loc.col, kind, message);
}

std::string Diagnostic::render(std::string_view source) const {
  std::string out = str() + "\n";
  if (loc.line <= 0) return out;
  // Find the line.
  size_t start = 0;
  for (int line = 1; line < loc.line; ++line) {
    start = source.find('\n', start);
    if (start == std::string_view::npos) return out;
    ++start;
  }
  size_t end = source.find('\n', start);
  std::string_view text = source.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  // Show the line only if it is printable text (a caret under binary garbage helps nobody) and not huge.
  bool printable = text.size() <= 400 && std::all_of(text.begin(), text.end(), [](char c) {
                     auto u = static_cast<unsigned char>(c);
                     return u == '\t' || (u >= 0x20 && u != 0x7f);
                   });
  if (!printable || loc.col < 1 || static_cast<size_t>(loc.col) > text.size() + 1) return out;
  std::string caret;
  for (int i = 1; i < loc.col; ++i) caret += text[i - 1] == '\t' ? '\t' : ' ';
  caret += '^';
  for (int i = loc.col + 1; i < endCol && static_cast<size_t>(i) <= text.size(); ++i) caret += '~';
  return out + std::string(text) + "\n" + caret + "\n";
}

CompileError::CompileError(Diagnostic d) : std::runtime_error(d.str()), diag_(std::move(d)) {}

void DiagnosticList::error(SourceRange at, std::string message) {
  ++errors_;
  dropping_ = errors_ > kShownErrors;
  if (!dropping_) diags_.push_back({file_, at.begin, std::move(message), Severity::Error, at.endCol});
}

void DiagnosticList::note(SourceRange at, std::string message) {
  if (!dropping_) diags_.push_back({file_, at.begin, std::move(message), Severity::Note, at.endCol});
}

std::optional<Diagnostic> DiagnosticList::overflowNote() const {
  if (errors_ <= kShownErrors) return std::nullopt;
  const int more = errors_ - kShownErrors;
  return Diagnostic{file_, {}, fmt::format("{} more error{} not shown", more, more == 1 ? "" : "s"), Severity::Note, 0};
}

std::string DiagnosticList::render(std::string_view source) const {
  std::string out;
  for (const Diagnostic &d : diags_) out += d.render(source);
  if (auto note = overflowNote()) out += note->str() + "\n";
  return out;
}

ProgramError::ProgramError(DiagnosticList list)
    : std::runtime_error(list.all().empty() ? "invalid program" : list.all().front().str()), list_(std::move(list)) {}

}  // namespace gantry
