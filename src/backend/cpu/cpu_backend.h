// The CPU backend (host memory; OpenMP loops and CBLAS GEMMs, kernels.h).
#pragma once
#include "backend/backend.h"

namespace lengen {

Backend& cpu_backend();

}  // namespace lengen
