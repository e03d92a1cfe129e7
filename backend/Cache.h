// The on-disk compile cache: object files of compiled functions, under $XDG_CACHE_HOME/gantry (or
// ~/.cache/gantry), keyed by everything that determines the code — the emitted, unoptimised LLVM IR (so any
// change of the function or of Gantry's code generation misses), the host CPU and its features, and the Gantry and
// LLVM versions. Each entry stores its whole key next to the
// object and is used only if the key matches exactly, so a hash collision can never load the wrong code.
// Entries are written to a temporary file and renamed; a damaged or unreadable entry is ignored (and rewritten).
#pragma once

#include <optional>
#include <string>

namespace gantry::backend {

struct CachedObject {
  std::string object;
  size_t arenaFloats = 0;
};

class CompileCache {
 public:
  // The cache folder from the environment; empty when neither XDG_CACHE_HOME nor HOME is set.
  static std::string defaultDirectory();
  explicit CompileCache(std::string directory) : dir_(std::move(directory)) {}

  std::optional<CachedObject> load(const std::string &key) const;
  // Best effort: a cache that cannot be written (read-only home, full disk) only costs the next compile.
  void store(const std::string &key, const CachedObject &entry) const;

 private:
  std::string pathFor(const std::string &key) const;
  std::string dir_;
};

}  // namespace gantry::backend
