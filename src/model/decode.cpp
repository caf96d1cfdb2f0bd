#include "model/decode.h"

#include <algorithm>

#include "model/block.h"
#include "util/error.h"

namespace lengen {

KVCache::KVCache(const Transformer& model, int batch, int capacity) {
  reset(model, batch, capacity);
}

void KVCache::reset(const Transformer& model, int batch, int capacity) {
  if (batch < 1 || capacity < 1) fail("KV cache of {} rows x {} tokens", batch, capacity);
  B_ = batch;
  capacity_ = capacity;
  HD_ = model.config().hd();
  const size_t bytes = size_t(model.config().n_layers) * B_ * capacity_ * HD_ * sizeof(float);
  if (bytes > k_.bytes()) {  // rows are addressed by (layer, row, capacity): no copy needed
    k_ = Buffer();
    v_ = Buffer();
    k_ = Buffer(model.backend(), bytes);
    v_ = Buffer(model.backend(), bytes);
  }
  length_.assign(size_t(B_), 0);
  state_.assign(size_t(B_), StreamState{});
  const size_t slots = size_t(B_) * capacity_;
  streams_[Stream::Position].assign(slots, 0);
  for (Stream s : model.pe().streams()) streams_[s].assign(slots, 0);
}

// Appends Q tokens per row; row b's first valid[b] of them are real (a prefill's padding after
// them is computed but not kept). head_rows: indices into the B*Q new tokens whose logits are
// returned.
struct CacheAppend {
  static void run(Transformer& m, KVCache& cache, const std::vector<int32_t>& tokens, int Q,
                  const TokenStreams& supplied, const std::vector<int32_t>& valid,
                  const std::vector<int32_t>& head_rows, Workspace& ws,
                  std::vector<float>& logits) {
    const ModelConfig& c = m.config();
    const PositionalEncoding& pe = m.pe();
    Backend& be = m.backend();
    const int B = cache.B_, N = B * Q, cap = cache.capacity_;
    if (Q < 1 || int(tokens.size()) != N)
      fail("extend: {} tokens for {} cache rows of {} new tokens", tokens.size(), B, Q);
    for (int b = 0; b < B; ++b)
      if (cache.length_[b] + Q > cap)
        fail("extend: row {} would hold {} tokens; the cache holds {}", b, cache.length_[b] + Q,
             cap);
    for (int n = 0; n < N; ++n)
      if (tokens[n] < 0 || tokens[n] >= c.vocab_size)
        fail("extend: token id {} outside the vocabulary of {}", tokens[n], c.vocab_size);

    // The new tokens' streams into the cache: supplied ones copied, derived ones continued.
    StreamSet& s = cache.streams_;
    for (Stream st : pe.streams())
      if (!pe.derives(st) && st != Stream::Position && !supplied[st])
        fail("positional encoding '{}' reads the {} stream, which these tokens do not have",
             pe.name(), stream_name(st));
    for (int b = 0; b < B; ++b) {
      const size_t at = size_t(b) * cap + cache.length_[b];
      for (int a = 0; a < Q; ++a) {
        const size_t src = size_t(b) * Q + a;
        s[Stream::Position][at + a] =
            supplied[Stream::Position] ? supplied[Stream::Position][src] : cache.length_[b] + a;
        for (int i = 0; i < kNumStreams; ++i)
          if (i != int(Stream::Position) && supplied.of[i] && !s.of[i].empty())
            s.of[i][at + a] = supplied.of[i][src];
      }
      DerivedStreams out;
      for (Stream st : pe.streams())
        if (pe.derives(st)) out.of[int(st)] = s[st].data() + at;
      const int real = valid.empty() ? Q : valid[size_t(b)];
      pe.derive_streams(tokens.data() + size_t(b) * Q, real, cache.state_[size_t(b)], out);
      StreamState padding = cache.state_[size_t(b)];  // padding continues on a copy
      DerivedStreams rest;
      for (int i = 0; i < kNumStreams; ++i) rest.of[i] = out.of[i] ? out.of[i] + real : nullptr;
      pe.derive_streams(tokens.data() + size_t(b) * Q + real, Q - real, padding, rest);
      pe.check_streams(s.view(at), Q);
    }

    ws.prepare(B, Q, int(head_rows.size()), Workspace::Mode::Inference);
    const PositionView view{B, Q, cap, cache.length_.data(), s.view()};
    build_device_plan(m, view, false, ws.plan_arena, ws.plan);
    const BlockCall call{B, Q, &ws.plan, 0.0f, 0, nullptr};

    upload(be, ws.tokens, tokens);
    const BlockActs& a = ws.block(0);
    embed_forward(m, ws, a.resid_in, N);  // [N, D]
    for (int l = 0; l < c.n_layers; ++l)
      block_forward(m, l, a, a.resid_in, ws.branch, call, BlockKeys{cache.k(l), cache.v(l), cap});
    norm_forward(m, ws.lnf, ws.lnf_mean, ws.lnf_rstd, a.resid_in, m.final_norm_w(),
                 m.final_norm_b(), N);
    const int M = int(head_rows.size());
    upload(be, ws.rows, head_rows);
    head_forward(m, ws, M);
    logits = download(be, ws.logits, size_t(M) * c.vocab_size);
    for (int b = 0; b < B; ++b) cache.length_[b] += valid.empty() ? Q : valid[size_t(b)];
  }
};

void extend(Transformer& model, KVCache& cache, const std::vector<int32_t>& tokens, int Q,
            const TokenStreams& supplied, Workspace& ws, std::vector<float>& logits) {
  std::vector<int32_t> rows(tokens.size());
  for (size_t n = 0; n < rows.size(); ++n) rows[n] = int32_t(n);
  CacheAppend::run(model, cache, tokens, Q, supplied, {}, rows, ws, logits);
}

void prefill(Transformer& model, const Batch& prompts, KVCache& cache, Workspace& ws,
             std::vector<float>& last_logits) {
  const int B = prompts.B, T = prompts.T;
  if (B != cache.batch()) fail("prefill: batch of {} rows for a cache of {}", B, cache.batch());
  std::vector<int32_t> rows(B);
  for (int b = 0; b < B; ++b) {
    if (cache.length(b) != 0) fail("prefill: cache row {} is not empty", b);
    if (prompts.lengths[b] < 1 || prompts.lengths[b] > cache.capacity())
      fail("prefill: prompt {} has {} tokens; the cache holds 1..{}", b, prompts.lengths[b],
           cache.capacity());
    rows[size_t(b)] = b * T + prompts.lengths[b] - 1;
  }
  CacheAppend::run(model, cache, prompts.tokens, T, prompts.supplied(), prompts.lengths, rows, ws,
                   last_logits);
}

std::vector<std::vector<int32_t>> greedy_decode(Transformer& model,
                                                const std::vector<std::vector<int32_t>>& prompts,
                                                int max_new_tokens, int eos_id, int pad_id,
                                                const DecodePositions& positions) {
  DecodeScratch scratch(model);
  return greedy_decode(model, scratch, prompts, max_new_tokens, eos_id, pad_id, positions);
}

std::vector<std::vector<int32_t>> greedy_decode(Transformer& model, DecodeScratch& scratch,
                                                const std::vector<std::vector<int32_t>>& prompts,
                                                int max_new_tokens, int eos_id, int pad_id,
                                                const DecodePositions& positions) {
  const int B = int(prompts.size()), V = model.config().vocab_size;
  std::vector<std::vector<int32_t>> out(B);
  if (B == 0 || max_new_tokens <= 0) return out;
  Batch batch = make_batch(prompts, pad_id);
  if (positions) {  // task-supplied position streams (coupling, Abacus, offsets)
    batch.place.assign(batch.pos.size(), 0);
    for (int b = 0; b < B; ++b)
      for (int t = 0; t < batch.T; ++t) {
        const size_t n = size_t(b) * batch.T + t;
        positions(b, t, batch.pos[n], batch.place[n]);
      }
  }
  int longest = 0;
  for (const auto& p : prompts) longest = std::max(longest, int(p.size()));
  KVCache& cache = scratch.cache;
  cache.reset(model, B, longest + max_new_tokens);
  Workspace& ws = scratch.ws;
  std::vector<float> logits;
  prefill(model, batch, cache, ws, logits);
  std::vector<char> done(B, 0);
  std::vector<int32_t> next(B), pos(B), place(B, 0);
  for (int step = 0; step < max_new_tokens; ++step) {
    int active = 0;
    for (int b = 0; b < B; ++b) {
      const float* row = logits.data() + size_t(b) * V;
      next[b] = int32_t(std::max_element(row, row + V) - row);
      if (!done[b]) {
        out[b].push_back(next[b]);
        if (next[b] == eos_id) done[b] = 1;
      }
      active += !done[b];
    }
    if (active == 0 || step + 1 == max_new_tokens) break;
    for (int b = 0; b < B; ++b) {
      pos[b] = cache.length(b);  // default positions: 0, 1, 2, ...
      if (positions) positions(b, cache.length(b), pos[b], place[b]);
    }
    TokenStreams supplied;
    supplied.of[int(Stream::Position)] = pos.data();
    if (positions) supplied.of[int(Stream::DigitPlace)] = place.data();
    extend(model, cache, next, 1, supplied, ws, logits);
  }
  return out;
}

}  // namespace lengen
