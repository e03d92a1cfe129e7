#include "support/Files.h"

#include <atomic>

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace gantry {

void requireRegularFile(const std::string &path) {
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  if (ec) {
    // Let the open report the reason (no such file, permission denied) in the usual words.
    if (status.type() == std::filesystem::file_type::not_found || status.type() == std::filesystem::file_type::none) return;
  }
  if (status.type() == std::filesystem::file_type::directory) throw FileError(fmt::format("cannot read '{}': it is a directory", path));
  if (std::filesystem::exists(status) && status.type() != std::filesystem::file_type::regular)
    throw FileError(fmt::format("cannot read '{}': not a regular file", path));
}

std::string readFile(const std::string &path, size_t limit) {
  requireRegularFile(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
  if (limit != SIZE_MAX) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (!ec && size > limit) throw FileError(fmt::format("cannot read '{}': it is {} bytes, more than the {} allowed", path, size, limit));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw FileError(fmt::format("cannot read '{}': {}", path, std::strerror(errno)));
  return ss.str();
}

void writeFileAtomically(const std::string &path, const std::string &contents) {
  // Unique per process and per call: two threads may write the same file (the compile cache does).
  static std::atomic<uint64_t> counter{0};
  std::string tmp = fmt::format("{}.tmp.{}.{}", path, ::getpid(), counter++);
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

void makeDirectories(const std::string &path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) throw FileError(fmt::format("cannot create the folder '{}': {}", path, ec.message()));
  if (!std::filesystem::is_directory(path)) throw FileError(fmt::format("cannot create the folder '{}': a file has that name", path));
}

}  // namespace gantry
