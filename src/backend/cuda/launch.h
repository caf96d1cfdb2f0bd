// Host-side decisions of the CUDA backend, in plain C++ so that they are unit-tested on
// machines without a GPU (tests/test_cuda_host.cpp): device names, the attention kernels'
// tiling and shared-memory sizes, grid sizes of the row and elementwise kernels, and the
// TF32 switch.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "backend/backend.h"

namespace lengen::cuda {

// "cuda" -> 0, "cuda:N" -> N; another device's name -> nullopt. A malformed CUDA name
// ("cuda:", "cuda:x", "cuda:-1") is a lengen::Error naming the expected form.
std::optional<int> parse_device_name(const std::string& name);

// The attention kernels work on tiles of kTile queries x kTile keys held in shared memory,
// with kThreads threads per block (4 warps: each warp takes rows of a tile in turn).
constexpr int kAttnTile = 32;
constexpr int kAttnThreads = 128;
constexpr int kMaxHeadDim = 128;  // registers hold a tile's outputs: kTile * dh / kThreads <= 32
// Per-thread output entries of a [kTile, dh] tile, the bound the kernels unroll to.
constexpr int kAttnPerThread = kAttnTile * kMaxHeadDim / kAttnThreads;

struct AttentionLaunch {
  int query_tiles = 0, key_tiles = 0;  // per (row, head) pair
  int pairs = 0;                       // B * H
  int row_pad = 0;                     // floats per row of a [kTile, dh] tile in shared memory
  size_t forward_smem = 0;             // bytes of dynamic shared memory of each kernel
  size_t backward_kv_smem = 0;
  size_t backward_q_smem = 0;
  size_t probs_smem = 0;
};
// Validates the arguments (head size 1..kMaxHeadDim, positive sizes, key_stride >= Q) and sizes
// the launches; lengen::Error names what is out of range.
AttentionLaunch attention_launch(const AttentionArgs& a);

// Blocks of `threads` covering n elements, capped (the kernels loop grid-stride).
int elementwise_blocks(size_t n, int threads);

// Normalisation parameter gradients are summed in two passes: partial sums over fixed chunks of
// kNormChunk rows, then over the chunks in order, so results depend only on the inputs.
constexpr int kNormChunk = 32;
int norm_row_chunks(int N);

// Chunks of sum_squares (the CPU's 4096, so that partials line up).
constexpr size_t kSumChunk = 4096;
size_t sum_chunks(size_t n);

// TF32 tensor-core GEMMs (opt-in): LENGEN_CUDA_TF32 set to 1/true/on/yes turns them on,
// 0/false/off/no or unset leaves fp32; anything else is a lengen::Error.
bool tf32_from_env(const char* value);

}  // namespace lengen::cuda
