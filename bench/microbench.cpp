// Google Benchmark microbenchmarks of the hot CPU kernels (src/kernels/cpu) at the shapes of
// the `small` preset (B 64, T 64, D 256, H 4, dh 64, F 1024). CTest runs each briefly
// (microbench_smoke) so they keep building and running; measure with
//   build/lengen_microbench --benchmark_repetitions=5
#include <benchmark/benchmark.h>

#include <vector>

#include "kernels/cpu/kernels.h"
#include "model/config.h"
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

// Attention forward + backward with each encoding's score bias / q-k hook, as the model runs it.
void BM_Attention(benchmark::State& s, const char* pe_name) {
  lengen::ModelConfig c;
  c.d_model = D, c.n_heads = H, c.d_head = DH, c.d_ff = F;
  c.pe = {{"type", pe_name}};
  lengen::Transformer model(c);
  model.init_weights(0);
  const auto& pe = model.pe();
  const auto q0 = random_vector(size_t(N) * H * DH, 1), kk0 = random_vector(size_t(N) * H * DH, 2),
             v = random_vector(size_t(N) * H * DH, 3), dout = random_vector(size_t(N) * H * DH, 4);
  std::vector<int32_t> pos(N);
  for (int n = 0; n < N; ++n) pos[n] = n % T;
  const lengen::Positions p{pos.data(), nullptr, nullptr};
  std::vector<float> q(q0.size()), kk(kk0.size()), out(q0.size()), probs(size_t(B) * H * T * T),
      bias(pe.acts_on_scores() ? probs.size() : 0), dq(q0.size()), dk(q0.size()), dv(q0.size());
  std::vector<float> grads(model.layout().total());
  const k::AttentionShape shape{B, T, H, DH};
  for (auto _ : s) {
    q = q0, kk = kk0;
    if (pe.acts_on_qk()) {
      pe.qk_forward(p, N, q.data(), H * DH, false);
      pe.qk_forward(p, N, kk.data(), H * DH, true);
    }
    if (pe.acts_on_scores())
      for (int b = 0; b < B; ++b)
        pe.scores_forward(model.params().data(), p.offset(b * T), T, p.offset(b * T), T,
                          bias.data() + size_t(b) * H * T * T);
    k::attention_forward(out.data(), probs.data(), q.data(), kk.data(), v.data(),
                         bias.empty() ? nullptr : bias.data(), shape, 1.0f, 0.0f, 0);
    k::attention_backward(dq.data(), dk.data(), dv.data(), pe.has_learned_scores() ? bias.data() : nullptr,
                          dout.data(), q.data(), kk.data(), v.data(), probs.data(), shape, 1.0f, 0.0f, 0);
    if (pe.has_learned_scores())
      for (int b = 0; b < B; ++b)
        pe.scores_backward(model.params().data(), p.offset(b * T), T, p.offset(b * T), T,
                           bias.data() + size_t(b) * H * T * T, grads.data());
    if (pe.acts_on_qk()) {
      pe.qk_backward(p, N, dq.data(), H * DH, false);
      pe.qk_backward(p, N, dk.data(), H * DH, true);
    }
  }
  s.SetItemsProcessed(s.iterations() * int64_t(B) * H * T * T * DH * 2 * 6);  // FLOPs, full T x T
}

}  // namespace

BENCHMARK(BM_LinearForward)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_LinearBackward)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_RmsNorm)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_SoftmaxCrossEntropy)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_AdamW)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Attention, nope, "nope")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Attention, t5_bias, "t5_bias")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Attention, alibi, "alibi")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Attention, alibi_learned, "alibi_learned")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Attention, rotary, "rotary")->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
