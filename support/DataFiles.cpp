#include "support/DataFiles.h"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <cstring>
#include <fstream>
#include <regex>

namespace gantry {
namespace {

std::ifstream openBinary(const std::string &path) {
  requireRegularFile(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
  return in;
}

}  // namespace

NpyHeader readNpyHeader(const std::string &path) {
  std::ifstream in = openBinary(path);
  char magic[8] = {};
  in.read(magic, 8);
  if (in.gcount() != 8 || std::memcmp(magic, "\x93NUMPY", 6) != 0)
    throw FileError(fmt::format("'{}' is not a .npy file (no \\x93NUMPY magic)", path));
  int major = static_cast<unsigned char>(magic[6]);
  if (major < 1 || major > 3) throw FileError(fmt::format("'{}': unsupported .npy version {}", path, major));
  size_t lenBytes = major == 1 ? 2 : 4;
  unsigned char len[4] = {};
  in.read(reinterpret_cast<char *>(len), static_cast<std::streamsize>(lenBytes));
  if (static_cast<size_t>(in.gcount()) != lenBytes) throw FileError(fmt::format("'{}': truncated .npy header", path));
  size_t headerLen = len[0] | (len[1] << 8) | (lenBytes == 4 ? (static_cast<size_t>(len[2]) << 16) | (static_cast<size_t>(len[3]) << 24) : 0);
  if (headerLen > 1 << 20) throw FileError(fmt::format("'{}': .npy header of {} bytes is implausible", path, headerLen));
  std::string header(headerLen, '\0');
  in.read(header.data(), static_cast<std::streamsize>(headerLen));
  if (static_cast<size_t>(in.gcount()) != headerLen) throw FileError(fmt::format("'{}': truncated .npy header", path));

  NpyHeader h;
  h.dataOffset = 6 + 2 + lenBytes + headerLen;
  std::smatch m;
  if (!std::regex_search(header, m, std::regex(R"('descr'\s*:\s*'([^']*)')")))
    throw FileError(fmt::format("'{}': .npy header has no 'descr'", path));
  h.dtype = m[1];
  if (h.dtype != "<f4" && h.dtype != "<f8")
    throw FileError(fmt::format("'{}': .npy dtype '{}' is not supported (use float32 '<f4' or float64 '<f8')", path, h.dtype));
  if (!std::regex_search(header, m, std::regex(R"('fortran_order'\s*:\s*(True|False))")))
    throw FileError(fmt::format("'{}': .npy header has no 'fortran_order'", path));
  h.fortranOrder = m[1] == "True";
  if (h.fortranOrder) throw FileError(fmt::format("'{}': Fortran-ordered .npy arrays are not supported", path));
  if (!std::regex_search(header, m, std::regex(R"('shape'\s*:\s*\(([^)]*)\))")))
    throw FileError(fmt::format("'{}': .npy header has no 'shape'", path));
  std::string dims = m[1];
  static const std::regex digitsRe(R"(\d+)");
  for (std::sregex_iterator it(dims.begin(), dims.end(), digitsRe), end; it != end; ++it) {
    std::string digits = it->str();
    if (digits.size() > 12) throw FileError(fmt::format("'{}': .npy dimension {} is too large", path, digits));
    h.shape.push_back(std::stoll(digits));
  }
  if (h.shape.empty() || h.shape.size() > 2)
    throw FileError(fmt::format("'{}': .npy array has rank {}; samples need rank 1 or 2 (rows are samples)", path, h.shape.size()));
  for (int64_t d : h.shape)
    if (d < 1) throw FileError(fmt::format("'{}': .npy array is empty", path));
  return h;
}

int64_t csvColumns(const std::string &path) {
  std::ifstream in = openBinary(path);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    int64_t columns = 1;
    for (char c : line) columns += c == ',';
    return columns;
  }
  throw FileError(fmt::format("'{}' has no data rows", path));
}

std::vector<float> parseCsvRows(std::string_view text, int64_t dim, const std::string &name) {
  std::vector<float> rows;
  size_t lineNo = 0, start = 0;
  bool header = true;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string line(text.substr(start, end - start));
    start = end + 1;
    ++lineNo;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    std::vector<float> values;
    bool numeric = true;
    size_t pos = 0;
    while (true) {
      size_t comma = line.find(',', pos);
      std::string field = line.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
      char *endp = nullptr;
      errno = 0;
      double v = std::strtod(field.c_str(), &endp);
      bool ok = endp != field.c_str() && std::string(endp).find_first_not_of(" \t") == std::string::npos;
      if (ok && !std::isfinite(v)) throw FileError(fmt::format("'{}' line {}: {} is not a finite number", name, lineNo, field));
      if (ok && std::abs(v) > std::numeric_limits<float>::max())
        throw FileError(fmt::format("'{}' line {}: {} is beyond float32's range", name, lineNo, field));
      numeric = numeric && ok;
      values.push_back(ok ? static_cast<float>(v) : 0.0f);  // a double beyond float's range must not be cast
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
    if (!numeric) {
      if (header && rows.empty()) {
        header = false;  // a first row of names
        continue;
      }
      throw FileError(fmt::format("'{}' line {}: not a row of numbers", name, lineNo));
    }
    header = false;
    if (static_cast<int64_t>(values.size()) != dim)
      throw FileError(fmt::format("'{}' line {}: {} columns, the file's first row has {}", name, lineNo, values.size(), dim));
    rows.insert(rows.end(), values.begin(), values.end());
  }
  if (rows.empty()) throw FileError(fmt::format("'{}' has no data rows", name));
  return rows;
}

}  // namespace gantry
