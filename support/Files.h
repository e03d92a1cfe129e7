// Reading whole files and writing them atomically.
//
// Output is written to a temporary file in the same directory and renamed over the target, so a crash or a full
// disk never leaves a truncated file where a good one was.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace gantry {

// A one-line message naming the file and the reason ("cannot open 'x.gir': No such file or directory").
class FileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws FileError unless `path` names a regular file (or a link to one): directories, devices and pipes are
// refused before anything is read, so `/dev/zero` cannot make Gantry read forever.
void requireRegularFile(const std::string &path);

// The whole file, after requireRegularFile. A file larger than `limit` bytes is refused with its size.
std::string readFile(const std::string &path, size_t limit = SIZE_MAX);
void writeFileAtomically(const std::string &path, const std::string &contents);

// Creates a folder and its parents (nothing if it exists); FileError with the system's reason otherwise.
void makeDirectories(const std::string &path);

}  // namespace gantry
