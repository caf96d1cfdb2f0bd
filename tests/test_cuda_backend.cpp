// Parity of the CUDA backend with the CPU backend (the numerical reference): every op of the
// interface on random inputs of several shapes, odd ones included, every kind of score bias the
// encodings produce, KV-cache attention and dropout; then whole models (every encoding, both
// families): forward, backward, one AdamW step, greedy decoding and blockwise scoring, on
// "cuda" against "cpu". fp32 throughout: within 1e-4 (relative to each tensor's scale).
//
// Without a visible GPU (or in a build without CUDA) every case here calls GTEST_SKIP with the
// reason, and the run ends with one line counting the skipped GPU cases: never a silent pass.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "backend/backend.h"
#include "model/decode.h"
#include "model/forward.h"
#include "model_fixtures.h"
#include "test_support.h"
#include "train/optimizer.h"
#include "util/error.h"
#include "util/rng.h"

namespace lengen {
namespace {

// ---- the GPU, or the reason there is none; the count of skipped cases ----
struct GpuCases : ::testing::Environment {
  static inline int skipped = 0, ran = 0;
  static inline std::string reason;
  void TearDown() override {
    if (skipped)
      std::printf("[cuda parity] %d GPU case(s) SKIPPED, %d ran: %s\n", skipped, ran, reason.c_str());
    else if (ran)
      std::printf("[cuda parity] %d GPU case(s) ran on the GPU\n", ran);
  }
};
const auto* const gpu_cases_env = ::testing::AddGlobalTestEnvironment(new GpuCases);

Backend* gpu_backend() {
  static Backend* gpu = [] () -> Backend* {
#if LENGEN_CUDA
    try {
      return &backend_named("cuda");
    } catch (const Error& e) {
      GpuCases::reason = e.what();
      return nullptr;
    }
#else
    GpuCases::reason = "this build has no CUDA backend (LENGEN_CUDA off or nvcc not found)";
    return nullptr;
#endif
  }();
  ++(gpu ? GpuCases::ran : GpuCases::skipped);
  return gpu;
}

#define REQUIRE_GPU(var)    \
  Backend* var = gpu_backend(); \
  if (!var) GTEST_SKIP() << "GPU case skipped: " << GpuCases::reason

// max |a - b| / max(1, max |b|): the error relative to the reference tensor's scale.
double scaled_error(const std::vector<float>& got, const std::vector<float>& want) {
  EXPECT_EQ(got.size(), want.size());
  double scale = 1.0, worst = 0.0;
  for (float w : want) scale = std::max(scale, double(std::abs(w)));
  for (size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
    const double d = std::abs(double(got[i]) - double(want[i]));
    worst = std::max(worst, std::isnan(d) ? 1e30 : d);
  }
  return worst / scale;
}

constexpr double kTol = 1e-4;

// Named tensors held on both backends with the same contents; ops run on each side, results
// compared. Side 0 is the CPU, side 1 the GPU.
class Twin {
 public:
  explicit Twin(Backend& gpu) : be_{&backend_named("cpu"), &gpu} {}
  Backend& be(int side) { return *be_[side]; }

  void floats(const std::string& name, size_t n, uint64_t seed, float scale = 1.0f) {
    put(name, testing::random_vector(n, seed, scale));
  }
  // float and int32 tensors alike (both 4-byte values)
  template <typename T>
  void put(const std::string& name, const std::vector<T>& v) {
    auto& t = t_[name];
    t.n = v.size();
    for (int s = 0; s < 2; ++s) {
      t.buf[s] = Buffer(be(s), std::max<size_t>(4, v.size() * sizeof(T)));
      upload(be(s), static_cast<T*>(t.buf[s].data()), v);
    }
  }
  void ints(const std::string& name, const std::vector<int32_t>& v) { put(name, v); }
  void zeros(const std::string& name, size_t n) { put(name, std::vector<float>(n, 0.0f)); }
  float* f(int side, const std::string& name) { return at(name).buf[side].f32(); }
  int32_t* i(int side, const std::string& name) { return at(name).buf[side].i32(); }
  std::vector<float> get(int side, const std::string& name) {
    return download(be(side), f(side, name), at(name).n);
  }
  void expect_close(const std::string& name, double tol = kTol) {
    EXPECT_LE(scaled_error(get(1, name), get(0, name)), tol) << name;
  }
  void expect_equal(const std::string& name) { EXPECT_EQ(get(1, name), get(0, name)) << name; }
  template <class F>
  void run(F op) {
    for (int s = 0; s < 2; ++s) op(be(s), s);
  }

