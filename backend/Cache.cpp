#include "backend/Cache.h"

#include <fmt/format.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/Files.h"

namespace gantry::backend {
namespace {

// Two FNV-1a passes with different offsets: a 128-bit file name. Collisions are harmless (the key is checked).
std::string hashHex(const std::string &s) {
  uint64_t a = 0xcbf29ce484222325ull, b = 0x84222325cbf29ce4ull;
  for (unsigned char c : s) {
    a = (a ^ c) * 0x100000001b3ull;
    b = (b ^ c) * 0x100000001b3ull + 0x9e3779b97f4a7c15ull;
  }
  return fmt::format("{:016x}{:016x}", a, b);
}

// Entry layout: "gantry-cache 1\n" <key bytes> "\n" <arena floats> "\n" <object bytes>, with the key's length first.
constexpr const char *kMagic = "gantry-cache 1";

}  // namespace

std::string CompileCache::defaultDirectory() {
  if (const char *xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::string(xdg) + "/gantry";
  if (const char *home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/gantry";
  return {};
}

std::string CompileCache::pathFor(const std::string &key) const { return dir_ + "/" + hashHex(key) + ".gobj"; }

std::optional<CachedObject> CompileCache::load(const std::string &key) const {
  if (dir_.empty()) return std::nullopt;
  std::string data;
  try {
    data = readFile(pathFor(key));
  } catch (const FileError &) {
    return std::nullopt;
  }
  std::istringstream in(data);
  std::string magic;
  size_t keyLength = 0, arena = 0;
  if (!std::getline(in, magic) || magic != kMagic || !(in >> keyLength) || in.get() != '\n') return std::nullopt;
  std::string storedKey(keyLength, '\0');
  if (!in.read(storedKey.data(), static_cast<std::streamsize>(keyLength)) || storedKey != key) return std::nullopt;
  if (in.get() != '\n' || !(in >> arena) || in.get() != '\n') return std::nullopt;
  std::string object(data.substr(static_cast<size_t>(in.tellg())));
  if (object.empty()) return std::nullopt;
  return CachedObject{std::move(object), arena};
}

void CompileCache::store(const std::string &key, const CachedObject &entry) const {
  if (dir_.empty()) return;
  try {
    std::filesystem::create_directories(dir_);
    writeFileAtomically(pathFor(key), fmt::format("{}\n{}\n{}\n{}\n", kMagic, key.size(), key, entry.arenaFloats) + entry.object);
  } catch (const std::exception &) {
    // Best effort: see the header.
  }
}

}  // namespace gantry::backend
