// libFuzzer target: the checkpoint loader (libzip's .npz reading, the .npy arrays, and the checks against a
// model) on arbitrary bytes written to a scratch file. A bad checkpoint must end in FileError; anything else is a
// bug. The model is a small fixed one: two weight matrices, a bias and Adam-like state.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "runtime/Checkpoint.h"
#include "support/Files.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const std::string path = "/tmp/gantry-fuzz-checkpoint-" + std::to_string(::getpid()) + ".npz";
  static const std::vector<gantry::runtime::CheckpointArray> wanted = {
      {"G.l0.w", {2, 3}}, {"G.l0.b", {3}}, {"D.l0.w", {2, 1}}, {"D.l0.w.m", {2, 1}}, {"D.adam.t", {}}};
  std::FILE *f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    gantry::runtime::Checkpoint c = gantry::runtime::readCheckpoint(path, wanted);
    if (c.arrays.size() != wanted.size() || c.step < 0) __builtin_trap();
  } catch (const gantry::FileError &) {
  }
  return 0;
}