 private:
  struct Tensor {
    size_t n = 0;
    Buffer buf[2];
  };
  Tensor& at(const std::string& name) {
    auto it = t_.find(name);
    if (it == t_.end()) throw Error("no tensor " + name);
    return it->second;
  }
  Backend* be_[2];
  std::map<std::string, Tensor> t_;
};

std::vector<int32_t> random_ids(size_t n, int below, uint64_t seed) {
  Rng rng(seed);
  std::vector<int32_t> v(n);
  for (auto& x : v) x = int32_t(rng.below(uint64_t(below)));
  return v;
}

struct Shape {
  int N, C;
};
const Shape kShapes[] = {{1, 1}, {7, 13}, {33, 300}, {130, 769}};

// ---- matrix products ----
TEST(CudaParity, Linear) {
  REQUIRE_GPU(gpu);
  for (auto shape : {std::tuple{1, 1, 1}, {5, 7, 3}, {33, 64, 17}, {130, 257, 96}}) {
    const int N = std::get<0>(shape), I = std::get<1>(shape), O = std::get<2>(shape);
    Twin t(*gpu);
    t.floats("inp", size_t(N) * I, 1), t.floats("W", size_t(O) * I, 2), t.floats("dout", size_t(N) * O, 3);
    t.zeros("out", size_t(N) * O), t.floats("dinp", size_t(N) * I, 4), t.floats("dW", size_t(O) * I, 5);
    t.floats("dinp2", size_t(N) * I, 6);
    t.run([&](Backend& be, int s) {
      be.linear_forward(t.f(s, "out"), t.f(s, "inp"), t.f(s, "W"), N, I, O);
      be.linear_backward(t.f(s, "dinp"), t.f(s, "dW"), t.f(s, "dout"), t.f(s, "inp"), t.f(s, "W"), N, I, O, false);
      be.linear_backward(t.f(s, "dinp2"), t.f(s, "dW"), t.f(s, "dout"), t.f(s, "inp"), t.f(s, "W"), N, I, O, true);
      be.linear_backward(nullptr, t.f(s, "dW"), t.f(s, "dout"), t.f(s, "inp"), t.f(s, "W"), N, I, O, false);
    });
    for (const char* n : {"out", "dinp", "dinp2", "dW"}) t.expect_close(n);
  }
}

TEST(CudaParity, RelativeScoresAndAddRow) {
  REQUIRE_GPU(gpu);
  for (auto shape : {std::tuple{1, 1, 1, 1}, {7, 3, 8, 5}, {65, 4, 16, 66}, {130, 2, 64, 1001}}) {
    const int N = std::get<0>(shape), H = std::get<1>(shape), dh = std::get<2>(shape), C = std::get<3>(shape);
    const int HD = H * dh;
    Twin t(*gpu);
    t.floats("q", size_t(N) * HD, 1), t.floats("R", size_t(C) * HD, 2);
    t.floats("dscores", size_t(N) * H * C, 3), t.zeros("scores", size_t(N) * H * C);
    t.floats("dq", size_t(N) * HD, 4), t.floats("dR", size_t(C) * HD, 5);
    t.floats("row", size_t(HD), 6), t.floats("drow", size_t(HD), 7);
    t.run([&](Backend& be, int s) {
      be.add_row_forward(t.f(s, "q"), t.f(s, "row"), N, HD);
      be.relative_scores_forward(t.f(s, "scores"), t.f(s, "q"), t.f(s, "R"), N, H, dh, C, 0.125f);
      be.relative_scores_backward(t.f(s, "dq"), t.f(s, "dR"), t.f(s, "dscores"), t.f(s, "q"),
                                  t.f(s, "R"), N, H, dh, C, 0.125f);
      be.add_row_backward(t.f(s, "drow"), t.f(s, "dq"), N, HD);
    });
    t.expect_equal("q");  // one addition per element
    for (const char* n : {"scores", "dq", "dR", "drow"}) t.expect_close(n);
  }
}

// ---- rows ----
TEST(CudaParity, EmbeddingAndTableRows) {
  REQUIRE_GPU(gpu);
  for (auto shape : kShapes) {
    const int N = shape.N, C = shape.C;
    const int V = 5;  // few rows: tokens repeat
    Twin t(*gpu);
    t.ints("tok", random_ids(N, V, 7));
    t.floats("table", size_t(V) * C, 1), t.floats("dout", size_t(N) * C, 2), t.zeros("out", size_t(N) * C);
    t.floats("dtable", size_t(V) * C, 3), t.floats("x", size_t(N) * C, 4), t.floats("dtable2", size_t(V) * C, 5);
    t.run([&](Backend& be, int s) {
      be.embedding_forward(t.f(s, "out"), t.i(s, "tok"), t.f(s, "table"), N, C);
      be.embedding_backward(t.f(s, "dtable"), t.i(s, "tok"), t.f(s, "dout"), N, C);
      be.table_add_forward(t.f(s, "x"), t.f(s, "table"), t.i(s, "tok"), N, C);
      be.table_add_backward(t.f(s, "dtable2"), t.i(s, "tok"), t.f(s, "dout"), N, C, /*frozen_row=*/1);
    });
    // Same additions in the same order as the CPU: exact.
    for (const char* n : {"out", "dtable", "x", "dtable2"}) t.expect_equal(n);
  }
}

TEST(CudaParity, AddGatherScatterKvAppend) {
  REQUIRE_GPU(gpu);
  for (auto shape : kShapes) {
    const int N = shape.N, C = shape.C;
    Twin t(*gpu);
    const int M = N + 2;
    t.floats("a", size_t(N) * C, 1), t.floats("b", size_t(N) * C, 2), t.zeros("sum", size_t(N) * C);
    t.ints("rows", random_ids(M, N, 3));  // repeats
    t.zeros("gathered", size_t(M) * C), t.floats("g", size_t(M) * C, 4);
    const int B = 2, Q = 3, cap = 7;
    t.floats("src", size_t(B) * Q * C, 5), t.floats("cache", size_t(B) * cap * C, 6);
    t.ints("at", {2, 4});
    t.run([&](Backend& be, int s) {
      be.add(t.f(s, "sum"), t.f(s, "a"), t.f(s, "b"), size_t(N) * C);
      be.add(t.f(s, "a"), t.f(s, "a"), t.f(s, "b"), size_t(N) * C);  // aliased
      be.gather_rows(t.f(s, "gathered"), t.f(s, "sum"), t.i(s, "rows"), M, C, 0.5f);
      be.scatter_add_rows(t.f(s, "b"), t.f(s, "g"), t.i(s, "rows"), M, C, 0.25f);
      be.kv_append(t.f(s, "cache"), t.f(s, "src"), t.i(s, "at"), B, Q, C, cap);
    });
    for (const char* n : {"sum", "a", "gathered", "b", "cache"}) t.expect_equal(n);
  }
}

TEST(CudaParity, MemoryOps) {
  REQUIRE_GPU(gpu);
  Twin t(*gpu);
  t.floats("x", 1000, 1), t.zeros("y", 1000);
  t.run([&](Backend& be, int s) {
    be.copy(t.f(s, "y"), t.f(s, "x"), 600 * sizeof(float));
    be.copy(t.f(s, "x") + 10, t.f(s, "x"), 500 * sizeof(float));  // overlapping: memmove
    be.zero(t.f(s, "y") + 100, 50 * sizeof(float));
    be.synchronize();
  });
  t.expect_equal("x"), t.expect_equal("y");
  Buffer fresh(*gpu, 12345);  // allocations are zeroed
  const std::vector<float> z = download(*gpu, fresh.f32(), 12345 / 4);
  EXPECT_TRUE(std::all_of(z.begin(), z.end(), [](float v) { return v == 0.0f; }));
}

// ---- normalisation ----
TEST(CudaParity, RmsNormAndLayerNorm) {
  REQUIRE_GPU(gpu);
  for (auto shape : kShapes) {
    const int N = shape.N, C = shape.C;
    Twin t(*gpu);
    t.floats("x", size_t(N) * C, 1), t.floats("w", C, 2), t.floats("b", C, 3), t.floats("dout", size_t(N) * C, 4);
    t.zeros("out", size_t(N) * C), t.zeros("rstd", N), t.zeros("mean", N);
    t.floats("dinp", size_t(N) * C, 5), t.floats("dw", C, 6), t.floats("db", C, 7);
    t.zeros("out2", size_t(N) * C), t.zeros("rstd2", N), t.floats("dinp2", size_t(N) * C, 8), t.floats("dw2", C, 9);
    t.run([&](Backend& be, int s) {
      be.layernorm_forward(t.f(s, "out"), t.f(s, "mean"), t.f(s, "rstd"), t.f(s, "x"), t.f(s, "w"), t.f(s, "b"), N,
                           C, 1e-5f);
      be.layernorm_backward(t.f(s, "dinp"), t.f(s, "dw"), t.f(s, "db"), t.f(s, "dout"), t.f(s, "x"), t.f(s, "w"),
                            t.f(s, "mean"), t.f(s, "rstd"), N, C);
      be.rmsnorm_forward(t.f(s, "out2"), t.f(s, "rstd2"), t.f(s, "x"), t.f(s, "w"), N, C, 1e-6f);
      be.rmsnorm_backward(t.f(s, "dinp2"), t.f(s, "dw2"), t.f(s, "dout"), t.f(s, "x"), t.f(s, "w"), t.f(s, "rstd2"),
                          N, C);
    });
    for (const char* n : {"out", "mean", "rstd", "dinp", "dw", "db", "out2", "rstd2", "dinp2", "dw2"})
      t.expect_close(n);
  }
}

// ---- activations and dropout ----
TEST(CudaParity, ActivationsSwigluDropout) {
  REQUIRE_GPU(gpu);
  for (size_t n : {size_t(1), size_t(1000), size_t(100003)}) {
    Twin t(*gpu);
    t.floats("x", n, 1, 3.0f), t.floats("u", n, 2), t.floats("dout", n, 3);
    for (const char* o : {"relu", "gelu", "drelu", "dgelu", "sw", "dg", "du", "gg", "dgg", "dgu"}) t.zeros(o, n);
    t.floats("drop", n, 4), t.floats("ddrop", n, 5);
    t.run([&](Backend& be, int s) {
      be.activation_forward(ActivationKind::Relu, t.f(s, "relu"), t.f(s, "x"), n);
      be.activation_forward(ActivationKind::Gelu, t.f(s, "gelu"), t.f(s, "x"), n);
      be.activation_backward(ActivationKind::Relu, t.f(s, "drelu"), t.f(s, "dout"), t.f(s, "x"), n);
      be.activation_backward(ActivationKind::Gelu, t.f(s, "dgelu"), t.f(s, "dout"), t.f(s, "x"), n);
      be.swiglu_forward(t.f(s, "sw"), t.f(s, "x"), t.f(s, "u"), n);
      be.swiglu_backward(t.f(s, "dg"), t.f(s, "du"), t.f(s, "dout"), t.f(s, "x"), t.f(s, "u"), n);
      be.geglu_forward(t.f(s, "gg"), t.f(s, "x"), t.f(s, "u"), n);
      be.geglu_backward(t.f(s, "dgg"), t.f(s, "dgu"), t.f(s, "dout"), t.f(s, "x"), t.f(s, "u"), n);
      be.dropout_forward(t.f(s, "drop"), n, 0.3f, 77);
      be.dropout_backward(t.f(s, "ddrop"), n, 0.3f, 77);
    });
    for (const char* o : {"relu", "gelu", "drelu", "dgelu", "sw", "dg", "du", "gg", "dgg", "dgu"}) t.expect_close(o);
    t.expect_equal("drop"), t.expect_equal("ddrop");  // the same mask, the same products
  }
}

// ---- rotation ----
TEST(CudaParity, Rotate) {
  REQUIRE_GPU(gpu);
  const int n = 11, H = 3, dh = 10;
  for (bool interleaved : {false, true})
    for (int half : {5, 3})
      for (bool scaled : {false, true}) {
        Twin t(*gpu);
        const int ld = H * dh + 2;  // wider rows than the heads
        t.floats("x", size_t(n) * ld, 1), t.floats("cos", size_t(n) * half, 2), t.floats("sin", size_t(n) * half, 3);
        t.floats("ps", size_t(n) * half, 4);
        t.run([&](Backend& be, int s) {
          RotationArgs r;
          r.cos = t.f(s, "cos"), r.sin = t.f(s, "sin"), r.pair_scale = scaled ? t.f(s, "ps") : nullptr;
          r.uniform_scale = scaled ? 1.3f : 1.0f, r.H = H, r.dh = dh, r.half = half, r.interleaved = interleaved;
          be.rotate(t.f(s, "x"), n, ld, r, 1.0f);
          be.rotate(t.f(s, "x"), n, ld, r, -1.0f);
        });
        t.expect_close("x");
      }
}

// ---- attention ----
// The bias descriptors the encodings' plans produce (pe/*.cpp): none; per-head distance
// buckets (t5_bias: clamped columns); per-head per-distance values (alibi, kerple, computed and
// learned); per-query rows x distance columns (FIRE); distances of either sign with repeated
// stream values (bilevel streams: bipe_alibi); a row per query (transformer_xl: q_stride).
enum class BiasKind { None, Buckets, Distance, RowsAndColumns, Bilevel, PerQuery };
const BiasKind kBiasKinds[] = {BiasKind::None, BiasKind::Buckets, BiasKind::Distance, BiasKind::RowsAndColumns,
                               BiasKind::Bilevel, BiasKind::PerQuery};

struct BiasTables {
  std::vector<int32_t> q_pos, k_pos, col_of, row_of;
  std::vector<float> values;
  ScoreBias desc;  // host vectors' shapes; pointers filled per side
};

BiasTables make_bias(BiasKind kind, int B, int Q, int key_stride, const std::vector<int>& past, int H) {
  BiasTables t;
  if (kind == BiasKind::None) return t;
  Rng rng(11);
  t.q_pos.resize(size_t(B) * Q), t.k_pos.resize(size_t(B) * key_stride);
  for (int b = 0; b < B; ++b) {
    for (int j = 0; j < key_stride; ++j)
      t.k_pos[size_t(b) * key_stride + j] = kind == BiasKind::Bilevel ? int32_t(rng.below(4)) : j;
    for (int a = 0; a < Q; ++a) t.q_pos[size_t(b) * Q + a] = t.k_pos[size_t(b) * key_stride + past[b] + a];
  }
  ScoreBias& s = t.desc;
  if (kind == BiasKind::Bilevel) s.dmin = -3, s.dmax = 3;
  else s.dmin = 0, s.dmax = key_stride;
  const int cols = s.dmax - s.dmin + 1;
  int ncol = cols;
  for (int d = 0; d < cols; ++d)
    t.col_of.push_back(kind == BiasKind::Buckets ? std::min(d, 3 + d / 8) : d);
  if (kind == BiasKind::Buckets) ncol = t.col_of.back() + 1;
  int rows = 1;
  if (kind == BiasKind::RowsAndColumns) {
    s.qmin = 0, s.qmax = key_stride;
    for (int q = 0; q <= key_stride; ++q) t.row_of.push_back(q);
    rows = key_stride + 1;
  }
  s.c_stride = 1, s.r_stride = ncol, s.h_stride = int64_t(rows) * ncol;
  s.extent = int64_t(H) * s.h_stride;
  if (kind == BiasKind::PerQuery) {  // [B*Q, H, cols]
    s.r_stride = 0, s.h_stride = ncol, s.q_stride = int64_t(H) * ncol;
    s.extent = int64_t(B) * Q * s.q_stride;
  }
  t.values = testing::random_vector(size_t(s.extent), 12);
  return t;
}

struct AttnCase {
  int B, H, dh, Q;
  std::vector<int> past;  // empty: training (no past)
  int key_stride;
  float dropout;
};

// Runs forward (and backward, probs) on both sides and compares.
void attention_parity(Backend& gpu, const AttnCase& c, BiasKind kind, bool backward) {
  SCOPED_TRACE("B " + std::to_string(c.B) + " H " + std::to_string(c.H) + " dh " + std::to_string(c.dh) + " Q " +
               std::to_string(c.Q) + " bias " + std::to_string(int(kind)) + " dropout " + std::to_string(c.dropout));
  const int ld = c.H * c.dh;
  const std::vector<int> past = c.past.empty() ? std::vector<int>(size_t(c.B), 0) : c.past;
  BiasTables bt = make_bias(kind, c.B, c.Q, c.key_stride, past, c.H);
  Twin t(gpu);
  t.floats("q", size_t(c.B) * c.Q * ld, 1), t.floats("k", size_t(c.B) * c.key_stride * ld, 2);
  t.floats("v", size_t(c.B) * c.key_stride * ld, 3), t.floats("dout", size_t(c.B) * c.Q * ld, 4);
  t.zeros("out", size_t(c.B) * c.Q * ld), t.zeros("lse", size_t(c.B) * c.H * c.Q);
  for (const char* g : {"dq", "dk", "dv"}) t.floats(g, size_t(c.B) * c.Q * ld, 9);  // overwritten
  t.ints("past", past);
  const int n = past[0] + c.Q;
  const bool uniform_past = std::all_of(past.begin(), past.end(), [&](int p) { return p == past[0]; });
  t.zeros("probs", size_t(c.B) * c.H * c.Q * n);
  if (kind != BiasKind::None) {
    t.ints("q_pos", bt.q_pos), t.ints("k_pos", bt.k_pos), t.ints("col_of", bt.col_of);
    t.ints("row_of", bt.row_of.empty() ? std::vector<int32_t>{0} : bt.row_of);
    t.put("values", bt.values), t.floats("dvalues", bt.values.size(), 13);
  }
  t.run([&](Backend& be, int s) {
    ScoreBias bias = bt.desc;
    AttentionArgs a;
    a.B = c.B, a.H = c.H, a.dh = c.dh, a.Q = c.Q, a.ld = ld, a.key_stride = c.key_stride;
    a.q = t.f(s, "q"), a.k = t.f(s, "k"), a.v = t.f(s, "v");
    a.past = c.past.empty() ? nullptr : t.i(s, "past");
    a.scale = 1.0f / std::sqrt(float(c.dh));
    a.dropout = c.dropout, a.dropout_key = 99;
    if (kind != BiasKind::None) {
      bias.q_pos = t.i(s, "q_pos"), bias.k_pos = t.i(s, "k_pos"), bias.col_of = t.i(s, "col_of");
      bias.row_of = bt.row_of.empty() ? nullptr : t.i(s, "row_of");
      bias.values = t.f(s, "values"), bias.dvalues = t.f(s, "dvalues");
      a.bias = &bias;
    }
    be.attention_forward(a, t.f(s, "out"), t.f(s, "lse"));
    if (backward)
      be.attention_backward(a, t.f(s, "out"), t.f(s, "lse"), t.f(s, "dout"), t.f(s, "dq"), t.f(s, "dk"), t.f(s, "dv"));
    if (uniform_past && c.dropout == 0) be.attention_probs(a, t.f(s, "probs"));
  });
  t.expect_close("out"), t.expect_close("lse");
  if (uniform_past && c.dropout == 0) t.expect_close("probs");
  if (backward) {
    for (const char* g : {"dq", "dk", "dv"}) t.expect_close(g);
    if (kind != BiasKind::None) t.expect_close("dvalues");
  }
}

TEST(CudaParity, AttentionTrainingEveryBiasKind) {
  REQUIRE_GPU(gpu);
  const AttnCase cases[] = {{1, 1, 1, 1, {}, 1, 0.0f},     {2, 3, 8, 9, {}, 9, 0.0f},
                            {2, 2, 16, 33, {}, 33, 0.0f},  {1, 2, 64, 70, {}, 70, 0.0f},
                            {1, 1, 128, 40, {}, 40, 0.0f}, {2, 2, 13, 65, {}, 65, 0.0f}};
  for (const AttnCase& c : cases)
    for (BiasKind kind : kBiasKinds) attention_parity(*gpu, c, kind, true);
}

TEST(CudaParity, AttentionWithDropout) {
  REQUIRE_GPU(gpu);
  for (BiasKind kind : {BiasKind::None, BiasKind::Buckets})
    attention_parity(*gpu, {2, 2, 8, 37, {}, 37, 0.2f}, kind, true);
}

TEST(CudaParity, AttentionWithKvCachePast) {
  REQUIRE_GPU(gpu);
  // Decoding: Q new tokens after past[b] cached ones, in a cache of capacity key_stride.
  for (BiasKind kind : kBiasKinds) {
    attention_parity(*gpu, {3, 2, 8, 1, {4, 0, 9}, 12, 0.0f}, kind, false);
    attention_parity(*gpu, {2, 2, 16, 5, {40, 40}, 50, 0.0f}, kind, false);  // probs too
    attention_parity(*gpu, {2, 3, 8, 34, {3, 30}, 70, 0.0f}, kind, false);
  }
}

TEST(CudaParity, AttentionBackwardIsBitwiseDeterministic) {
  REQUIRE_GPU(gpu);
  const int B = 2, H = 2, dh = 32, Q = 100, ld = H * dh;
  BiasTables bt = make_bias(BiasKind::Buckets, B, Q, Q, {0, 0}, H);
  std::vector<std::vector<float>> runs;
  for (int r = 0; r < 2; ++r) {
    Twin t(*gpu);
    t.floats("q", size_t(B) * Q * ld, 1), t.floats("k", size_t(B) * Q * ld, 2), t.floats("v", size_t(B) * Q * ld, 3);
    t.floats("dout", size_t(B) * Q * ld, 4), t.zeros("out", size_t(B) * Q * ld), t.zeros("lse", size_t(B) * H * Q);
    for (const char* g : {"dq", "dk", "dv"}) t.zeros(g, size_t(B) * Q * ld);
    t.ints("q_pos", bt.q_pos), t.ints("k_pos", bt.k_pos), t.ints("col_of", bt.col_of), t.put("values", bt.values);
    t.zeros("dvalues", bt.values.size());
    ScoreBias bias = bt.desc;
    bias.q_pos = t.i(1, "q_pos"), bias.k_pos = t.i(1, "k_pos"), bias.col_of = t.i(1, "col_of");
    bias.values = t.f(1, "values"), bias.dvalues = t.f(1, "dvalues");
    AttentionArgs a;
    a.B = B, a.H = H, a.dh = dh, a.Q = Q, a.ld = ld, a.key_stride = Q, a.scale = 0.2f, a.bias = &bias;
    a.q = t.f(1, "q"), a.k = t.f(1, "k"), a.v = t.f(1, "v");
    gpu->attention_forward(a, t.f(1, "out"), t.f(1, "lse"));
    gpu->attention_backward(a, t.f(1, "out"), t.f(1, "lse"), t.f(1, "dout"), t.f(1, "dq"), t.f(1, "dk"), t.f(1, "dv"));
    std::vector<float> all;
    for (const char* g : {"out", "lse", "dq", "dk", "dv", "dvalues"}) {
      const auto v = t.get(1, g);
      all.insert(all.end(), v.begin(), v.end());
    }
    runs.push_back(all);
  }
  EXPECT_EQ(runs[0], runs[1]);
}

// ---- loss and optimizer ----
TEST(CudaParity, SoftmaxXentAndLogSoftmax) {
  REQUIRE_GPU(gpu);
  for (auto shape : {std::pair{1, 2}, {7, 13}, {65, 1000}, {3, 40000}}) {
    const int M = shape.first, V = shape.second;
    Twin t(*gpu);
    t.floats("z", size_t(M) * V, 1, 3.0f), t.floats("z2", size_t(M) * V, 2, 3.0f);
    t.ints("targets", random_ids(M, V, 3));
    std::vector<float> w = testing::random_vector(M, 4);
    for (auto& x : w) x = std::abs(x);
    t.put("w", w);
    double loss[2];
    t.run([&](Backend& be, int s) {
      loss[s] = be.softmax_xent(t.f(s, "z"), t.i(s, "targets"), t.f(s, "w"), M, V);
      be.log_softmax(t.f(s, "z2"), M, V);
    });
    EXPECT_NEAR(loss[1], loss[0], kTol * std::max(1.0, std::abs(loss[0])));
    t.expect_close("z"), t.expect_close("z2");
  }
}

TEST(CudaParity, AdamWSumSquaresScale) {
  REQUIRE_GPU(gpu);
  for (size_t n : {size_t(1), size_t(4097), size_t(300001)}) {
    Twin t(*gpu);
    t.floats("p", n, 1), t.floats("g", n, 2), t.floats("m", n, 3, 0.1f), t.zeros("v", n), t.floats("x", n, 4);
    std::vector<float> v = testing::random_vector(n, 5, 0.1f);
    for (auto& x : v) x = x * x;
    t.put("v", v);
    double ss[2];
    t.run([&](Backend& be, int s) {
      be.adamw_update(t.f(s, "p"), t.f(s, "g"), t.f(s, "m"), t.f(s, "v"), n, {1e-3f, 0.9f, 0.999f, 1e-8f, 0.1f, 3}, true);
      be.adamw_update(t.f(s, "p"), t.f(s, "g"), t.f(s, "m"), t.f(s, "v"), n, {2e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 4}, false);
      ss[s] = be.sum_squares(t.f(s, "x"), n);
      be.scale(t.f(s, "x"), n, 0.37f);
    });
    for (const char* o : {"p", "m", "v"}) t.expect_close(o);
    t.expect_equal("x");
    EXPECT_NEAR(ss[1], ss[0], 1e-10 * ss[0]);
  }
}

// ---- whole models: every encoding, both families ----
class CudaModelParity : public ::testing::TestWithParam<testing::ModelCase> {};

std::vector<float> all_logits(Transformer& m, const Batch& b) {
  std::vector<int32_t> rows(b.tokens.size());
  for (size_t n = 0; n < rows.size(); ++n) rows[n] = int32_t(n);
  std::vector<float> out;
  testing::logits_of(m, b, rows, out);
  return out;
}

TEST_P(CudaModelParity, ForwardBackwardAndOneAdamWStep) {
  REQUIRE_GPU(gpu);
  for (float dropout : {0.0f, 0.1f}) {
    ModelConfig c = testing::small_config(GetParam());
    c.dropout = dropout;
    Transformer cpu_model(c, backend_named("cpu")), gpu_model(c, *gpu);
    cpu_model.init_weights(3), gpu_model.init_weights(3);
    ASSERT_EQ(gpu_model.params_to_host(), cpu_model.params_to_host());
    const Batch batch = testing::sample_batch(c.vocab_size, 5);
    EXPECT_LE(scaled_error(all_logits(gpu_model, batch), all_logits(cpu_model, batch)), kTol) << "logits";
    const double lc = testing::forward_backward_of(cpu_model, batch, 17);
    const double lg = testing::forward_backward_of(gpu_model, batch, 17);
    EXPECT_NEAR(lg, lc, kTol * std::max(1.0, std::abs(lc))) << "loss, dropout " << dropout;
    EXPECT_LE(scaled_error(gpu_model.grads_to_host(), cpu_model.grads_to_host()), kTol) << "gradients";
    OptimizerConfig oc;
    oc.weight_decay = 0.1f;
    AdamW cpu_opt(cpu_model, oc), gpu_opt(gpu_model, oc);
    const double nc = cpu_opt.step(cpu_model, 1e-2f), ng = gpu_opt.step(gpu_model, 1e-2f);
    EXPECT_NEAR(ng, nc, kTol * std::max(1.0, nc)) << "gradient norm";
    EXPECT_LE(scaled_error(gpu_model.params_to_host(), cpu_model.params_to_host()), kTol) << "parameters after AdamW";
  }
}

TEST_P(CudaModelParity, GreedyDecodingWithKvCache) {
  REQUIRE_GPU(gpu);
  const ModelConfig c = testing::small_config(GetParam());
  Transformer cpu_model(c, backend_named("cpu")), gpu_model(c, *gpu);
  cpu_model.init_weights(4), gpu_model.init_weights(4);
  const std::vector<std::vector<int32_t>> prompts = {{1, 2, 3, 4}, {5, 1}, {7, 8, 9, 1, 2, 3}};
  EXPECT_EQ(greedy_decode(gpu_model, prompts, 8, /*eos_id=*/-1), greedy_decode(cpu_model, prompts, 8, -1));
}

TEST_P(CudaModelParity, BlockwiseScoringAndAttentionCapture) {
  REQUIRE_GPU(gpu);
  const ModelConfig c = testing::small_config(GetParam());
  Transformer cpu_model(c, backend_named("cpu")), gpu_model(c, *gpu);
  cpu_model.init_weights(6), gpu_model.init_weights(6);
  const Batch batch = testing::sample_batch(c.vocab_size, 8);
  EXPECT_LE(scaled_error(testing::score_of(gpu_model, batch), testing::score_of(cpu_model, batch)), kTol);
  Workspace wc(cpu_model), wg(gpu_model);
  EXPECT_LE(scaled_error(capture_attention(gpu_model, batch, wg).values,
                         capture_attention(cpu_model, batch, wc).values), kTol);
  // Blocks of 5, 1 and 6 tokens through the KV cache.
  const int B = 2, T = 12;
  Rng rng(9);
  std::vector<int32_t> all;
  for (int n = 0; n < B * T; ++n) all.push_back(int32_t(rng.below(uint64_t(c.vocab_size))));
  KVCache kc(cpu_model, B, T), kg(gpu_model, B, T);
  Workspace ec(cpu_model), eg(gpu_model);
  int start = 0;
  for (int Q : {5, 1, 6}) {
    std::vector<int32_t> tokens;
    for (int b = 0; b < B; ++b)
      for (int t = start; t < start + Q; ++t) tokens.push_back(all[size_t(b) * T + t]);
    std::vector<float> lc, lg;
    extend(cpu_model, kc, tokens, Q, {}, ec, lc);
    extend(gpu_model, kg, tokens, Q, {}, eg, lg);
    EXPECT_LE(scaled_error(lg, lc), kTol) << "block at " << start;
    start += Q;
  }
}

INSTANTIATE_TEST_SUITE_P(AllEncodings, CudaModelParity, ::testing::ValuesIn(testing::all_model_cases()),
                         [](const auto& info) { return info.param.label(); });

}  // namespace
}  // namespace lengen
