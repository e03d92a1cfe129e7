// NumPy arrays on disk: .npy (one array) and .npz (a zip of .npy files, as numpy.savez writes them), read
// into and written from float32. Reading accepts little-endian float32 and float64 in C order and any rank;
// anything else — a truncated payload, a header that lies about the size, another dtype — is a FileError naming
// the file (and the array) in one line.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "support/Files.h"

namespace gantry {

struct NpyArray {
  std::vector<int64_t> shape;  // empty: a scalar
  std::vector<float> data;     // row-major
  std::vector<double> wide;    // float64 files also fill this; when set, writing uses '<f8' (exact step counts)
  int64_t size() const;
};

NpyArray parseNpy(const std::string &bytes, const std::string &what);
std::string serializeNpy(const NpyArray &a);

// Keys are the archive's member names without ".npy".
std::map<std::string, NpyArray> readNpz(const std::string &path);
// Written to a temporary file and renamed, uncompressed (numpy.savez's format).
void writeNpzAtomically(const std::string &path, const std::map<std::string, NpyArray> &arrays);

}  // namespace gantry
