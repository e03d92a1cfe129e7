// What the frontend needs to know about a data file before anything runs: the number of features per sample
// (columns), so that network widths can be checked. The runtime reads the samples themselves.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "support/Files.h"

namespace gantry {

// The header of a NumPy .npy file (format versions 1.0 to 3.0).
struct NpyHeader {
  std::string dtype;  // '<f4' or '<f8' (the only ones accepted)
  bool fortranOrder = false;
  std::vector<int64_t> shape;
  size_t dataOffset = 0;  // where the array data starts
};

// Throws FileError with a one-line reason for anything but a little-endian f32/f64 array of rank 1 or 2 in C order.
NpyHeader readNpyHeader(const std::string &path);

// The number of columns of a CSV file of numbers: comma-separated fields on its first line that is not empty or a
// `#` comment; a first line of non-numbers is a header and counts too. Throws FileError when there is none.
int64_t csvColumns(const std::string &path);

// The rows of a CSV file's text, `dim` numbers each, row after row: blank lines and `#` comments skipped, a first
// line of non-numbers taken as a header. Throws FileError naming `name` and the line for a ragged row, a field
// that is not a number, a number that is not a finite float32, or a file without data rows.
std::vector<float> parseCsvRows(std::string_view text, int64_t dim, const std::string &name);

}  // namespace gantry
