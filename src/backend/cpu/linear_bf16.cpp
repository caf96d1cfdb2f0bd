// The linear layers in bf16 (`--precision bf16`): both GEMM inputs rounded to bf16 (round to
// nearest even), products accumulated and written in fp32, through oneDNN's matmul (its brgemm
// kernels use AVX512-BF16's dot products: ~3.5x this machine's fp32 sgemm rate). Debian's
// OpenBLAS has no sbgemm, hence oneDNN. Each call converts its two inputs into per-thread
// scratch; a primitive per shape is made once and kept. Results depend only on the inputs and
// the thread count (oneDNN's CPU matmul has no atomics). State is per calling thread.
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "backend/cpu/kernels.h"
#include "util/error.h"

#if LENGEN_DNNL
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace lengen::kernels {

uint16_t to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7F800000u) == 0x7F800000u && (u & 0x007FFFFFu))
    return uint16_t((u >> 16) | 0x40);  // NaN stays a (quiet) NaN
  return uint16_t((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

float from_bf16(uint16_t b) {
  const uint32_t u = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

std::string bf16_unavailable_reason(bool built_with_onednn, bool cpu_has_avx512_bf16) {
  if (!built_with_onednn)
    return "this build has no oneDNN (install libdnnl-dev and rebuild; CMake option LENGEN_DNNL)";
  if (!cpu_has_avx512_bf16)
    return "this CPU has no AVX512-BF16 instructions (avx512_bf16 in /proc/cpuinfo), which "
           "bf16 training needs to be faster than fp32";
  return "";
}

std::string bf16_unavailable_reason() {
#if defined(__x86_64__) || defined(__i386__)
  const bool cpu = __builtin_cpu_supports("avx512bf16");
#else
  const bool cpu = false;
#endif
  return bf16_unavailable_reason(LENGEN_DNNL != 0, cpu);
}

#if LENGEN_DNNL
namespace {

using dnnl::memory;
using dt = memory::data_type;

struct Dnnl {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  // (M, N, K, transposed src, accumulate) -> primitive
  std::map<std::tuple<int, int, int, bool, bool, bool>, dnnl::matmul> made;
};

// Per thread: a sweep runs its jobs as threads of one process, each training its own model.
Dnnl& dnnl_state() {
  thread_local Dnnl d;
  return d;
}

void convert(std::vector<uint16_t>& to, const float* from, size_t n) {
  if (to.size() < n) to.resize(n);
  uint16_t* t = to.data();
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) t[i] = to_bf16(from[i]);
}

// dst[M,N] (=, or += when accumulate) src[M,K] wei[K,N]: src row-major [M,K] (or, src_t, stored
// as [K,M]); wei row-major [K,N] (or, wei_t, stored as [N,K]).
void matmul_bf16(float* dst, const uint16_t* src, const uint16_t* wei, int M, int N, int K,
                 bool src_t, bool wei_t, bool accumulate) {
  Dnnl& d = dnnl_state();
  const memory::dim m = M, n = N, k = K;
  const memory::desc src_md({m, k}, dt::bf16, src_t ? memory::dims{1, m} : memory::dims{k, 1});
  const memory::desc wei_md({k, n}, dt::bf16, wei_t ? memory::dims{1, k} : memory::dims{n, 1});
  const memory::desc dst_md({m, n}, dt::f32, memory::dims{n, 1});
  const auto key = std::make_tuple(M, N, K, src_t, wei_t, accumulate);
  auto it = d.made.find(key);
  if (it == d.made.end()) {
    dnnl::primitive_attr attr;
    if (accumulate) {
      dnnl::post_ops ops;
      ops.append_sum(1.0f);
      attr.set_post_ops(ops);
    }
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src_md, wei_md, dst_md), attr,
                                          d.engine);
    it = d.made.emplace(key, dnnl::matmul(pd)).first;
  }
  memory src_m(src_md, d.engine, const_cast<uint16_t*>(src));
  memory wei_m(wei_md, d.engine, const_cast<uint16_t*>(wei));
  memory dst_m(dst_md, d.engine, dst);
  it->second.execute(d.stream, {{DNNL_ARG_SRC, src_m}, {DNNL_ARG_WEIGHTS, wei_m}, {DNNL_ARG_DST, dst_m}});
  d.stream.wait();
}

struct Scratch {
  std::vector<uint16_t> a, b;
};
Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

}  // namespace

void linear_forward_bf16(float* out, const float* inp, const float* W, int N, int I, int O) {
  Scratch& s = scratch();
  convert(s.a, inp, size_t(N) * size_t(I));
  convert(s.b, W, size_t(O) * size_t(I));
  // out[N,O] = inp[N,I] (W[O,I] read as [I,O] transposed)
  matmul_bf16(out, s.a.data(), s.b.data(), N, O, I, false, true, false);
}

void linear_backward_bf16(float* dinp, float* dW, const float* dout, const float* inp,
                          const float* W, int N, int I, int O, bool accumulate_dinp) {
  Scratch& s = scratch();
  convert(s.a, dout, size_t(N) * size_t(O));
  if (dinp) {
    convert(s.b, W, size_t(O) * size_t(I));
    matmul_bf16(dinp, s.a.data(), s.b.data(), N, I, O, false, false, accumulate_dinp);  // dout W
  }
  convert(s.b, inp, size_t(N) * size_t(I));
  matmul_bf16(dW, s.a.data(), s.b.data(), O, I, N, true, false, true);  // dW += dout^T inp
}

#else

void linear_forward_bf16(float*, const float*, const float*, int, int, int) {
  fail("--precision bf16: {}", bf16_unavailable_reason());
}
void linear_backward_bf16(float*, float*, const float*, const float*, const float*, int, int, int,
                          bool) {
  fail("--precision bf16: {}", bf16_unavailable_reason());
}

#endif

}  // namespace lengen::kernels
