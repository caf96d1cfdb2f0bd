// One libFuzzer executable per target: fuzz_<name> is this file compiled with
// LENGEN_FUZZ_TARGET="<name>" and linked with the targets' object library (fuzz/CMakeLists.txt).
#include <cstddef>
#include <cstdint>

int lengen_fuzz_run(const char* target, const uint8_t* data, size_t size);

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return lengen_fuzz_run(LENGEN_FUZZ_TARGET, data, size);
}
