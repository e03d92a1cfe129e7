// The on-disk compile cache: object files of compiled functions, under $XDG_CACHE_HOME/gantry (or
// ~/.cache/gantry), keyed by everything that determines the code. backend::compile keys on the function's Gantry
// IR text, the GNU build ID of the Gantry binary (any rebuild of Gantry, so any change to its code generation,
// misses), the vector width, the host CPU and its features and the LLVM version: a hit needs no code generation at
// all (an unrolled step loads in ~3 ms). A binary without a build ID keys instead on the emitted, unoptimised LLVM
// IR (emitting it costs ~25 ms for a big step). Each entry stores its whole key next to the object and is used only
// if the key matches exactly, so a hash collision can never load the wrong code.
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
