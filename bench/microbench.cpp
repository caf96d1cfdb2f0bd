// Google Benchmark microbenchmarks of the hot CPU kernels (src/kernels/cpu) at the shapes of
// the `small` preset (B 64, T 64, D 256, H 4, dh 64, F 1024). CTest runs each briefly
// (microbench_smoke) so they keep building and running; measure with
//   build/lengen_microbench --benchmark_repetitions=5
#include <benchmark/benchmark.h>

#include <vector>

#include "arch/model_config.h"
#include "backend/cpu/kernels.h"
#include "model/device_plan.h"
#include "model/transformer.h"
#include "pe/positional_encoding.h"
#include "util/rng.h"

namespace k = lengen::kernels;

namespace {

constexpr int B = 64, T = 64, D = 256, H = 4, DH = 64, F = 1024, V = 64, N = B * T;

std::vector<float> random_vector(size_t n, uint64_t seed) {
  lengen::Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = float(rng.normal()) * 0.1f;
  return v;
}

void BM_LinearForward(benchmark::State& s) {
  const auto x = random_vector(size_t(N) * D, 1), w = random_vector(size_t(F) * D, 2);
  std::vector<float> y(size_t(N) * F);
  for (auto _ : s) k::linear_forward(y.data(), x.data(), w.data(), N, D, F);
  s.SetItemsProcessed(s.iterations() * 2 * int64_t(N) * D * F);  // FLOPs
}

void BM_LinearBackward(benchmark::State& s) {
  const auto x = random_vector(size_t(N) * D, 1), w = random_vector(size_t(F) * D, 2),
             dy = random_vector(size_t(N) * F, 3);
  std::vector<float> dx(size_t(N) * D), dw(size_t(F) * D);
  for (auto _ : s) k::linear_backward(dx.data(), dw.data(), dy.data(), x.data(), w.data(), N, D, F, false);
  s.SetItemsProcessed(s.iterations() * 4 * int64_t(N) * D * F);
}

// Decoding's few rows at the paper shape's FFN (768 x 3072), weights of 24 such layers so they
// come from memory: the few-row kernel (range(1) = 1) against sgemm (0), rows = range(0).
// Bytes = the weights read.
void BM_LinearFewRows(benchmark::State& s) {
  const int rows = int(s.range(0)), I = 768, O = 3072, layers = 24;
  const auto x = random_vector(size_t(rows) * I, 1), w = random_vector(size_t(layers) * O * I, 2);
  std::vector<float> y(size_t(rows) * O);
  for (auto _ : s)
    for (int l = 0; l < layers; ++l) {
      const float* wl = w.data() + size_t(l) * O * I;
      if (s.range(1)) k::linear_forward_few_rows(y.data(), x.data(), wl, rows, I, O);
      else k::linear_forward_sgemm(y.data(), x.data(), wl, rows, I, O);
    }
  s.SetBytesProcessed(s.iterations() * int64_t(layers) * O * I * 4);
}

void BM_RmsNorm(benchmark::State& s) {
  const auto x = random_vector(size_t(N) * D, 1), w = random_vector(D, 2), dy = random_vector(size_t(N) * D, 3);
  std::vector<float> y(size_t(N) * D), rstd(N), dx(size_t(N) * D), dw(D);
  for (auto _ : s) {
    k::rmsnorm_forward(y.data(), rstd.data(), x.data(), w.data(), N, D, 1e-6f);
    k::rmsnorm_backward(dx.data(), dw.data(), dy.data(), x.data(), w.data(), rstd.data(), N, D);
  }
  s.SetBytesProcessed(s.iterations() * int64_t(N) * D * 4 * 5);
}

void BM_SoftmaxCrossEntropy(benchmark::State& s) {
  const auto z0 = random_vector(size_t(N) * V, 1);
  std::vector<int32_t> t(N);
  for (int n = 0; n < N; ++n) t[n] = n % V;
  std::vector<float> w(N, 1.0f / N), z = z0;
  for (auto _ : s) {
    z = z0;
    benchmark::DoNotOptimize(k::softmax_xent_forward_backward(z.data(), t.data(), w.data(), N, V, nullptr));
  }
}

void BM_AdamW(benchmark::State& s) {
  const size_t n = 4u << 20;
  auto p = random_vector(n, 1), g = random_vector(n, 2);
  std::vector<float> m(n), v(n);
  int64_t step = 0;
  for (auto _ : s)
    k::adamw_update(p.data(), g.data(), m.data(), v.data(), n, {1e-4f, 0.9f, 0.999f, 1e-8f, 0.01f, ++step}, true);
  s.SetBytesProcessed(s.iterations() * int64_t(n) * 4 * 5);
}

// Attention forward + backward with each encoding's plan (rotation, score bias descriptor), as
// the model runs it: plan built and copied, q/k rotated, fused attention and its backward.
void BM_Attention(benchmark::State& s, const char* pe_name) {
  lengen::ModelConfig c;
  c.d_model = D, c.n_heads = H, c.d_head = DH, c.d_ff = F;
  c.pe = {{"type", pe_name}};
  lengen::Transformer model(c);
  model.init_weights(0);
  lengen::Backend& be = model.backend();
  const auto q0 = random_vector(size_t(N) * H * DH, 1), kk0 = random_vector(size_t(N) * H * DH, 2),
             v = random_vector(size_t(N) * H * DH, 3), dout = random_vector(size_t(N) * H * DH, 4);
  lengen::StreamSet streams;
  for (int n = 0; n < N; ++n) streams[lengen::Stream::Position].push_back(n % T);
  const lengen::PositionView view{B, T, T, nullptr, streams.view()};
  std::vector<float> q(q0.size()), kk(kk0.size()), out(q0.size()), lse(size_t(B) * H * T),
      dq(q0.size()), dk(q0.size()), dv(q0.size());
  lengen::Buffer arena;
  lengen::DevicePlan plan;
  model.grads_buffer();
  for (auto _ : s) {
    q = q0, kk = kk0;
    lengen::build_device_plan(model, view, true, arena, plan);
    if (plan.rotates) {
      be.rotate(q.data(), N, H * DH, plan.rotate_q, 1.0f);
      be.rotate(kk.data(), N, H * DH, plan.rotate_k, 1.0f);
    }
    lengen::AttentionArgs a;
    a.B = B, a.H = H, a.dh = DH, a.Q = T, a.ld = H * DH, a.key_stride = T;
    a.q = q.data(), a.k = kk.data(), a.v = v.data();
    a.bias = plan.biased ? &plan.bias : nullptr;
    be.attention_forward(a, out.data(), lse.data());
    be.attention_backward(a, out.data(), lse.data(), dout.data(), dq.data(), dk.data(), dv.data());
    lengen::device_plan_backward(model, plan);
    if (plan.rotates) {
      be.rotate(dq.data(), N, H * DH, plan.rotate_q, -1.0f);
      be.rotate(dk.data(), N, H * DH, plan.rotate_k, -1.0f);
    }
  }
  s.SetItemsProcessed(s.iterations() * int64_t(B) * H * T * T * DH * 2 * 6);  // FLOPs, full T x T
}

}  // namespace

BENCHMARK(BM_LinearForward)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_LinearBackward)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_LinearFewRows)->ArgsProduct({{1, 8}, {0, 1}})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_RmsNorm)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_SoftmaxCrossEntropy)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_AdamW)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Attention, nope, "nope")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Attention, t5_bias, "t5_bias")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Attention, alibi, "alibi")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Attention, alibi_learned, "alibi_learned")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Attention, rotary, "rotary")->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
