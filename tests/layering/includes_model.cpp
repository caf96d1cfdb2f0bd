// Compiled by CTest with one layer's include tree (CMakeLists.txt, lengen_layer): succeeds with
// the model layer's and must fail with a lower layer's (pe), which cannot see the engine.
#include "model/transformer.h"

int main() { return 0; }
