// .npy/.npz reading and writing: files numpy.savez wrote (plain and compressed), a round trip, and bad files
// refused with one line naming the file and the array.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "support/Npz.h"

using namespace gantry;

namespace {
std::string dataDir() {
  const char *testsDir = std::getenv("GANTRY_TESTS_DIR");
  REQUIRE(testsDir != nullptr);
  return std::string(testsDir) + "/data/";
}
}  // namespace

TEST_CASE("reads what numpy.savez writes", "[npz]") {
  auto arrays = readNpz(dataDir() + "numpy_savez.npz");
  REQUIRE(arrays.size() == 3);
  CHECK(arrays["a"].shape == std::vector<int64_t>{2, 3});
  CHECK(arrays["a"].data == std::vector<float>{0, 0.25f, 0.5f, 0.75f, 1, 1.25f});
  CHECK(arrays["b"].shape.empty());
  CHECK(arrays["b"].data == std::vector<float>{2.5f});
  CHECK(arrays["c"].data == std::vector<float>{1, -2, 3.5f, 1e-3f});
  auto compressed = readNpz(dataDir() + "numpy_savez_compressed.npz");
  CHECK(compressed["w"].shape == std::vector<int64_t>{7});
  CHECK(compressed["w"].data[6] == 1.0f);
}

TEST_CASE("writes archives that read back, atomically", "[npz]") {
  std::string path = (std::filesystem::temp_directory_path() / ("gantry-npz-" + std::to_string(::getpid()) + ".npz")).string();
  std::map<std::string, NpyArray> out = {{"grad.D.l0.weight", {{3, 2}, {1, 2, 3, 4, 5, 6}, {}}},
                                         {"loss.D", {{}, {0.5f}, {}}},
                                         {"v", {{4}, {1e-30f, -0.0f, 3e38f, 7}, {}}}};
  writeNpzAtomically(path, out);
  auto back = readNpz(path);
  REQUIRE(back.size() == 3);
  for (const auto &[key, a] : out) {
    INFO(key);
    CHECK(back[key].shape == a.shape);
    CHECK(back[key].data == a.data);
  }
  std::filesystem::remove(path);
}

TEST_CASE("bad archives and arrays are refused with one line", "[npz]") {
  CHECK_THROWS_WITH(readNpz(dataDir() + "numpy_ints.npz"),
                    "'" + dataDir() + "numpy_ints.npz' array 'i': dtype '<i4' is not supported (use float32 '<f4' or float64 '<f8')");
  CHECK_THROWS_WITH(readNpz(dataDir() + "points3.csv"), Catch::StartsWith("cannot read '" + dataDir() + "points3.csv': "));
  CHECK_THROWS_WITH(readNpz(dataDir() + "missing.npz"), Catch::StartsWith("cannot read '" + dataDir() + "missing.npz': "));
  std::string npy = serializeNpy({{2, 2}, {1, 2, 3, 4}, {}});
  CHECK_THROWS_WITH(parseNpy(npy.substr(0, npy.size() - 4), "x"), "x: the header says 4 values (16 bytes), the payload has 12 bytes");
  CHECK_THROWS_WITH(parseNpy("hello", "x"), "x: not a .npy array (no \\x93NUMPY magic)");
}
