// Reading whole files and writing them atomically.
//
// Output is written to a temporary file in the same directory and renamed over the target, so a crash or a full
// disk never leaves a truncated file where a good one was.
#pragma once

#include <stdexcept>
#include <string>

namespace gantry {

// A one-line message naming the file and the reason ("cannot open 'x.gir': No such file or directory").
class FileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string readFile(const std::string &path);
void writeFileAtomically(const std::string &path, const std::string &contents);

}  // namespace gantry
