// The CUDA backend (built with -DLENGEN_CUDA=ON|AUTO when nvcc is found): device memory from
// plain cudaMalloc, one stream per backend, kernels of this folder, GEMMs through cuBLASLt.
// backend_named("cuda") / ("cuda:N") returns it; without a visible GPU that is a lengen::Error.
#pragma once
#include "backend/backend.h"

namespace lengen {

#if LENGEN_CUDA
// The backend of CUDA device `device` (created on first use; a lengen::Error when no such
// device is visible). GEMMs run in fp32; LENGEN_CUDA_TF32=1 in the environment, read when the
// backend is created, switches them to TF32 tensor cores (faster, ~1e-3 relative error).
Backend& cuda_backend(int device);
#endif

}  // namespace lengen
