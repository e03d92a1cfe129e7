#include "support/Npz.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>
#include <zip.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <regex>

namespace gantry {

int64_t NpyArray::size() const {
  // A zero dimension makes the array empty whatever the others claim; parseNpy bounds the product of the rest.
  for (int64_t d : shape)
    if (d == 0) return 0;
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

namespace {

// double -> float without undefined behaviour: a finite value beyond float's range becomes an infinity (which
// every reader then refuses as not finite), where a plain cast would be undefined.
float narrowToFloat(double v) {
  if (v > std::numeric_limits<float>::max()) return std::numeric_limits<float>::infinity();
  if (v < -std::numeric_limits<float>::max()) return -std::numeric_limits<float>::infinity();
  return static_cast<float>(v);  // NaN stays NaN
}

}  // namespace

NpyArray parseNpy(const std::string &bytes, const std::string &what) {
  if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0)
    throw FileError(fmt::format("{}: not a .npy array (no \\x93NUMPY magic)", what));
  int major = static_cast<unsigned char>(bytes[6]);
  if (major < 1 || major > 3) throw FileError(fmt::format("{}: unsupported .npy version {}", what, major));
  size_t lenBytes = major == 1 ? 2 : 4;
  if (bytes.size() < 8 + lenBytes) throw FileError(fmt::format("{}: truncated .npy header", what));
  size_t headerLen = 0;
  for (size_t i = 0; i < lenBytes; ++i) headerLen |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
  size_t offset = 8 + lenBytes + headerLen;
  if (headerLen > (1u << 20) || bytes.size() < offset) throw FileError(fmt::format("{}: truncated .npy header", what));
  std::string header = bytes.substr(8 + lenBytes, headerLen);
  std::smatch m;
  static const std::regex descrRe(R"('descr'\s*:\s*'([^']*)')"), orderRe(R"('fortran_order'\s*:\s*(True|False))"),
      shapeRe(R"('shape'\s*:\s*\(([^)]*)\))"), digitsRe(R"(\d+)");
  if (!std::regex_search(header, m, descrRe)) throw FileError(fmt::format("{}: .npy header has no 'descr'", what));
  std::string dtype = m[1];
  if (dtype != "<f4" && dtype != "<f8")
    throw FileError(fmt::format("{}: dtype '{}' is not supported (use float32 '<f4' or float64 '<f8')", what, dtype));
  if (!std::regex_search(header, m, orderRe) || m[1] == "True")
    throw FileError(fmt::format("{}: only C-ordered arrays are supported", what));
  if (!std::regex_search(header, m, shapeRe)) throw FileError(fmt::format("{}: .npy header has no 'shape'", what));
  NpyArray a;
  std::string dims = m[1];
  // The element count, refused before it can overflow: a header may claim anything.
  constexpr size_t kMaxElements = size_t{1} << 34;
  size_t count = 1;
  for (std::sregex_iterator it(dims.begin(), dims.end(), digitsRe), end; it != end; ++it) {
    if (it->str().size() > 12) throw FileError(fmt::format("{}: dimension {} is too large", what, it->str()));
    a.shape.push_back(std::stoll(it->str()));
    const auto d = static_cast<size_t>(a.shape.back());
    count = d == 0 || count <= kMaxElements / d ? count * d : kMaxElements + 1;
  }
  if (a.shape.size() > 32) throw FileError(fmt::format("{}: rank {} is too large", what, a.shape.size()));
  const size_t width = dtype == "<f4" ? 4 : 8;
  if (count > kMaxElements || bytes.size() - offset != count * width)
    throw FileError(fmt::format("{}: the header says {} values ({} bytes), the payload has {} bytes", what, count, count * width,
                                bytes.size() - offset));
  a.data.resize(count);
  if (width == 8) a.wide.resize(count);
  for (size_t i = 0; i < count; ++i) {
    if (width == 4) {
      std::memcpy(&a.data[i], bytes.data() + offset + 4 * i, 4);
    } else {
      std::memcpy(&a.wide[i], bytes.data() + offset + 8 * i, 8);
      a.data[i] = narrowToFloat(a.wide[i]);
    }
  }
  return a;
}

std::string serializeNpy(const NpyArray &a) {
  std::string shape;
  for (int64_t d : a.shape) shape += fmt::format("{}, ", d);
  if (a.shape.size() > 1) shape.resize(shape.size() - 2);  // (3,) keeps its comma; (2, 3) does not end in one
  if (a.shape.size() == 1) shape.resize(shape.size() - 1);
  const bool wide = !a.wide.empty();
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}), }}", wide ? "<f8" : "<f4", shape);
  // Pad with spaces so the data starts on a 64-byte boundary, ending in a newline.
  size_t total = 10 + header.size() + 1;
  header += std::string((64 - total % 64) % 64, ' ') + "\n";
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  if (wide) {
    out.append(reinterpret_cast<const char *>(a.wide.data()), a.wide.size() * 8);
  } else {
    out.append(reinterpret_cast<const char *>(a.data.data()), a.data.size() * 4);
  }
  return out;
}

