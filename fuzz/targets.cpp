// The fuzz targets compiled once (an object library shared by every fuzz_<name> executable):
// fuzz_main.cpp only picks the target by name.
#include <cstdio>
#include <cstdlib>

#include "fuzz_targets.h"

int lengen_fuzz_run(const char* target, const uint8_t* data, size_t size) {
  static const auto run = [&] {
    const auto it = lengen::fuzz::targets().find(target);
    if (it == lengen::fuzz::targets().end()) {
      std::fprintf(stderr, "no fuzz target named %s\n", target);
      std::abort();
    }
    return it->second;
  }();
  return run(data, size);
}
