// libFuzzer target: the CSV data reader on arbitrary bytes, with the column count the checker would infer from
// the same text. A bad file must end in FileError; anything else is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "support/DataFiles.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view text(reinterpret_cast<const char *>(data), size);
  // The checker's rule (csvColumns): commas + 1 on the first line that is neither blank nor a comment.
  int64_t columns = 1 + static_cast<int64_t>(size % 4);
  try {
    std::vector<float> rows = gantry::parseCsvRows(text, columns, "fuzz.csv");
    if (rows.empty() || rows.size() % static_cast<size_t>(columns) != 0) __builtin_trap();
  } catch (const gantry::FileError &) {
  }
  return 0;
}