std::map<std::string, NpyArray> readNpz(const std::string &path) {
  requireRegularFile(path);
  int error = 0;
  zip_t *zip = zip_open(path.c_str(), ZIP_RDONLY, &error);
  if (!zip) {
    zip_error_t e;
    zip_error_init_with_code(&e, error);
    std::string msg = fmt::format("cannot read '{}': {}", path, zip_error_strerror(&e));
    zip_error_fini(&e);
    throw FileError(msg);
  }
  std::map<std::string, NpyArray> arrays;
  std::error_code sizeError;
  const zip_uint64_t fileSize = std::filesystem::file_size(path, sizeError);
  try {
    zip_int64_t n = zip_get_num_entries(zip, 0);
    for (zip_int64_t i = 0; i < n; ++i) {
      zip_stat_t st;
      if (zip_stat_index(zip, static_cast<zip_uint64_t>(i), 0, &st) != 0) throw FileError(fmt::format("'{}': unreadable entry {}", path, i));
      std::string name = st.name;
      if (name.size() < 4 || name.substr(name.size() - 4) != ".npy") continue;
      if (st.size > (zip_uint64_t{1} << 36)) throw FileError(fmt::format("'{}': entry '{}' is too large", path, name));
      // The sizes in a zip's directory are claims. Deflate expands at most 1032 times, so an entry claiming more
      // than that from its compressed bytes is corrupt (or a zip bomb): refused before its buffer is allocated.
      if (!(st.valid & ZIP_STAT_SIZE) || !(st.valid & ZIP_STAT_COMP_SIZE) || st.comp_size > fileSize || st.size > st.comp_size * 1100 + 4096)
        throw FileError(fmt::format("'{}': entry '{}' claims {} bytes from {} compressed: the file is corrupt", path, name, st.size, st.comp_size));
      std::string bytes(static_cast<size_t>(st.size), '\0');
      zip_file_t *file = zip_fopen_index(zip, static_cast<zip_uint64_t>(i), 0);
      if (!file) throw FileError(fmt::format("'{}': cannot open entry '{}'", path, name));
      zip_int64_t got = zip_fread(file, bytes.data(), st.size);
      zip_fclose(file);
      if (got < 0 || static_cast<zip_uint64_t>(got) != st.size) throw FileError(fmt::format("'{}': entry '{}' is truncated", path, name));
      std::string key = name.substr(0, name.size() - 4);
      arrays[key] = parseNpy(bytes, fmt::format("'{}' array '{}'", path, key));
    }
  } catch (...) {
    zip_discard(zip);
    throw;
  }
  zip_discard(zip);
  return arrays;
}

void writeNpzAtomically(const std::string &path, const std::map<std::string, NpyArray> &arrays) {
  std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  int error = 0;
  zip_t *zip = zip_open(tmp.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  if (!zip) throw FileError(fmt::format("cannot write '{}'", path));
  std::vector<std::string> payloads;  // must outlive zip_close
  payloads.reserve(arrays.size());
  for (const auto &[key, array] : arrays) {
    payloads.push_back(serializeNpy(array));
    zip_source_t *src = zip_source_buffer(zip, payloads.back().data(), payloads.back().size(), 0);
    if (!src || zip_file_add(zip, (key + ".npy").c_str(), src, ZIP_FL_OVERWRITE) < 0) {
      if (src) zip_source_free(src);
      zip_discard(zip);
      std::remove(tmp.c_str());
      throw FileError(fmt::format("cannot write '{}': adding '{}' failed", path, key));
    }
    zip_set_file_compression(zip, static_cast<zip_uint64_t>(zip_name_locate(zip, (key + ".npy").c_str(), 0)), ZIP_CM_STORE, 0);
  }
  if (zip_close(zip) != 0) {
    zip_discard(zip);
    std::remove(tmp.c_str());
    throw FileError(fmt::format("cannot write '{}'", path));
  }
  // On disk before the rename, as writeFileAtomically does: a power loss must not leave an empty file either.
  if (int fd = ::open(tmp.c_str(), O_RDONLY); fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw FileError(fmt::format("cannot write '{}': {}", path, std::strerror(errno)));
  }
}

}  // namespace gantry
