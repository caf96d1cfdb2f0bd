// Every seed and every regression input of the fuzz targets (fuzz/corpus/<target>/,
// fuzz/regressions/<target>/: inputs that once crashed a target), run through the same target
// code as the libFuzzer executables (fuzz/fuzz_targets.h), in every build: an input may be
// rejected with a lengen::Error, never escape with another exception or break a target's
// expectation.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "../fuzz/fuzz_targets.h"
#include "test_paths.h"

namespace {

namespace fs = std::filesystem;

TEST(FuzzRegressions, EverySeedAndRegressionInputIsHandled) {
  lengen::fuzz::throw_on_failure() = true;
  const fs::path root = fs::path(lengen::testing::source_dir()) / "fuzz";
  size_t inputs = 0;
  for (const char* kind : {"corpus", "regressions"}) {
    if (!fs::is_directory(root / kind)) continue;
    for (const auto& dir : fs::directory_iterator(root / kind)) {
      const std::string target = dir.path().filename().string();
      const auto it = lengen::fuzz::targets().find(target);
      ASSERT_NE(it, lengen::fuzz::targets().end()) << "no fuzz target named " << target;
      for (const auto& file : fs::directory_iterator(dir.path())) {
        std::ifstream in(file.path(), std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        try {
          it->second(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
        } catch (const std::exception& e) {
          ADD_FAILURE() << file.path() << ": " << e.what();
        }
        ++inputs;
      }
    }
  }
  EXPECT_GT(inputs, 9u) << "the fuzz corpora are missing";
}

}  // namespace
