#include "support/Files.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace gantry {

std::string readFile(const std::string &path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw FileError(fmt::format("cannot read '{}': it is a directory", path));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw FileError(fmt::format("cannot read '{}': {}", path, std::strerror(errno)));
  return ss.str();
}

void writeFileAtomically(const std::string &path, const std::string &contents) {
  std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  std::FILE *f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw FileError(fmt::format("cannot write '{}': {}", path, std::strerror(errno)));
  bool ok = std::fwrite(contents.data(), 1, contents.size(), f) == contents.size();
  ok = std::fflush(f) == 0 && ok;
  ok = ::fsync(::fileno(f)) == 0 && ok;
  int savedErrno = errno;
  ok = std::fclose(f) == 0 && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    if (ok) savedErrno = errno;
    std::remove(tmp.c_str());
    throw FileError(fmt::format("cannot write '{}': {}", path, std::strerror(savedErrno)));
  }
}

}  // namespace gantry
