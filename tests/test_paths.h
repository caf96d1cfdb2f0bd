// Paths of the built binary and the source checkout (defined in test_paths.cpp).
#pragma once

namespace lengen::testing {

const char* lengen_binary();
const char* source_dir();

}  // namespace lengen::testing
