// The built `lengen` binary and the source checkout, for tests that run the CLI or read
// shipped files. Compiled with the two paths defined (CMakeLists.txt); nothing else is.
#include "test_paths.h"

namespace lengen::testing {

const char* lengen_binary() { return LENGEN_BINARY; }
const char* source_dir() { return LENGEN_SOURCE_DIR; }

}  // namespace lengen::testing
