// The CUDA backend's host-side logic, which runs without a GPU: device names, launch shapes and
// their checks, the TF32 switch, and the arithmetic the kernels share with the host
// (backend/cuda/device_math.h): the dropout hash against the CPU's, the score-bias index
// against the descriptor's definition, and the fixed-point bias-gradient sums.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "backend/backend.h"
#include "backend/cpu/kernels.h"
#include "backend/cuda/device_math.h"
#include "backend/cuda/launch.h"
#include "cli_runner.h"
#include "util/error.h"
#include "util/rng.h"

namespace lengen {
namespace {

TEST(CudaHost, DeviceNamesParse) {
  EXPECT_EQ(cuda::parse_device_name("cuda"), 0);
  EXPECT_EQ(cuda::parse_device_name("cuda:0"), 0);
  EXPECT_EQ(cuda::parse_device_name("cuda:3"), 3);
  EXPECT_EQ(cuda::parse_device_name("cpu"), std::nullopt);
  EXPECT_EQ(cuda::parse_device_name("cudax"), std::nullopt);
  EXPECT_EQ(cuda::parse_device_name(""), std::nullopt);
  for (const char* bad : {"cuda:", "cuda:x", "cuda:-1", "cuda:1.5", "cuda: 1", "cuda:123456"}) {
    try {
      cuda::parse_device_name(bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("expected cuda or cuda:N"), std::string::npos) << e.what();
    }
  }
}

TEST(CudaHost, BackendNamesAndTheErrorWithoutADevice) {
  const std::vector<std::string> names = backend_names();
  EXPECT_EQ(names.front(), "cpu");
#if LENGEN_CUDA
  EXPECT_NE(std::find(names.begin(), names.end(), "cuda"), names.end());
  // On a machine without a visible GPU the backend refuses with the runtime's reason.
  try {
    Backend& be = backend_named("cuda");
    EXPECT_EQ(be.name(), "cuda");  // a GPU is visible
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cuda: no CUDA device is visible (cudaGetDeviceCount: "),
              std::string::npos) << e.what();
  }
#else
  EXPECT_THROW(backend_named("cuda"), Error);
#endif
  EXPECT_THROW(backend_named("cuda:zero"), Error);
  EXPECT_THROW(backend_named("tpu"), Error);
}

// The CLI with --device cuda: on a machine without a GPU (or a build without CUDA) a clean
// error and exit status 1 before anything is written; with a GPU the commands run.
TEST(CudaHost, CliDeviceCudaFailsCleanlyWithoutAGpu) {
  const std::string out = ::testing::TempDir() + "cuda_cli_run";
  const testing::CliResult r = testing::run_lengen(
      "train --device cuda --config models/tiny,tasks/copy_cmc_tr20_ts40 --set train.steps=1 --no-eval "
      "--out '" + out + "'");
  EXPECT_FALSE(r.crashed()) << r.describe();
  bool gpu = false;
#if LENGEN_CUDA
  try {
    backend_named("cuda");
    gpu = true;
  } catch (const Error&) {
  }
#endif
  if (gpu) {
    EXPECT_EQ(r.code, 0) << r.describe();
    return;
  }
  EXPECT_EQ(r.code, 1) << r.describe();
#if LENGEN_CUDA
  EXPECT_NE(r.out.find("lengen: error: cuda: no CUDA device is visible (cudaGetDeviceCount: "), std::string::npos)
      << r.out;
#else
  EXPECT_NE(r.out.find("this build has no CUDA backend"), std::string::npos) << r.out;
#endif
  const testing::CliResult bad = testing::run_lengen("--device cuda:one bench train --preset tiny");
  EXPECT_EQ(bad.code, 1) << bad.describe();
  EXPECT_NE(bad.out.find("expected cuda or cuda:N"), std::string::npos) << bad.out;
}

AttentionArgs args(int B, int H, int dh, int Q) {
  AttentionArgs a;
  a.B = B, a.H = H, a.dh = dh, a.Q = Q, a.ld = H * dh, a.key_stride = Q;
  return a;
}

TEST(CudaHost, AttentionLaunchShapes) {
  const cuda::AttentionLaunch l = cuda::attention_launch(args(3, 2, 8, 33));
  EXPECT_EQ(l.pairs, 6);
  EXPECT_EQ(l.query_tiles, 2);  // 33 queries: a full tile and one row
  EXPECT_EQ(l.key_tiles, 2);
  EXPECT_EQ(l.row_pad % 2, 1);  // odd row stride: conflict-free column reads
  // The paper shape (dh 64) and the largest head fit an H100/H200 block (227 KiB), and dh 64
  // fits the 48 KiB that needs no opt-in for the forward.
  const cuda::AttentionLaunch paper = cuda::attention_launch(args(64, 12, 64, 128));
  EXPECT_LE(paper.forward_smem, size_t(48) << 10);
  const cuda::AttentionLaunch big = cuda::attention_launch(args(1, 1, cuda::kMaxHeadDim, 1));
  for (size_t bytes : {big.forward_smem, big.backward_kv_smem, big.backward_q_smem, big.probs_smem})
    EXPECT_LE(bytes, size_t(227) << 10);
  EXPECT_EQ(cuda::kAttnPerThread * cuda::kAttnThreads, cuda::kAttnTile * cuda::kMaxHeadDim);
}

TEST(CudaHost, AttentionLaunchRejectsWhatTheKernelsCannotRun) {
  EXPECT_THROW(cuda::attention_launch(args(1, 1, cuda::kMaxHeadDim + 1, 4)), Error);
  EXPECT_THROW(cuda::attention_launch(args(1, 1, 0, 4)), Error);
  EXPECT_THROW(cuda::attention_launch(args(0, 1, 8, 4)), Error);
  AttentionArgs a = args(1, 2, 8, 4);
  a.ld = 8;  // narrower than H * dh
  EXPECT_THROW(cuda::attention_launch(a), Error);
  a = args(1, 2, 8, 4);
  a.key_stride = 3;
  EXPECT_THROW(cuda::attention_launch(a), Error);
}

TEST(CudaHost, GridSizes) {
  EXPECT_EQ(cuda::elementwise_blocks(0, 256), 1);
  EXPECT_EQ(cuda::elementwise_blocks(257, 256), 2);
  EXPECT_EQ(cuda::elementwise_blocks(size_t(1) << 40, 256), 65536);  // grid-stride beyond
  EXPECT_EQ(cuda::norm_row_chunks(1), 1);
  EXPECT_EQ(cuda::norm_row_chunks(cuda::kNormChunk), 1);
  EXPECT_EQ(cuda::norm_row_chunks(cuda::kNormChunk + 1), 2);
  EXPECT_EQ(cuda::sum_chunks(0), 0u);
  EXPECT_EQ(cuda::sum_chunks(4097), 2u);
}

TEST(CudaHost, Tf32Switch) {
  EXPECT_FALSE(cuda::tf32_from_env(nullptr));
  EXPECT_FALSE(cuda::tf32_from_env("0"));
  EXPECT_FALSE(cuda::tf32_from_env("off"));
  EXPECT_TRUE(cuda::tf32_from_env("1"));
  EXPECT_TRUE(cuda::tf32_from_env("ON"));
  EXPECT_THROW(cuda::tf32_from_env("maybe"), Error);
}

TEST(CudaHost, DropoutHashIsTheCpuOne) {
  Rng rng(5);
  for (int t = 0; t < 2000; ++t) {
    const uint64_t key = rng.next(), i = rng.next() % 100000;
    const float p = float(rng.uniform());
    EXPECT_EQ(cuda::dropout_keep(key, i, p), kernels::dropout_keep(key, i, p));
  }
  EXPECT_EQ(cuda::attention_pair_key(9, 2, 3, 4), hash_combine(9, 2 * 4 + 3));
}

// The descriptor's definition (backend.h ScoreBias), written out directly.
int64_t reference_index(const ScoreBias& s, int h, int32_t qp, int64_t query, int32_t kp) {
  const int64_t d = std::clamp<int64_t>(int64_t(qp) - kp, s.dmin, s.dmax);
  int64_t row = 0;
  if (s.row_of) row = s.row_of[std::clamp<int64_t>(qp, s.qmin, s.qmax) - s.qmin];
  return h * s.h_stride + row * s.r_stride + query * s.q_stride + s.col_of[d - s.dmin] * s.c_stride;
}

TEST(CudaHost, BiasIndexFollowsTheDescriptor) {
  std::vector<int32_t> col_of = {0, 0, 1, 2, 3, 3, 3}, row_of = {0, 1, 1, 2};
  ScoreBias s;
  s.col_of = col_of.data(), s.dmin = -2, s.dmax = 4;
  s.h_stride = 40, s.r_stride = 5, s.c_stride = 1;
  for (int variant = 0; variant < 3; ++variant) {  // shared, by query value, a row per query
    s.row_of = variant == 1 ? row_of.data() : nullptr, s.qmin = 3, s.qmax = 6;
    s.q_stride = variant == 2 ? 120 : 0;
    for (int h = 0; h < 3; ++h)
      for (int32_t qp = -1; qp < 10; ++qp) {
        const int64_t query = 2 * qp + 7;
        const int64_t base = cuda::bias_row_base(s, h, qp, query);
        for (int32_t kp = -3; kp < 12; ++kp)
          EXPECT_EQ(cuda::bias_index(s, base, qp, kp), reference_index(s, h, qp, query, kp));
      }
  }
}

TEST(CudaHost, FixedPointSumsDoNotDependOnOrder) {
  std::vector<float> terms = [] {
    Rng rng(3);
    std::vector<float> t(5000);
    for (auto& x : t) x = float(rng.normal()) * float(std::pow(10.0, -double(rng.below(6))));
    return t;
  }();
  auto fixed_sum = [](const std::vector<float>& v) {
    long long acc = 0;
    for (float x : v) acc += cuda::to_fixed(x);
    return acc;
  };
  const long long forward = fixed_sum(terms);
  std::reverse(terms.begin(), terms.end());
  EXPECT_EQ(fixed_sum(terms), forward);
  Rng rng(4);
  rng.shuffle(terms);
  EXPECT_EQ(fixed_sum(terms), forward);
  double exact = 0;
  for (float x : terms) exact += x;
  EXPECT_NEAR(cuda::from_fixed(forward), exact, 1e-6 + 1e-6 * std::abs(exact));
  EXPECT_EQ(cuda::to_fixed(0.5f), 1ll << 31);
  EXPECT_EQ(cuda::to_fixed(-0.25f), -(1ll << 30));
  EXPECT_GT(cuda::to_fixed(1e30f), 0);  // saturates instead of wrapping
  EXPECT_LT(cuda::to_fixed(-1e30f), 0);
}

}  // namespace
}  // namespace lengen
