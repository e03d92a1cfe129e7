// libFuzzer target: the .npy reader (data files and every array of a .npz) on arbitrary bytes. A bad array must end
// in FileError with a one-line reason; anything else is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include "support/Npz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  try {
    gantry::NpyArray a = gantry::parseNpy(std::string(reinterpret_cast<const char *>(data), size), "fuzz.npy");
    if (static_cast<int64_t>(a.data.size()) != a.size()) __builtin_trap();  // the header and the payload agree
  } catch (const gantry::FileError &) {
  }
  return 0;
}
