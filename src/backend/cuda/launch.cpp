#include "backend/cuda/launch.h"

#include <algorithm>
#include <cctype>

#include "util/error.h"

namespace lengen::cuda {

std::optional<int> parse_device_name(const std::string& name) {
  if (name == "cuda") return 0;
  if (name.rfind("cuda:", 0) != 0) return std::nullopt;
  const std::string index = name.substr(5);
  const bool digits = !index.empty() && index.size() <= 4 &&
                      std::all_of(index.begin(), index.end(),
                                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  if (!digits) fail("bad device '{}': expected cuda or cuda:N with N a device index", name);
  return std::stoi(index);
}

AttentionLaunch attention_launch(const AttentionArgs& a) {
  if (a.dh < 1 || a.dh > kMaxHeadDim)
    fail("cuda attention: head size {} is not supported (1..{})", a.dh, kMaxHeadDim);
  if (a.B < 1 || a.H < 1 || a.Q < 1) fail("cuda attention: empty batch (B {} H {} Q {})", a.B, a.H, a.Q);
  if (a.ld < a.H * a.dh) fail("cuda attention: row stride {} < H * dh = {}", a.ld, a.H * a.dh);
  if (a.key_stride < a.Q) fail("cuda attention: key stride {} < Q = {}", a.key_stride, a.Q);
  AttentionLaunch l;
  l.pairs = a.B * a.H;
  l.query_tiles = (a.Q + kAttnTile - 1) / kAttnTile;
  l.key_tiles = l.query_tiles;  // training: the queries are the keys
  l.row_pad = a.dh + 1;         // odd stride: lane j reading row j hits bank (j * pad) % 32
  const size_t tile = size_t(kAttnTile) * l.row_pad * sizeof(float);
  const size_t scores = size_t(kAttnTile) * (kAttnTile + 1) * sizeof(float);
  const size_t rows = size_t(kAttnTile) * (4 * sizeof(float) + 2 * sizeof(int64_t));
  l.forward_smem = 3 * tile + scores + rows;             // Q, K, V; S; per-row stats
  l.backward_kv_smem = 4 * tile + 2 * scores + rows;     // K, V, Q, dO; P, dS
  l.backward_q_smem = 4 * tile + 2 * scores + rows + 32 * sizeof(long long) * (kAttnThreads / 32);
  l.probs_smem = 2 * tile + scores + rows;               // Q, K; S
  return l;
}

int elementwise_blocks(size_t n, int threads) {
  const size_t blocks = (n + size_t(threads) - 1) / size_t(threads);
  return int(std::clamp<size_t>(blocks, 1, 65536));
}

int norm_row_chunks(int N) { return std::max(1, (N + kNormChunk - 1) / kNormChunk); }

size_t sum_chunks(size_t n) { return (n + kSumChunk - 1) / kSumChunk; }

bool tf32_from_env(const char* value) {
  if (!value) return false;
  std::string v(value);
  for (char& c : v) c = char(std::tolower(static_cast<unsigned char>(c)));
  if (v.empty() || v == "0" || v == "false" || v == "off" || v == "no") return false;
  if (v == "1" || v == "true" || v == "on" || v == "yes") return true;
  fail("LENGEN_CUDA_TF32='{}': expected 1/true/on/yes or 0/false/off/no", value);
}

}  // namespace lengen::cuda
