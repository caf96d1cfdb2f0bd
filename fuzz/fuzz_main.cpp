// One libFuzzer executable per target: fuzz_<name> is this file compiled with
// LENGEN_FUZZ_TARGET=<name> (fuzz/CMakeLists.txt).
#include "fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return lengen::fuzz::LENGEN_FUZZ_TARGET(data, size);
}
